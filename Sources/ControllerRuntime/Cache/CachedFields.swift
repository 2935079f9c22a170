import KubeCore

/// Which fields of a resource's objects a controller needs cached (controller-runtime's per-object
/// cache options, `cache.Options.ByObject`, with a transform that keeps only what is read).
///
/// Every cache drops `metadata.managedFields` and kubectl's last-applied annotation: no controller
/// here reads them, and they are often the largest part of an object. Of `spec` and `status`, only
/// the named members are kept (nil keeps all). When several controllers watch one resource, the
/// shared informer keeps the union of what they ask for.
///
/// *Caveats*: a cached object is never written back whole (a PUT would remove what the cache
/// dropped); controllers write with server-side apply and patches.
public struct CachedFields: Sendable, Hashable {
  /// Members of `spec` kept; nil keeps all of it.
  public var spec: Set<String>?
  /// Members of `status` kept; nil keeps all of it.
  public var status: Set<String>?

  public init(spec: Set<String>?, status: Set<String>?) {
    self.spec = spec
    self.status = status
  }

  /// The whole object, but for managedFields and the last-applied annotation.
  public static let all = CachedFields(spec: nil, status: nil)
  /// Metadata only.
  public static let metadata = CachedFields(spec: [], status: [])

  /// What two controllers need together: either one's fields.
  public func union(_ other: CachedFields) -> CachedFields {
    func merge(_ a: Set<String>?, _ b: Set<String>?) -> Set<String>? {
      guard let a, let b else { return nil }
      return a.union(b)
    }
    return CachedFields(spec: merge(spec, other.spec), status: merge(status, other.status))
  }

  /// The annotation `kubectl apply` keeps its last applied configuration in.
  public static let lastAppliedConfigurationAnnotation = Reflector.lastAppliedConfigurationAnnotation

  /// Applied to every object before it enters the store.
  public var transform: Reflector.TransformFunction {
    let spec = spec, status = status
    return { object in
      var o = Reflector.stripLastAppliedConfiguration(Reflector.stripManagedFields(object))
      for (field, names) in [("spec", spec), ("status", status)] {
        guard let names, case .object(let full)? = o[field] else { continue }
        let kept = JSONObject(full.filter { names.contains($0.0) })
        o[field] = kept.isEmpty ? nil : .object(kept)
      }
      return o
    }
  }

  /// What the informer builds of each object as it parses it: what `transform` keeps, so the
  /// dropped parts are scanned but never built. The transform still runs on the result.
  public var projection: JSONProjection {
    var members: [String: JSONProjection] = [
      "metadata": .keeping(dropping: ["managedFields"],
                           members: ["annotations": .keeping(dropping: [Reflector.lastAppliedConfigurationAnnotation])]),
    ]
    if let spec { members["spec"] = .keeping(spec) }
    if let status { members["status"] = .keeping(status) }
    return .keeping(members: members)
  }
}
