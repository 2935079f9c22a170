import KubeCore

/// Maps a changed object to the requests it concerns (controller-runtime's handler.EventHandler
/// family). Both the old and the new object are mapped, so a dependent that moved from one owner to
/// another, or was deleted, wakes every owner it concerned.
public enum KeyMapping {
  /// The object's own request.
  public static func own(_ change: ObjectChange) -> [ReconcileRequest] { [ReconcileRequest(key: change.key)] }

  /// The owners of `kind` (in `apiGroup`) the object names in `ownerReferences`, in its namespace
  /// (an owner must be in the same namespace or cluster-scoped, as the garbage collector requires).
  /// - Parameter controllerOnly: only the owner marked `controller: true` (EnqueueRequestForOwner with OnlyControllerOwner).
  public static func owners(of object: JSONValue, kind: String, apiGroup: String, controllerOnly: Bool = true) -> [ReconcileRequest] {
    let namespace = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
    return (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).compactMap { ref in
      guard ref["kind"]?.stringValue == kind,
            let apiVersion = ref["apiVersion"]?.stringValue,
            (apiVersion.split(separator: "/").count == 2 ? String(apiVersion.split(separator: "/")[0]) : "") == apiGroup,
            !controllerOnly || ref["controller"]?.boolValue == true,
            let name = ref["name"]?.stringValue else { return nil }
      return ReconcileRequest(namespace: namespace, name: name)
    }
  }

  /// The owners of `kind` named by the old or the new object of a change.
  public static func owners(of change: ObjectChange, kind: String, apiGroup: String, controllerOnly: Bool = true) -> [ReconcileRequest] {
    var out: [ReconcileRequest] = []
    for object in [change.old, change.new].compactMap({ $0 }) {
      for r in owners(of: object, kind: kind, apiGroup: apiGroup, controllerOnly: controllerOnly) where !out.contains(r) {
        out.append(r)
      }
    }
    return out
  }
}
