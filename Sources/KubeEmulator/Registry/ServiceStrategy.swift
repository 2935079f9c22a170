import KubeCore

/// Services (pkg/registry/core/service/strategy.go, and the storage's cluster IP allocation).
struct ServiceStrategy: ResourceStrategy {
  var nameRule: NameRule { .dns1035Label }
  var returnsDeletedObject: Bool { true }

  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws { setDefaults(&object, isCreate: true, server: server) }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { setDefaults(&object, isCreate: false, server: server) }

  func validateUpdate(_ new: JSONValue, old: JSONValue) -> [FieldError] {
    guard let o = old[path: ["spec", "clusterIP"]], new[path: ["spec", "clusterIP"]] != o else { return [] }
    return [FieldError(.invalid, field: "spec.clusterIP", value: FieldError.printed(new[path: ["spec", "clusterIP"]] ?? ""), detail: "field is immutable")]
  }

  private func setDefaults(_ object: inout JSONValue, isCreate: Bool, server: APIServer) {
    BuiltinDefaults.setIfAbsent(&object, ["spec", "type"], "ClusterIP")
    BuiltinDefaults.setIfAbsent(&object, ["spec", "sessionAffinity"], "None")
    let type = object[path: ["spec", "type"]]?.stringValue ?? "ClusterIP"
    if var ports = object[path: ["spec", "ports"]]?.arrayValue {
      for i in ports.indices {
        BuiltinDefaults.setIfAbsent(&ports[i], ["protocol"], "TCP")
        if ports[i]["targetPort"] == nil { ports[i]["targetPort"] = ports[i]["port"] }
      }
      object[path: ["spec", "ports"]] = .array(ports)
    }
    if type != "ExternalName" {
      if isCreate, object[path: ["spec", "clusterIP"]] == nil || object[path: ["spec", "clusterIP"]]?.stringValue == "" {
        let ip = server.serviceIPs.allocate()
        object[path: ["spec", "clusterIP"]] = .string(ip)
      }
      if object[path: ["spec", "clusterIPs"]] == nil, let ip = object[path: ["spec", "clusterIP"]] {
        object[path: ["spec", "clusterIPs"]] = [ip]
      }
      BuiltinDefaults.setIfAbsent(&object, ["spec", "ipFamilies"], ["IPv4"])
      BuiltinDefaults.setIfAbsent(&object, ["spec", "ipFamilyPolicy"], "SingleStack")
      BuiltinDefaults.setIfAbsent(&object, ["spec", "internalTrafficPolicy"], "Cluster")
    }
    if isCreate { object["status"] = ["loadBalancer": [:]] }
  }

  /// printers.go `serviceColumnDefinitions` / `printService`.
  var tableColumns: [TableConverter.Column]? {
    typealias Column = TableConverter.Column
    return [TableConverter.nameColumn,
            Column(name: "Type", type: "string") { o, _ in TableConverter.str(o, "spec", "type") },
            Column(name: "Cluster-IP", type: "string") { o, _ in TableConverter.str(o, "spec", "clusterIP") },
            Column(name: "External-IP", type: "string") { o, _ in
              let ips = o[path: ["spec", "externalIPs"]]?.arrayValue?.compactMap(\.stringValue) ?? []
              return .string(ips.isEmpty ? "<none>" : ips.joined(separator: ","))
            },
            Column(name: "Port(s)", type: "string") { o, _ in
              let ports = o[path: ["spec", "ports"]]?.arrayValue ?? []
              return .string(ports.isEmpty ? "<none>" : ports.map { p in
                let port = p["port"]?.intValue ?? 0
                let proto = p["protocol"]?.stringValue ?? "TCP"
                if let np = p["nodePort"]?.intValue { return "\(port):\(np)/\(proto)" }
                return "\(port)/\(proto)"
              }.joined(separator: ","))
            },
            TableConverter.ageColumn,
            Column(name: "Selector", type: "string", priority: 1) { o, _ in
              let sel = o[path: ["spec", "selector"]]?.objectValue ?? JSONObject()
              return .string(sel.isEmpty ? "<none>" : sel.map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ","))
            }]
  }
}
