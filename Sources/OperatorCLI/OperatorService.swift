import ControllerRuntime
import Logging
import ServiceLifecycle

/// Runs the manager until graceful shutdown, then lets it release its lease.
struct OperatorService: Service {
  let manager: Manager
  let logger: Logger

  func run() async throws {
    try await manager.run(until: { try? await gracefulShutdown() })
    logger.info("Operator stopped")
  }
}

/// Serves /metrics until graceful shutdown.
struct MetricsService: Service {
  let server: MetricsServer

  func run() async throws {
    await cancelWhenGracefulShutdown { await server.run() }
  }
}
