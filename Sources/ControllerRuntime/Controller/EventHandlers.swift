import KubeCore

/// Maps a changed object to the reconcile keys it concerns (controller-runtime's handler.EventHandler
/// family): the object itself, its controlling owner of a kind, or any custom mapping.
public enum KeyMapping {
  /// The object's own `namespace/name`.
  public static func own(_ object: JSONValue) -> [String] { [Store.key(of: object)] }

  /// The owners of `kind` (in `apiGroup`) the object names in `ownerReferences`, in its namespace
  /// (an owner must be in the same namespace or cluster-scoped, as the garbage collector requires).
  /// - Parameter controllerOnly: only the owner marked `controller: true` (EnqueueRequestForOwner with OnlyControllerOwner).
  public static func owners(of object: JSONValue, kind: String, apiGroup: String, controllerOnly: Bool = true) -> [String] {
    let namespace = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
    return (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).compactMap { ref in
      guard ref["kind"]?.stringValue == kind,
            let apiVersion = ref["apiVersion"]?.stringValue,
            (apiVersion.split(separator: "/").count == 2 ? String(apiVersion.split(separator: "/")[0]) : "") == apiGroup,
            !controllerOnly || ref["controller"]?.boolValue == true,
            let name = ref["name"]?.stringValue else { return nil }
      return namespace.isEmpty ? name : "\(namespace)/\(name)"
    }
  }
}

extension Informer {
  /// Sends the keys `map` derives from each changed object to `controller`. Deleted objects are
  /// mapped from their last cached state, so an owner hears about a dependent that disappeared.
  public func addHandler(for controller: Controller, map: @escaping @Sendable (JSONValue) -> [String]) {
    let store = self.store
    let cache = LastSeen()
    addHandler { key in
      let object = await store.get(key)
      let previous = await cache.swap(key, object)
      for k in Set((object.map(map) ?? []) + (previous.map(map) ?? [])) { await controller.enqueue(key: k) }
    }
  }
}

/// The last version of each object a handler saw (to map deletions).
actor LastSeen {
  private var objects: [String: JSONValue] = [:]
  func swap(_ key: String, _ object: JSONValue?) -> JSONValue? {
    defer { objects[key] = object }
    return objects[key]
  }
}
