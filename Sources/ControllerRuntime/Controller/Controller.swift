#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeCore
import Logging
import Metrics
import Synchronization

/// What a reconcile is asked to look at: an object's namespace and name, not the event
/// (controller-runtime pkg/reconcile/reconcile.go).
public struct ReconcileRequest: Hashable, Sendable, CustomStringConvertible {
  public var namespace: String
  public var name: String
  public init(namespace: String, name: String) { self.namespace = namespace; self.name = name }
  public init(key: String) {
    let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
    if parts.count == 2 { namespace = parts[0]; name = parts[1] } else { namespace = ""; name = key }
  }
  public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}

/// "Done", or "come back after this long". A thrown error retries with the rate limiter's backoff.
public enum ReconcileResult: Sendable, Equatable {
  case done
  case requeue(after: Duration)
}

/// Level-based reconcile of one object.
public protocol Reconciler: Sendable {
  func reconcile(_ request: ReconcileRequest) async throws -> ReconcileResult
}

/// Workers taking keys from a rate-limited queue and reconciling them.
public struct Controller: Sendable {
  public let name: String
  public let queue: WorkQueue<ReconcileRequest>
  public let reconciler: any Reconciler
  public let workers: Int
  public let logger: Logger
  public let metrics: ControllerMetrics

  public init(name: String, reconciler: any Reconciler, workers: Int = 2, logger: Logger, metrics: ControllerMetrics = ControllerMetrics()) {
    precondition(workers > 0, "a controller needs at least one worker")
    self.name = name
    self.queue = WorkQueue()
    self.reconciler = reconciler
    self.workers = workers
    self.logger = logger
    self.metrics = metrics
  }

  /// Queues the object with this store key (`namespace/name`).
  public func enqueue(key: String) async { await queue.add(ReconcileRequest(key: key)) }

  /// Runs the workers until cancelled.
  public func run() async {
    await withDiscardingTaskGroup { group in
      group.addTask { await queue.runDelays() }
      for _ in 0..<workers { group.addTask { await worker() } }
      group.addTask {
        // Shut the queue down when the controller's task is cancelled, releasing idle workers
        // (the sleep ends early on cancellation).
        try? await Task.sleep(for: .seconds(365 * 86_400))
        await queue.shutDown()
      }
    }
  }

  private func worker() async {
    let depth = Gauge(label: "edgeml_workqueue_depth", dimensions: [("name", name)])
    while let request = await queue.get() {
      depth.record(await queue.depth)
      var logger = self.logger
      logger[metadataKey: "controller"] = "\(name)"
      logger[metadataKey: "kube.namespace"] = "\(request.namespace)"
      logger[metadataKey: "kube.name"] = "\(request.name)"
      let start = ContinuousClock.now
      do {
        switch try await reconciler.reconcile(request) {
        case .done:
          await queue.forget(request)
          metrics.record(controller: name, result: "success", duration: ContinuousClock.now - start)
        case .requeue(let after):
          await queue.forget(request)
          await queue.add(request, after: after)
          metrics.record(controller: name, result: "requeue", duration: ContinuousClock.now - start)
        }
      } catch {
        logger.warning("Reconcile failed; retrying with backoff", metadata: ["error": "\(error)"])
        await queue.addRateLimited(request)
        metrics.record(controller: name, result: "error", duration: ContinuousClock.now - start)
      }
      await queue.done(request)
    }
  }
}

/// Reconcile counters a metrics endpoint exposes (edgeml_reconcile_total by result).
public final class ControllerMetrics: Sendable {
  private struct State { var counts: [String: Int] = [:]; var totalSeconds = 0.0 }
  private let state = Mutex(State())
  public init() {}
  func record(controller: String = "", result: String, duration: Duration) {
    state.withLock {
      $0.counts[result, default: 0] += 1
      $0.totalSeconds += Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
    // swift-metrics front end; the backend (Prometheus) is chosen once in `edgeml operator`.
    Counter(label: "edgeml_reconcile_total", dimensions: [("controller", controller), ("result", result)]).increment()
    Metrics.Timer(label: "edgeml_reconcile_duration_seconds", dimensions: [("controller", controller)], preferredDisplayUnit: .seconds)
      .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
  }
  public func count(_ result: String) -> Int { state.withLock { $0.counts[result, default: 0] } }
  public var reconcileSeconds: Double { state.withLock { $0.totalSeconds } }
}
