import Foundation
import KubeCore

/// Renders objects as a `meta.k8s.io/v1` Table, what `kubectl get` asks for and prints.
///
/// Columns for built-ins follow the server-side printers in k8s.io/kubernetes/pkg/printers/internalversion/printers.go;
/// custom resources use their CRD's `additionalPrinterColumns` (or NAME/AGE), resources without a
/// printer get NAME and CREATED AT (k8s.io/apiserver/pkg/registry/rest/table.go).
enum TableConverter {
  struct Column: Sendable {
    var name: String
    var type: String
    var format: String = ""
    var description: String = ""
    var priority = 0
    var cell: @Sendable (JSONValue, Date) -> JSONValue
  }

  static func table(for resource: APIResource, objects: [JSONValue], includeObject: String, listMetadata: JSONValue?, now: Date) -> JSONValue {
    let columns = self.columns(for: resource)
    let rows: [JSONValue] = objects.map { object in
      var row: JSONObject = ["cells": .array(columns.map { $0.cell(object, now) })]
      switch includeObject {
      case "None": break
      case "Object": row["object"] = object
      default:
        row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": object["metadata"] ?? [:]]
      }
      return .object(row)
    }
    let definitions: [JSONValue] = columns.map { c in
      ["name": .string(c.name), "type": .string(c.type), "format": .string(c.format),
       "description": .string(c.description), "priority": JSONValue(c.priority)]
    }
    return ["kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": listMetadata ?? ["resourceVersion": .string(objects.first?[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")],
            "columnDefinitions": .array(definitions), "rows": .array(rows)]
  }

  static let nameColumn = Column(name: "Name", type: "string", format: "name",
                                 description: "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names") {
    o, _ in o[path: ["metadata", "name"]] ?? ""
  }
  static let ageColumn = Column(name: "Age", type: "string", description: "CreationTimestamp is a timestamp representing the server time when this object was created.") {
    o, now in .string(age(o, now))
  }

  static func age(_ o: JSONValue, _ now: Date) -> String {
    guard let ts = o[path: ["metadata", "creationTimestamp"]]?.stringValue, let created = RFC3339.parse(ts) else { return "<unknown>" }
    return humanDuration(now.timeIntervalSince(created))
  }

  /// k8s.io/apimachinery/pkg/util/duration/duration.go `HumanDuration`.
  static func humanDuration(_ interval: TimeInterval) -> String {
    let seconds = Int(interval)
    if seconds < -1 { return "<invalid>" }
    if seconds < 0 { return "0s" }
    if seconds < 60 * 2 { return "\(seconds)s" }
    let minutes = seconds / 60
    if minutes < 10 {
      let s = seconds % 60
      return s == 0 ? "\(minutes)m" : "\(minutes)m\(s)s"
    }
    if minutes < 60 * 3 { return "\(minutes)m" }
    let hours = minutes / 60
    if hours < 8 {
      let m = minutes % 60
      return m == 0 ? "\(hours)h" : "\(hours)h\(m)m"
    }
    if hours < 48 { return "\(hours)h" }
    if hours < 24 * 8 {
      let h = hours % 24
      return h == 0 ? "\(hours / 24)d" : "\(hours / 24)d\(h)h"
    }
    if hours < 24 * 365 * 2 { return "\(hours / 24)d" }
    if hours < 24 * 365 * 8 {
      let d = (hours / 24) % 365
      return d == 0 ? "\(hours / 24 / 365)y" : "\(hours / 24 / 365)y\(d)d"
    }
    return "\(hours / 24 / 365)y"
  }



  static func str(_ o: JSONValue, _ path: String...) -> JSONValue { o[path: path] ?? "" }
  static func int(_ o: JSONValue, _ path: String...) -> JSONValue { o[path: path] ?? 0 }

  static func columns(for resource: APIResource) -> [Column] {
    if resource.isCustom { return CustomPrinterColumns.columns(resource) }
    switch "\(resource.group)/\(resource.resource)" {
    case "/pods":
      return [nameColumn,
              Column(name: "Ready", type: "string", description: "The aggregate readiness state of this pod for accepting traffic.") { o, _ in
                let statuses = o[path: ["status", "containerStatuses"]]?.arrayValue ?? []
                let total = o[path: ["spec", "containers"]]?.arrayValue?.count ?? statuses.count
                let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
                return .string("\(ready)/\(total)")
              },
              Column(name: "Status", type: "string", description: "The aggregate status of the containers in this pod.") { o, _ in
                if o[path: ["metadata", "deletionTimestamp"]] != nil { return "Terminating" }
                return .string(o[path: ["status", "reason"]]?.stringValue ?? o[path: ["status", "phase"]]?.stringValue ?? "Pending")
              },
              Column(name: "Restarts", type: "string", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.") { o, _ in
                let statuses = o[path: ["status", "containerStatuses"]]?.arrayValue ?? []
                return .string(String(statuses.reduce(0) { $0 + ($1["restartCount"]?.intValue ?? 0) }))
              },
              ageColumn,
              Column(name: "IP", type: "string", description: "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", priority: 1) { o, _ in
                .string(o[path: ["status", "podIP"]]?.stringValue ?? "<none>")
              },
              Column(name: "Node", type: "string", description: "NodeName is a request to schedule this pod onto a specific node.", priority: 1) { o, _ in
                .string(o[path: ["spec", "nodeName"]]?.stringValue ?? "<none>")
              },
              Column(name: "Nominated Node", type: "string", description: "nominatedNodeName is set only when this pod preempts other pods on the node.", priority: 1) { o, _ in
                .string(o[path: ["status", "nominatedNodeName"]]?.stringValue ?? "<none>")
              },
              Column(name: "Readiness Gates", type: "string", description: "If specified, all readiness gates will be evaluated for pod readiness.", priority: 1) { o, _ in
                let gates = o[path: ["spec", "readinessGates"]]?.arrayValue ?? []
                return .string(gates.isEmpty ? "<none>" : "\(gates.count)")
              }]
    case "apps/deployments":
      return [nameColumn,
              Column(name: "Ready", type: "string", description: "Number of the pod with ready state") { o, _ in
                .string("\(o[path: ["status", "readyReplicas"]]?.intValue ?? 0)/\(o[path: ["spec", "replicas"]]?.intValue ?? 0)")
              },
              Column(name: "Up-to-date", type: "integer", description: "Total number of non-terminated pods targeted by this deployment that have the desired template spec.") { o, _ in int(o, "status", "updatedReplicas") },
              Column(name: "Available", type: "integer", description: "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.") { o, _ in int(o, "status", "availableReplicas") },
              ageColumn,
              Column(name: "Containers", type: "string", description: "Names of each container in the template.", priority: 1) { o, _ in containerField(o, ["spec", "template", "spec", "containers"], "name") },
              Column(name: "Images", type: "string", description: "Images referenced by each container in the template.", priority: 1) { o, _ in containerField(o, ["spec", "template", "spec", "containers"], "image") },
              Column(name: "Selector", type: "string", description: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", priority: 1) { o, _ in selectorText(o) }]
    case "apps/replicasets", "/replicationcontrollers":
      return [nameColumn,
              Column(name: "Desired", type: "integer", description: "Replicas is the number of desired replicas.") { o, _ in int(o, "spec", "replicas") },
              Column(name: "Current", type: "integer", description: "Replicas is the most recently observed number of replicas.") { o, _ in int(o, "status", "replicas") },
              Column(name: "Ready", type: "integer", description: "The number of ready replicas for this replica set.") { o, _ in int(o, "status", "readyReplicas") },
              ageColumn]
    case "apps/daemonsets":
      return [nameColumn,
              Column(name: "Desired", type: "integer") { o, _ in int(o, "status", "desiredNumberScheduled") },
              Column(name: "Current", type: "integer") { o, _ in int(o, "status", "currentNumberScheduled") },
              Column(name: "Ready", type: "integer") { o, _ in int(o, "status", "numberReady") },
              Column(name: "Up-to-date", type: "integer") { o, _ in int(o, "status", "updatedNumberScheduled") },
              Column(name: "Available", type: "integer") { o, _ in int(o, "status", "numberAvailable") },
              Column(name: "Node Selector", type: "string") { o, _ in
                let sel = o[path: ["spec", "template", "spec", "nodeSelector"]]?.objectValue ?? JSONObject()
                return .string(sel.isEmpty ? "<none>" : sel.map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ","))
              },
              ageColumn]
    case "apps/statefulsets":
      return [nameColumn,
              Column(name: "Ready", type: "string") { o, _ in
                .string("\(o[path: ["status", "readyReplicas"]]?.intValue ?? 0)/\(o[path: ["spec", "replicas"]]?.intValue ?? 0)")
              },
              ageColumn]
    case "batch/jobs":
      return [nameColumn,
              Column(name: "Status", type: "string") { o, _ in .string(jobStatus(o)) },
              Column(name: "Completions", type: "string") { o, _ in
                let completions = o[path: ["spec", "completions"]]?.intValue
                let succeeded = o[path: ["status", "succeeded"]]?.intValue ?? 0
                return .string(completions.map { "\(succeeded)/\($0)" } ?? "\(succeeded)/1 of \(o[path: ["spec", "parallelism"]]?.intValue ?? 1)")
              },
              Column(name: "Duration", type: "string") { o, now in
                guard let start = (o[path: ["status", "startTime"]]?.stringValue).flatMap(RFC3339.parse) else { return "" }
                let end = (o[path: ["status", "completionTime"]]?.stringValue).flatMap(RFC3339.parse) ?? now
                return .string(humanDuration(end.timeIntervalSince(start)))
              },
              ageColumn]
    case "/services":
      return [nameColumn,
              Column(name: "Type", type: "string") { o, _ in str(o, "spec", "type") },
              Column(name: "Cluster-IP", type: "string") { o, _ in str(o, "spec", "clusterIP") },
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
              ageColumn,
              Column(name: "Selector", type: "string", priority: 1) { o, _ in
                let sel = o[path: ["spec", "selector"]]?.objectValue ?? JSONObject()
                return .string(sel.isEmpty ? "<none>" : sel.map { "\($0.0)=\($0.1.stringValue ?? "")" }.joined(separator: ","))
              }]
    case "/namespaces":
      return [nameColumn, Column(name: "Status", type: "string") { o, _ in str(o, "status", "phase") }, ageColumn]
    case "/nodes":
      return [nameColumn,
              Column(name: "Status", type: "string") { o, _ in
                let ready = (o[path: ["status", "conditions"]]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
                var s = ready?["status"]?.stringValue == "True" ? "Ready" : (ready == nil ? "Unknown" : "NotReady")
                if o[path: ["spec", "unschedulable"]]?.boolValue == true { s += ",SchedulingDisabled" }
                return .string(s)
              },
              Column(name: "Roles", type: "string") { o, _ in
                let roles = labelMap(o).keys.filter { $0.hasPrefix("node-role.kubernetes.io/") }.map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
                return .string(roles.isEmpty ? "<none>" : roles.joined(separator: ","))
              },
              ageColumn,
              Column(name: "Version", type: "string") { o, _ in str(o, "status", "nodeInfo", "kubeletVersion") }]
    case "/configmaps":
      return [nameColumn,
              Column(name: "Data", type: "integer") { o, _ in
                JSONValue((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))
              },
              ageColumn]
    case "/secrets":
      return [nameColumn,
              Column(name: "Type", type: "string") { o, _ in str(o, "type") },
              Column(name: "Data", type: "integer") { o, _ in JSONValue(o["data"]?.objectValue?.count ?? 0) },
              ageColumn]
    case "/serviceaccounts":
      return [nameColumn, Column(name: "Secrets", type: "integer") { o, _ in JSONValue(o["secrets"]?.arrayValue?.count ?? 0) }, ageColumn]
    case "coordination.k8s.io/leases":
      return [nameColumn, Column(name: "Holder", type: "string") { o, _ in str(o, "spec", "holderIdentity") }, ageColumn]
    case "apiextensions.k8s.io/customresourcedefinitions":
      return [nameColumn, Column(name: "Created At", type: "date") { o, _ in str(o, "metadata", "creationTimestamp") }]
    case "/events":
      return [Column(name: "Last Seen", type: "string") { o, now in
                let ts = o["lastTimestamp"]?.stringValue ?? o["eventTime"]?.stringValue ?? o[path: ["metadata", "creationTimestamp"]]?.stringValue
                return .string(ts.flatMap(RFC3339.parse).map { humanDuration(now.timeIntervalSince($0)) } ?? "<unknown>")
              },
              Column(name: "Type", type: "string") { o, _ in str(o, "type") },
              Column(name: "Reason", type: "string") { o, _ in str(o, "reason") },
              Column(name: "Object", type: "string") { o, _ in
                .string("\((o[path: ["involvedObject", "kind"]]?.stringValue ?? "").lowercased())/\(o[path: ["involvedObject", "name"]]?.stringValue ?? "")")
              },
              Column(name: "Message", type: "string") { o, _ in str(o, "message") }]
    default:
      return [nameColumn, Column(name: "Created At", type: "date", description: "CreationTimestamp is a timestamp representing the server time when this object was created.") { o, _ in
        str(o, "metadata", "creationTimestamp")
      }]
    }
  }

  static func containerField(_ o: JSONValue, _ path: [String], _ field: String) -> JSONValue {
    .string((o[path: path]?.arrayValue ?? []).compactMap { $0[field]?.stringValue }.joined(separator: ","))
  }

  static func selectorText(_ o: JSONValue) -> JSONValue {
    guard let sel = o[path: ["spec", "selector"]], let parsed = try? LabelSelector(json: sel) else { return "<none>" }
    return .string(parsed.isEmpty ? "<none>" : parsed.description)
  }

  static func jobStatus(_ o: JSONValue) -> String {
    let conditions = o[path: ["status", "conditions"]]?.arrayValue ?? []
    func has(_ t: String) -> Bool { conditions.contains { $0["type"]?.stringValue == t && $0["status"]?.stringValue == "True" } }
    if has("Complete") { return "Complete" }
    if has("Failed") { return "Failed" }
    if o[path: ["metadata", "deletionTimestamp"]] != nil { return "Terminating" }
    if has("Suspended") { return "Suspended" }
    return "Running"
  }
}
