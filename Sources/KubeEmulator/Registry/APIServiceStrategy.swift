import KubeCore

/// apiregistration.k8s.io APIServices: kube-aggregator's printer (`pkg/registry/apiservice/etcd/etcd.go`
/// `ConvertToTable`): the backing Service as `NAMESPACE/NAME`, or `Local` for a group the API server
/// serves itself, and the `Available` condition's status, with its reason when it is not True.
struct APIServiceStrategy: ResourceStrategy {
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn,
     .init(name: "Service", type: "string", description: "The reference to the service that hosts this API endpoint.") { o, _ in
       guard let service = o[path: ["spec", "service"]], service != .null else { return "Local" }
       return .string("\(service["namespace"]?.stringValue ?? "")/\(service["name"]?.stringValue ?? "")")
     },
     .init(name: "Available", type: "string", description: "Whether this service is available.") { o, _ in
       let condition = (o[path: ["status", "conditions"]]?.arrayValue ?? []).first { $0["type"] == "Available" }
       guard let condition, let status = condition["status"]?.stringValue else { return "Unknown" }
       if status == "True" { return "True" }
       guard let reason = condition["reason"]?.stringValue, !reason.isEmpty else { return .string(status) }
       return .string("\(status) (\(reason))")
     },
     TableConverter.ageColumn]
  }
}
