import KubeClient
import KubeCore

/// One reflector and store for a resource, shared by every controller that needs it (one watch
/// however many consumers; client-go's SharedInformer). Handlers get the key of every changed object.
public actor Informer {
  public nonisolated let store: Store
  public nonisolated let resource: GroupVersionResource
  private let reflector: Reflector
  private var handlers: [@Sendable (String) async -> Void] = []
  public let stats = Reflector.Stats()

  /// - Parameters:
  ///   - transform: applied to every object before it enters the store (client-go's
  ///     `SharedInformer.SetTransform`); see `Reflector.TransformFunction` for what it must keep.
  ///   - projection: what of each object to build while parsing it; see `Reflector.projection`.
  public init(client: KubeClient, resource: GroupVersionResource, namespace: String? = nil, labelSelector: String? = nil,
              indexers: [String: Store.IndexFunction] = Store.standardIndexers, transform: Reflector.TransformFunction? = nil,
              projection: JSONProjection = .all) {
    self.resource = resource
    store = Store(indexers: indexers)
    var reflector = Reflector(client: client, resource: resource, namespace: namespace, labelSelector: labelSelector, store: store)
    reflector.transform = transform
    reflector.projection = projection
    self.reflector = reflector
  }

  /// Adds a handler; call before `run`.
  public func addHandler(_ handler: @escaping @Sendable (String) async -> Void) {
    handlers.append(handler)
  }

  /// Lists and watches until cancelled.
  public func run() async throws {
    let handlers = self.handlers
    try await reflector.run(stats: stats) { key in
      for h in handlers { await h(key) }
    }
  }

  /// Waits until the first list is in the store.
  public nonisolated func waitForSync() async throws {
    while !(await store.hasSynced) {
      try await Task.sleep(for: .milliseconds(20))
    }
  }
}
