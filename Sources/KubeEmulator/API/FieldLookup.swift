import KubeCore

/// The fields a field selector may name, per resource, and how to read them.
///
/// Every resource supports `metadata.name` and `metadata.namespace`; the rest is each strategy's
/// `GetAttrs`/`ToSelectableFields` (k8s.io/kubernetes/pkg/registry/core/pod/strategy.go, event/strategy.go,
/// node/strategy.go, secret/strategy.go, namespace/strategy.go, batch/job/strategy.go, apps/replicaset/strategy.go).
enum FieldLookup {
  static let extraFields: [String: [String]] = [
    "/pods": ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"],
    "/events": ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                "reason", "reportingComponent", "source", "type"],
    "events.k8s.io/events": ["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                             "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
                             "reason", "reportingController", "type"],
    "/nodes": ["spec.unschedulable"],
    "/secrets": ["type"],
    "/namespaces": ["status.phase"],
    "/replicationcontrollers": ["status.replicas"],
    "apps/replicasets": ["status.replicas"],
    "batch/jobs": ["status.successful"],
    "certificates.k8s.io/certificatesigningrequests": ["spec.signerName"],
  ]

  static func isSupported(_ field: String, resource: APIResource) -> Bool {
    if field == "metadata.name" || field == "metadata.namespace" { return true }
    return extraFields["\(resource.group)/\(resource.resource)"]?.contains(field) ?? false
  }

  static func value(of object: JSONValue, field: String, resource: APIResource) -> String? {
    if resource.isConvertedEvents {
      var core = resource
      core.group = ""
      return value(of: object, field: EventConversion.coreField(field), resource: core)
    }
    let path = field.split(separator: ".").map(String.init)
    // The core Event's `source` field selects on source.component (event strategy `source`).
    if resource.group.isEmpty && resource.resource == "events" && field == "source" {
      return object[path: ["source", "component"]]?.stringValue ?? ""
    }
    guard let v = object[path: path] else {
      if field == "spec.hostNetwork" || field == "spec.unschedulable" { return "false" }
      if field == "status.successful" || field == "status.replicas" { return "0" }
      return ""
    }
    switch v {
    case .string(let s): return s
    case .bool(let b): return b ? "true" : "false"
    case .number(let n): return n.literal
    default: return ""
    }
  }
}
