import KubeClient
import Logging

/// Starts the informers, waits for their caches, and runs the controllers — under leader election
/// when configured — until `stop` returns (controller-runtime's manager, in structured concurrency).
public struct Manager: Sendable {
  public var informers: [Informer]
  public var controllers: [Controller]
  public var leaderElector: LeaderElector?
  public let logger: Logger
  /// Called once every informer has synced (readiness).
  public var onSynced: (@Sendable () -> Void)?

  public init(informers: [Informer], controllers: [Controller], leaderElector: LeaderElector?, logger: Logger) {
    self.informers = informers
    self.controllers = controllers
    self.leaderElector = leaderElector
    self.logger = logger
  }

  /// Runs until `stop` returns; then stops the controllers, releases the lease and the informers.
  public func run(until stop: @escaping @Sendable () async -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
      for informer in informers { group.addTask { try await informer.run() } }
      for informer in informers { try await informer.waitForSync() }
      logger.info("Caches synced", metadata: ["informers": "\(informers.count)"])
      onSynced?()
      let controllers = self.controllers
      let runControllers: @Sendable () async throws -> Void = {
        await withDiscardingTaskGroup { g in
          for c in controllers { g.addTask { await c.run() } }
        }
      }
      if let leaderElector {
        try await leaderElector.run(whileLeading: runControllers, until: stop)
      } else {
        try await withThrowingTaskGroup(of: Void.self) { inner in
          inner.addTask { try await runControllers() }
          inner.addTask { await stop() }
          _ = try await inner.next()
          inner.cancelAll()
        }
      }
      group.cancelAll()
    }
  }
}
