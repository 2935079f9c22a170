import KubeClient
import Logging

/// Turns declared controllers into shared informers, event handlers and workers; starts the
/// informers, waits for their caches, and runs the controllers — under leader election when
/// configured — until `stop` returns (controller-runtime's manager, in structured concurrency).
public struct Manager: Sendable {
  public let caches: Caches
  public let controllers: [Controller]
  public var leaderElector: LeaderElector?
  public let logger: Logger
  public let clock: any ControllerClock
  /// Where the controllers' Events go; written in the background while the controllers run.
  public let recorder: EventRecorder?
  /// Called once every informer has synced (readiness).
  public var onSynced: (@Sendable () -> Void)?

  /// - Parameters:
  ///   - namespace: nil for all namespaces; cluster-scoped resources ignore it.
  ///   - recorder: where the controllers' Events go (nil records none).
  ///   - publishOwnWrites: whether a controller's status writes go into the cache as they are
  ///     answered (`Informer.publish`); false leaves them to the watch.
  public init(client: KubeClient, controllers specs: [ControllerSpec], namespace: String? = nil,
              clock: any ControllerClock = SystemClock(), recorder: EventRecorder?, leaderElector: LeaderElector?,
              logger: Logger, publishOwnWrites: Bool = true) async {
    var registry = InformerRegistry()
    for spec in specs {
      registry.request(spec.primary, fields: spec.primaryFields, indexers: spec.primaryIndexers)
      for w in spec.watches { registry.request(w.key, fields: w.fields, indexers: w.indexers) }
    }
    let caches = registry.makeCaches(client: client, namespace: namespace, clock: clock)
    var controllers: [Controller] = []
    for spec in specs {
      var owned: [GroupVersionResource: Store] = [:]
      for w in spec.watches where w.isOwned { owned[w.key.resource] = caches.informers[w.key]?.store }
      let expectations = WriteExpectations(clock: clock)
      let applier = PlanApplier(client: client, fieldManager: spec.fieldManager, hashAnnotation: spec.hashAnnotation,
                                ownerResource: spec.primary.resource, owned: owned, recorder: recorder, expectations: expectations,
                                ownerInformer: publishOwnWrites ? caches.informers[spec.primary] : nil)
      let controller = Controller(name: spec.name, reconciler: spec.reconciler, workers: spec.workers, logger: logger, clock: clock,
                                  client: client, caches: caches, applier: applier, recorder: recorder)
      let primaryFilter = spec.primaryFilter
      // Every change of a primary object, even one the filter drops (a DriftPolicy's status), may
      // be the write a held-back reconcile waits for.
      await caches.informers[spec.primary]?.addObserver { change in
        let rv = change.new?[path: ["metadata", "resourceVersion"]]?.stringValue
        if expectations.observed(change.key, resourceVersion: change.isDelete ? nil : rv ?? "") { controller.enqueue(key: change.key) }
      }
      await caches.informers[spec.primary]?.addHandler { change in
        if primaryFilter(change) { controller.enqueue(key: change.key) }
      }
      for w in spec.watches {
        await caches.informers[w.key]?.addHandler { change in
          guard w.filter(change) else { return }
          for request in await w.map(change, caches) { controller.queue.add(request) }
        }
      }
      controllers.append(controller)
    }
    self.caches = caches
    self.controllers = controllers
    self.leaderElector = leaderElector
    self.logger = logger
    self.clock = clock
    self.recorder = recorder
  }

  /// The controller named `name`.
  public func controller(_ name: String) -> Controller? { controllers.first { $0.name == name } }

  /// Runs until `stop` returns; then stops the controllers, releases the lease and the informers.
  ///
  /// `stop` is called once; everything else waits on a cancellable signal fired when it returns. It
  /// should return when cancelled (ServiceLifecycle's `gracefulShutdown()` does): a run that ends
  /// without it (leadership lost, an informer failing) cancels it and waits for it to return.
  public func run(until stop: @escaping @Sendable () async -> Void) async throws {
    let informers = caches.all
    let stopped = Signal()
    let waitForStop: @Sendable () async -> Void = { try? await stopped.wait() }
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await stop(); stopped.fire() }
      for informer in informers { group.addTask { try await informer.run() } }
      // Waiting for the caches ends early when the stop comes first.
      let synced: Bool = try await withThrowingTaskGroup(of: Bool.self) { wait in
        wait.addTask {
          for informer in informers { try await informer.waitForSync() }
          return true
        }
        wait.addTask { await waitForStop(); return false }
        let first = try await wait.next() ?? false
        wait.cancelAll()
        return first
      }
      if synced {
        logger.info("Caches synced", metadata: ["informers": "\(informers.count)"])
        onSynced?()
        let controllers = self.controllers
        let recorder = self.recorder
        let runControllers: @Sendable () async throws -> Void = {
          await withDiscardingTaskGroup { g in
            // A reconcile queues its Events and goes on; one task writes them.
            if let recorder { g.addTask { await recorder.deliver() } }
            for c in controllers { g.addTask { await c.run() } }
          }
        }
        if let leaderElector {
          try await leaderElector.run(whileLeading: runControllers, until: waitForStop)
        } else {
          try await withThrowingTaskGroup(of: Void.self) { inner in
            inner.addTask { try await runControllers() }
            inner.addTask { await waitForStop() }
            _ = try await inner.next()
            inner.cancelAll()
          }
        }
      }
      // Leadership lost or an error: the run ends (the process should exit, as controller-runtime's
      // manager does), cancelling the task still waiting in `stop`.
      group.cancelAll()
    }
  }
}
