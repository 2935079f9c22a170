import Foundation
import KubeCore

// Core resources whose only rules are a default or the server-side printer's columns
// (pkg/registry/core/<resource>/strategy.go; pkg/printers/internalversion/printers.go).

/// Secrets: `type` defaults to Opaque (SetDefaults_Secret).
struct SecretStrategy: ResourceStrategy {
  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws { BuiltinDefaults.setIfAbsent(&object, ["type"], "Opaque") }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { BuiltinDefaults.setIfAbsent(&object, ["type"], "Opaque") }
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn,
     .init(name: "Type", type: "string") { o, _ in TableConverter.str(o, "type") },
     .init(name: "Data", type: "integer") { o, _ in JSONValue(o["data"]?.objectValue?.count ?? 0) },
     TableConverter.ageColumn]
  }
}

struct ConfigMapStrategy: ResourceStrategy {
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn,
     .init(name: "Data", type: "integer") { o, _ in
       JSONValue((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))
     },
     TableConverter.ageColumn]
  }
}

struct ServiceAccountStrategy: ResourceStrategy {
  func afterWrite(_ stored: JSONValue, state: inout ObjectStore.State, server: APIServer) {
    server.serviceAccountCache.record(stored)
  }
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn, .init(name: "Secrets", type: "integer") { o, _ in JSONValue(o["secrets"]?.arrayValue?.count ?? 0) }, TableConverter.ageColumn]
  }
}

struct NodeStrategy: ResourceStrategy {
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn,
     .init(name: "Status", type: "string") { o, _ in
       let ready = (o[path: ["status", "conditions"]]?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
       var s = ready?["status"]?.stringValue == "True" ? "Ready" : (ready == nil ? "Unknown" : "NotReady")
       if o[path: ["spec", "unschedulable"]]?.boolValue == true { s += ",SchedulingDisabled" }
       return .string(s)
     },
     .init(name: "Roles", type: "string") { o, _ in
       let roles = labelMap(o).keys.filter { $0.hasPrefix("node-role.kubernetes.io/") }.map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
       return .string(roles.isEmpty ? "<none>" : roles.joined(separator: ","))
     },
     TableConverter.ageColumn,
     .init(name: "Version", type: "string") { o, _ in TableConverter.str(o, "status", "nodeInfo", "kubeletVersion") }]
  }
}

/// Core Events.
struct EventStrategy: ResourceStrategy {
  var tableColumns: [TableConverter.Column]? {
    [.init(name: "Last Seen", type: "string") { o, now in
       let ts = o["lastTimestamp"]?.stringValue ?? o["eventTime"]?.stringValue ?? o[path: ["metadata", "creationTimestamp"]]?.stringValue
       return .string(ts.flatMap(RFC3339.parse).map { TableConverter.humanDuration(now.timeIntervalSince($0)) } ?? "<unknown>")
     },
     .init(name: "Type", type: "string") { o, _ in TableConverter.str(o, "type") },
     .init(name: "Reason", type: "string") { o, _ in TableConverter.str(o, "reason") },
     .init(name: "Object", type: "string") { o, _ in
       .string("\((o[path: ["involvedObject", "kind"]]?.stringValue ?? "").lowercased())/\(o[path: ["involvedObject", "name"]]?.stringValue ?? "")")
     },
     .init(name: "Message", type: "string") { o, _ in TableConverter.str(o, "message") }]
  }
}

/// events.k8s.io/v1 Events: stored as core Events (`EventConversion`), created in their own form.
struct EventsV1Strategy: ResourceStrategy {
  func validate(_ event: JSONValue) -> [FieldError] { EventConversion.validateEventsV1(event) }
}

/// PersistentVolumeClaims and PersistentVolumes: a DELETE answers with the object.
struct PersistentVolumeClaimStrategy: ResourceStrategy {
  var returnsDeletedObject: Bool { true }
}

struct PersistentVolumeStrategy: ResourceStrategy {
  var returnsDeletedObject: Bool { true }
}

struct LeaseStrategy: ResourceStrategy {
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn, .init(name: "Holder", type: "string") { o, _ in TableConverter.str(o, "spec", "holderIdentity") }, TableConverter.ageColumn]
  }
}

/// Roles, ClusterRoles and their bindings: any path-segment name (pkg/apis/rbac/validation
/// `ValidateRBACName` is `path.IsValidPathSegmentName`), so `system:controller:…` is valid.
struct RBACStrategy: ResourceStrategy {
  var nameRule: NameRule { .pathSegment }
}

/// RuntimeClasses (node.k8s.io): printers.go's `runtimeClassColumnDefinitions`, Name, Handler, Age;
/// each write is recorded for the RuntimeClass admission plugin's mutating phase.
struct RuntimeClassStrategy: ResourceStrategy {
  func afterWrite(_ stored: JSONValue, state: inout ObjectStore.State, server: APIServer) {
    server.runtimeClassCache.record(stored)
  }
  var tableColumns: [TableConverter.Column]? {
    [TableConverter.nameColumn, .init(name: "Handler", type: "string") { o, _ in TableConverter.str(o, "handler") }, TableConverter.ageColumn]
  }
}
