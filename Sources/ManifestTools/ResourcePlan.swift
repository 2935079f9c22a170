import EdgeML
import KubeClient
import KubeCore

/// What one controller would write for one EdgeModel, Rollout or DriftPolicy: the objects it
/// applies, edits or deletes, and the status it sets — worked out by the operator's own pure
/// planner from an observed state (the manifests given, or a live cluster).
public struct ResourcePlan: Sendable {
  /// `EdgeModel`, `Rollout` or `DriftPolicy`.
  public var kind: String
  public var namespace: String
  public var name: String
  /// What the plan assumed and what it could not show, one sentence each (printed as comments).
  public var notes: [String]
  /// The objects the controller would write or delete, in the planner's order.
  public var objects: [PlannedObject]
  /// The whole status the controller would write.
  public var status: JSONValue
  /// The resource's `spec` as the planner saw it (the manifest's, defaults filled in).
  public var spec: JSONValue

  /// The resource as it would stand: its spec and the planned status.
  public var resource: JSONValue {
    ["apiVersion": .string(EdgeMLAPI.apiVersion), "kind": .string(kind),
     "metadata": ["name": .string(name), "namespace": .string(namespace)], "spec": spec, "status": status]
  }
}

/// One object a controller writes, as it would stand after the write.
public struct PlannedObject: Sendable, Equatable {
  /// How a controller writes an object, which says which of its fields are the controller's.
  public enum Write: Sendable, Equatable {
    /// Server-side apply by this field manager: the fields the manager owns are the controller's.
    case apply(fieldManager: String)
    /// A read-modify-write of the `spec` of an object the user owns (the HTTPRoute and
    /// TraefikService routers): the spec is compared whole.
    case editSpec
  }

  public var resource: GroupVersionResource
  public var namespace: String
  public var name: String
  public var kind: String
  /// The object as the controller would leave it; nil when it would delete it.
  public var object: JSONValue?
  public var write: Write

  /// `group.version.Kind.namespace.name`, as `kubectl diff` names the files it compares.
  public var key: String {
    let gv = resource.group.isEmpty ? resource.version : "\(resource.group).\(resource.version)"
    return "\(gv).\(kind).\(namespace).\(name)"
  }
}

/// The observed state of the objects a manifest holds, to look others up by kind and name.
struct ManifestIndex: Sendable {
  var objects: [JSONValue]

  func find(kind: String, namespace: String, name: String) -> JSONValue? {
    objects.last {
      $0["kind"]?.stringValue == kind && $0[path: ["metadata", "name"]]?.stringValue == name
        && ($0[path: ["metadata", "namespace"]]?.stringValue ?? "default") == namespace
    }
  }

  func all(kind: String, namespace: String) -> [JSONValue] {
    objects.filter { $0["kind"]?.stringValue == kind && ($0[path: ["metadata", "namespace"]]?.stringValue ?? "default") == namespace }
  }
}

extension JSONValue {
  /// `metadata.namespace`, or `default`.
  var namespaceOrDefault: String { self[path: ["metadata", "namespace"]]?.stringValue ?? "default" }
  var metadataName: String { self[path: ["metadata", "name"]]?.stringValue ?? "" }
}
