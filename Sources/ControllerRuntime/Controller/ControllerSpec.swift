import KubeClient
import KubeCore

/// A controller, declared: what it reconciles, what it owns, what else wakes it, and what it needs
/// cached (controller-runtime's builder: `For`, `Owns`, `Watches`, with `cache.Options.ByObject`).
///
/// A `Manager` turns specs into shared informers (one per resource and selector, however many
/// controllers use it), event handlers and workers.
///
/// ```swift
/// ControllerSpec(name: "edgemodel", for: EdgeModel.resource, kind: "EdgeModel", reconciler: r)
///   .owns(.deployments, labelSelector: managed, fields: .metadata)
///   .watches(.pods, labelSelector: managed, fields: podFields, map: { change, _ in modelRequests(change) })
/// ```
public struct ControllerSpec: Sendable {
  /// A resource the controller watches besides its primary one.
  public struct Watch: Sendable {
    public var key: InformerKey
    public var fields: CachedFields
    public var indexers: [String: Store.IndexFunction]
    /// Requests to queue for a change (the old and the new object are both there to map).
    public var map: @Sendable (ObjectChange, Caches) async -> [ReconcileRequest]
    /// Changes for which `map` is not even asked (a Node's heartbeat, say).
    public var filter: @Sendable (ObjectChange) -> Bool
    /// Whether the applier may write and prune objects of this resource for the controller.
    public var isOwned: Bool
  }

  public let name: String
  /// The resource reconciled (`For`): each of its objects is a request.
  public let primary: InformerKey
  /// Its `kind`, as owner references name it.
  public let kind: String
  public var primaryFields: CachedFields = .all
  public var primaryIndexers: [String: Store.IndexFunction] = [:]
  /// Changes of the primary resource that do not queue a request.
  public var primaryFilter: @Sendable (ObjectChange) -> Bool = { _ in true }
  public var watches: [Watch] = []
  public var workers = 2
  /// The field manager and the applied-hash annotation of the controller's writes.
  public var fieldManager: String
  public var hashAnnotation: String
  public let reconciler: any Reconciler

  /// - Parameters:
  ///   - fieldManager: the name in `managedFields` (default: the controller's name).
  ///   - hashAnnotation: where the applier records what it applied.
  public init(name: String, for resource: GroupVersionResource, kind: String, labelSelector: String? = nil,
              fieldManager: String? = nil, hashAnnotation: String = "edgeml.io/applied-hash", reconciler: any Reconciler) {
    self.name = name
    self.primary = InformerKey(resource: resource, labelSelector: labelSelector)
    self.kind = kind
    self.fieldManager = fieldManager ?? name
    self.hashAnnotation = hashAnnotation
    self.reconciler = reconciler
  }

  /// Caches the primary resource with `fields` (default: all of it) and `indexers`, and queues only
  /// the changes `filter` lets through.
  public func caching(_ fields: CachedFields, indexers: [String: Store.IndexFunction] = [:],
                      filter: @escaping @Sendable (ObjectChange) -> Bool = { _ in true }) -> ControllerSpec {
    var s = self
    s.primaryFields = fields
    s.primaryIndexers = indexers
    s.primaryFilter = filter
    return s
  }

  /// Owns `resource`: the applier may write and prune it, and a change of an object that `filter`
  /// lets through wakes the owner its `controller: true` owner reference names
  /// (`EnqueueRequestForOwner` with `OnlyControllerOwner`, behind a predicate).
  public func owns(_ resource: GroupVersionResource, labelSelector: String? = nil, fields: CachedFields = .metadata,
                   indexers: [String: Store.IndexFunction] = [:],
                   filter: @escaping @Sendable (ObjectChange) -> Bool = { _ in true }) -> ControllerSpec {
    var s = self
    let kind = self.kind, group = primary.resource.group
    s.watches.append(Watch(key: InformerKey(resource: resource, labelSelector: labelSelector), fields: fields, indexers: indexers,
                           map: { change, _ in KeyMapping.owners(of: change, kind: kind, apiGroup: group) },
                           filter: filter, isOwned: true))
    return s
  }

  /// Watches `resource`: each change that `filter` lets through queues the requests `map` returns.
  public func watches(_ resource: GroupVersionResource, labelSelector: String? = nil, fields: CachedFields = .metadata,
                      indexers: [String: Store.IndexFunction] = [:],
                      filter: @escaping @Sendable (ObjectChange) -> Bool = { _ in true },
                      map: @escaping @Sendable (ObjectChange, Caches) async -> [ReconcileRequest]) -> ControllerSpec {
    var s = self
    s.watches.append(Watch(key: InformerKey(resource: resource, labelSelector: labelSelector), fields: fields, indexers: indexers,
                           map: map, filter: filter, isOwned: false))
    return s
  }

  /// With `count` reconcile workers.
  public func workers(_ count: Int) -> ControllerSpec {
    var s = self
    s.workers = max(1, count)
    return s
  }

  /// Writes with `fieldManager` and records applied hashes in `hashAnnotation`.
  public func writing(as fieldManager: String, hashAnnotation: String? = nil) -> ControllerSpec {
    var s = self
    s.fieldManager = fieldManager
    if let hashAnnotation { s.hashAnnotation = hashAnnotation }
    return s
  }
}
