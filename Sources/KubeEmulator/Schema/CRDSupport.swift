import KubeCore

/// What kube-apiserver's apiextensions part does with a CustomResourceDefinition: validate it,
/// accept its names, mark it Established and serve its resources; on deletion, remove its objects
/// and stop serving it (apiextensions-apiserver pkg/apis/apiextensions/validation, pkg/controller/status,
/// pkg/controller/establish, pkg/controller/finalizer).
enum CRDSupport {
  static let storageKey = "apiextensions.k8s.io/customresourcedefinitions"
  static let cleanupFinalizer = "customresourcecleanup.apiextensions.k8s.io"

  static func validate(_ crd: JSONValue) -> [FieldError] {
    var errors: [FieldError] = []
    let spec = crd["spec"] ?? [:]
    let group = spec["group"]?.stringValue ?? ""
    let plural = spec[path: ["names", "plural"]]?.stringValue ?? ""
    let kind = spec[path: ["names", "kind"]]?.stringValue ?? ""
    let name = crd[path: ["metadata", "name"]]?.stringValue ?? ""
    if group.isEmpty { errors.append(FieldError(.required, field: "spec.group")) }
    else if !group.contains(".") {
      errors.append(FieldError(.invalid, field: "spec.group", value: "\"\(group)\"", detail: "should be a domain with at least one dot"))
    }
    if plural.isEmpty { errors.append(FieldError(.required, field: "spec.names.plural")) }
    if kind.isEmpty { errors.append(FieldError(.required, field: "spec.names.kind")) }
    if !plural.isEmpty && !group.isEmpty && name != "\(plural).\(group)" {
      errors.append(FieldError(.invalid, field: "metadata.name", value: "\"\(name)\"", detail: "must be spec.names.plural+\".\"+spec.group"))
    }
    let scope = spec["scope"]?.stringValue ?? ""
    if scope != "Namespaced" && scope != "Cluster" {
      errors.append(scope.isEmpty ? FieldError(.required, field: "spec.scope")
                    : FieldError(.notSupported, field: "spec.scope", value: "\"\(scope)\"", detail: "supported values: \"Cluster\", \"Namespaced\""))
    }
    let versions = spec["versions"]?.arrayValue ?? []
    if versions.isEmpty { errors.append(FieldError(.invalid, field: "spec.versions", value: "null", detail: "must have exactly one version marked as storage version")) }
    let storageCount = versions.filter { $0["storage"]?.boolValue == true }.count
    if !versions.isEmpty && storageCount != 1 {
      errors.append(FieldError(.invalid, field: "spec.versions", value: "[]apiextensions.CustomResourceDefinitionVersion{...}", detail: "must have exactly one version marked as storage version"))
    }
    for (i, v) in versions.enumerated() {
      if v[path: ["schema", "openAPIV3Schema"]] == nil {
        errors.append(FieldError(.required, field: "spec.versions[\(i)].schema.openAPIV3Schema", detail: "schemas are required"))
      } else if let schema = v[path: ["schema", "openAPIV3Schema"]] {
        errors += StructuralSchema.checkStructural(schema, path: "spec.versions[\(i)].schema.openAPIV3Schema")
      }
    }
    return errors
  }

  /// Accepts the CRD's names, establishes it (a second write, as the status controllers make) and
  /// serves its resources — or, when another CRD of its group holds one of its names, records
  /// NamesAccepted=False and Established=False and serves nothing (`CRDNames`). Returns the stored CRD.
  static func establish(_ crd: JSONValue, state: inout ObjectStore.State, server: APIServer) -> JSONValue {
    var crd = crd
    var isEstablished = false
    if crd[path: ["metadata", "deletionTimestamp"]] == nil {
      let now = server.timestamp()
      let names = CRDNames(for: crd, among: state.list(storageKey, namespace: nil))
      let existing = crd[path: ["status", "conditions"]]?.arrayValue ?? []
      var conditions = existing.filter { $0["type"]?.stringValue != "NamesAccepted" && $0["type"]?.stringValue != "Established" }
      let accepted: JSONValue = names.isAccepted
        ? ["type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"]
        : ["type": "NamesAccepted", "status": "False", "reason": .string(names.reason), "message": .string(names.message)]
      // Established stays True once reached (the establishing controller never takes it back);
      // until then it follows the names (naming_controller.go, establishing_controller.go)
      var established: JSONValue = ["type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"]
      if let old = existing.first(where: { $0["type"]?.stringValue == "Established" && $0["status"]?.stringValue == "True" }) {
        established = old
      } else if !names.isAccepted {
        established = ["type": "Established", "status": "False", "reason": "NotAccepted", "message": "not all names are accepted"]
      }
      isEstablished = established["status"]?.stringValue == "True"
      conditions.insert(transitioned(accepted, from: existing, at: now), at: 0)
      conditions.insert(transitioned(established, from: existing, at: now), at: 1)
      let desiredStatus: JSONValue = ["conditions": .array(conditions), "acceptedNames": .object(names.accepted),
                                      "storedVersions": crd[path: ["status", "storedVersions"]] ?? .array(storageVersions(crd))]
      if crd["status"] != desiredStatus {
        // storedVersions comes from the create strategy, the rest from kube-apiserver's naming controller.
        var before = crd
        before["status"] = crd["status"] ?? ["storedVersions": desiredStatus["storedVersions"] ?? []]
        crd["status"] = desiredStatus
        crd = server.recordingInternalWrite(old: before, new: crd, group: "apiextensions.k8s.io", version: "v1",
                                            resource: "customresourcedefinitions", subresource: "status", manager: "kube-apiserver")
        crd = state.put(storageKey, crd, type: .modified)
      }
    } else {
      isEstablished = (crd[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
        $0["type"]?.stringValue == "Established" && $0["status"]?.stringValue == "True"
      }
    }
    let name = crd[path: ["metadata", "name"]]?.stringValue ?? ""
    if isEstablished {
      server.catalog.setCustomResources(resources(of: crd), forCRD: name)
    } else {
      server.catalog.removeCustomResources(forCRD: name)
    }
    server.syncCRDs(&state)
    return crd
  }

  /// `condition` with the lastTransitionTime of the same condition in `existing` when its status did
  /// not change (apiextensions `SetCRDCondition`), else `now`.
  private static func transitioned(_ condition: JSONValue, from existing: [JSONValue], at now: JSONValue) -> JSONValue {
    var condition = condition
    let old = existing.first { $0["type"] == condition["type"] }
    condition["lastTransitionTime"] = old.flatMap { $0["status"] == condition["status"] ? $0["lastTransitionTime"] : nil } ?? now
    return condition
  }

  /// Gives the CRDs whose names were refused another chance, as the naming controller requeues a
  /// group when one of its CRDs is deleted (`requeueAllOtherGroupCRDs`).
  static func reconsiderRefusedNames(state: inout ObjectStore.State, server: APIServer) {
    for crd in state.list(storageKey, namespace: nil) where crd[path: ["metadata", "deletionTimestamp"]] == nil {
      let refused = (crd[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
        $0["type"]?.stringValue == "NamesAccepted" && $0["status"]?.stringValue == "False"
      }
      if refused { _ = establish(crd, state: &state, server: server) }
    }
  }

  static func storageVersions(_ crd: JSONValue) -> [JSONValue] {
    (crd[path: ["spec", "versions"]]?.arrayValue ?? []).filter { $0["storage"]?.boolValue == true }.compactMap { $0["name"] }
  }

  /// The status a CRD has right after creation, before the controllers accept its names.
  static func initialStatus(_ crd: JSONValue) -> JSONValue {
    ["conditions": .null, "acceptedNames": ["plural": "", "kind": ""], "storedVersions": .array(storageVersions(crd))]
  }

  static func markTerminating(_ crd: JSONValue, now: JSONValue) -> JSONValue {
    var crd = crd
    var conditions = crd[path: ["status", "conditions"]]?.arrayValue ?? []
    conditions.removeAll { $0["type"]?.stringValue == "Terminating" }
    conditions.append(["type": "Terminating", "status": "True", "lastTransitionTime": now, "reason": "InstanceDeletionPending",
                       "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"])
    crd[path: ["status", "conditions"]] = .array(conditions)
    return crd
  }

  static func removeServedResources(_ crd: JSONValue, state: inout ObjectStore.State, catalog: ResourceCatalog) {
    let group = crd[path: ["spec", "group"]]?.stringValue ?? ""
    let plural = crd[path: ["spec", "names", "plural"]]?.stringValue ?? ""
    state.removeAll("\(group)/\(plural)")
    catalog.removeCustomResources(forCRD: crd[path: ["metadata", "name"]]?.stringValue ?? "")
  }

  /// The resources a CRD serves, one per served version.
  static func resources(of crd: JSONValue) -> [APIResource] {
    let spec = crd["spec"] ?? [:]
    let group = spec["group"]?.stringValue ?? ""
    let names = spec["names"] ?? [:]
    let kind = names["kind"]?.stringValue ?? ""
    let plural = names["plural"]?.stringValue ?? ""
    let namespaced = spec["scope"]?.stringValue != "Cluster"
    var result: [APIResource] = []
    for v in spec["versions"]?.arrayValue ?? [] where v["served"]?.boolValue != false {
      guard let version = v["name"]?.stringValue else { continue }
      var r = APIResource(group: group, version: version, resource: plural, kind: kind,
                          listKind: names["listKind"]?.stringValue ?? kind + "List",
                          singularName: names["singular"]?.stringValue ?? kind.lowercased(), namespaced: namespaced,
                          verbs: ["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"])
      r.shortNames = (names["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue)
      r.categories = (names["categories"]?.arrayValue ?? []).compactMap(\.stringValue)
      r.isCustom = true
      r.tracksGeneration = true
      if v[path: ["subresources", "status"]] != nil {
        r.subresources["status"] = .init(group: group, version: version, kind: kind, verbs: ["get", "patch", "update"])
      }
      if v[path: ["subresources", "scale"]] != nil {
        r.subresources["scale"] = .init(group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"])
      }
      r.printerColumns = (v["additionalPrinterColumns"]?.arrayValue ?? []).compactMap { c in
        guard let name = c["name"]?.stringValue, let path = c["jsonPath"]?.stringValue else { return nil }
        return APIResource.PrinterColumn(name: name, type: c["type"]?.stringValue ?? "string", format: c["format"]?.stringValue ?? "",
                                         description: c["description"]?.stringValue ?? "", priority: c["priority"]?.intValue ?? 0, jsonPath: path)
      }
      result.append(r)
    }
    return result
  }
}

/// Table columns of custom resources (apiextensions-apiserver pkg/registry/customresource/tableconvertor).
enum CustomPrinterColumns {
  static func columns(_ resource: APIResource) -> [TableConverter.Column] {
    var columns = [TableConverter.nameColumn]
    if resource.printerColumns.isEmpty {
      columns.append(TableConverter.Column(name: "Age", type: "date", description: "Custom resource definition column (in JSONPath format): .metadata.creationTimestamp") { o, now in
        .string(TableConverter.age(o, now))
      })
      return columns
    }
    for c in resource.printerColumns {
      columns.append(TableConverter.Column(name: c.name, type: c.type, format: c.format, description: c.description, priority: c.priority) { o, now in
        guard let value = SimpleJSONPath.evaluate(c.jsonPath, on: o) else { return .null }
        if c.type == "date", let s = value.stringValue, let d = RFC3339.parse(s) {
          return .string(TableConverter.humanDuration(now.timeIntervalSince(d)))
        }
        switch value {
        case .object, .array: return .string(value.serializedString())
        default: return value
        }
      })
    }
    return columns
  }
}

/// The JSONPath subset CRD printer columns use: `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.type=="Ready")].status`.
enum SimpleJSONPath {
  static func evaluate(_ path: String, on root: JSONValue) -> JSONValue? {
    var p = path.trimmingSpaces()
    if p.hasPrefix("{") && p.hasSuffix("}") { p = String(p.dropFirst().dropLast()) }
    if p.hasPrefix("$") { p.removeFirst() }
    var current: [JSONValue] = [root]
    var i = p.startIndex
    while i < p.endIndex {
      let c = p[i]
      if c == "." {
        i = p.index(after: i)
        let start = i
        while i < p.endIndex, p[i] != ".", p[i] != "[" { i = p.index(after: i) }
        let key = String(p[start..<i])
        if key.isEmpty { continue }
        current = current.compactMap { $0[key] }
      } else if c == "[" {
        guard let close = p[i...].firstIndex(of: "]") else { return nil }
        var inner = String(p[p.index(after: i)..<close])
        // a filter may contain ']' inside quotes only rarely; kept simple
        i = p.index(after: close)
        if inner == "*" {
          current = current.flatMap { $0.arrayValue ?? [] }
        } else if let n = Int(inner) {
          current = current.compactMap { a in
            guard let arr = a.arrayValue else { return nil }
            let idx = n < 0 ? arr.count + n : n
            return idx >= 0 && idx < arr.count ? arr[idx] : nil
          }
        } else if inner.hasPrefix("?(@.") && inner.hasSuffix(")") {
          inner = String(inner.dropFirst(4).dropLast())
          let parts = inner.components(separatedBy: "==")
          guard parts.count == 2 else { return nil }
          let field = parts[0].trimmingSpaces()
          var want = parts[1].trimmingSpaces()
          if (want.hasPrefix("\"") && want.hasSuffix("\"")) || (want.hasPrefix("'") && want.hasSuffix("'")) { want = String(want.dropFirst().dropLast()) }
          current = current.flatMap { $0.arrayValue ?? [] }.filter { el in
            guard let v = el[path: field.split(separator: ".").map(String.init)] else { return false }
            switch v {
            case .string(let s): return s == want
            case .number(let n): return n.literal == want
            case .bool(let b): return (b ? "true" : "false") == want
            default: return false
            }
          }
        } else {
          return nil
        }
      } else {
        return nil
      }
    }
    if current.isEmpty { return nil }
    return current.count == 1 ? current[0] : .array(current)
  }
}
