import KubeCore

extension Reflector {
  /// The annotation `kubectl apply` keeps its last applied configuration in.
  public static let lastAppliedConfigurationAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

  /// Drops `metadata.managedFields`: server-side apply's field ownership, often the largest part of
  /// an object's metadata and read by no controller (controller-runtime's
  /// `cache.TransformStripManagedFields`).
  public static let stripManagedFields: TransformFunction = { object in
    guard object[path: ["metadata", "managedFields"]] != nil else { return object }
    var stripped = object
    stripped[path: ["metadata", "managedFields"]] = nil
    return stripped
  }

  /// Drops the `kubectl.kubernetes.io/last-applied-configuration` annotation (a copy of the whole
  /// object as `kubectl apply` last sent it), and `metadata.annotations` if nothing else is left
  /// (or it came empty, as it does from a parse that left the annotation out: the result is the
  /// same either way).
  ///
  /// *Caveats*: only for caches whose objects are never written back whole (a PUT of a cached
  /// object would remove the annotation on the server and break the next `kubectl apply`'s
  /// three-way merge). Patches, server-side apply and status writes are fine.
  public static let stripLastAppliedConfiguration: TransformFunction = { object in
    let annotation = ["metadata", "annotations", lastAppliedConfigurationAnnotation]
    let emptied = object[path: ["metadata", "annotations"]]?.objectValue?.isEmpty == true
    guard emptied || object[path: annotation] != nil else { return object }
    var stripped = object
    stripped[path: annotation] = nil
    if stripped[path: ["metadata", "annotations"]]?.objectValue?.isEmpty == true { stripped[path: ["metadata", "annotations"]] = nil }
    return stripped
  }
}
