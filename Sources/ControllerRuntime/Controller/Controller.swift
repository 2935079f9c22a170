#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeClient
import KubeCore
import Logging
import Metrics
import Synchronization

/// Workers taking requests from a rate-limited queue and reconciling them.
///
/// Made by a `Manager` from a `ControllerSpec`; tests may make one directly.
public struct Controller: Sendable {
  public let name: String
  public let queue: WorkQueue<ReconcileRequest>
  public let reconciler: any Reconciler
  public let workers: Int
  public let logger: Logger
  public let metrics: ControllerMetrics
  public let clock: any ControllerClock
  public let client: KubeClient
  public let caches: Caches
  public let applier: PlanApplier
  public let recorder: EventRecorder?

  public init(name: String, reconciler: any Reconciler, workers: Int = 2, logger: Logger, clock: any ControllerClock = SystemClock(),
              client: KubeClient, caches: Caches, applier: PlanApplier, recorder: EventRecorder?,
              metrics: ControllerMetrics = ControllerMetrics()) {
    precondition(workers > 0, "a controller needs at least one worker")
    self.name = name
    // swift-metrics front end; the backend (Prometheus) is chosen once in `edgeml operator`.
    let queueWait = Metrics.Timer(label: "edgeml_workqueue_queue_duration_seconds", dimensions: [("name", name)], preferredDisplayUnit: .seconds)
    self.queue = WorkQueue(clock: clock, onQueueWait: { queueWait.recordNanoseconds(Int64(clamping: $0.components.seconds) * 1_000_000_000 + $0.components.attoseconds / 1_000_000_000) })
    self.reconciler = reconciler
    self.workers = workers
    self.logger = logger
    self.metrics = metrics
    self.clock = clock
    self.client = client
    self.caches = caches
    self.applier = applier
    self.recorder = recorder
  }

  /// Queues the object with this store key (`namespace/name`).
  public func enqueue(key: String) { queue.add(ReconcileRequest(key: key)) }

  /// Runs the workers until the task is cancelled; then shuts the queue down.
  public func run() async {
    await withDiscardingTaskGroup { group in
      group.addTask { await queue.runDelays() }
      for _ in 0..<workers { group.addTask { await worker() } }
    }
    queue.shutDown()
  }

  /// The context one reconcile of `request` gets.
  public func context(for request: ReconcileRequest) -> ReconcileContext {
    var logger = self.logger
    logger[metadataKey: "controller"] = "\(name)"
    logger[metadataKey: "kube.namespace"] = "\(request.namespace)"
    logger[metadataKey: "kube.name"] = "\(request.name)"
    return ReconcileContext(request: request, controller: name, logger: logger, clock: clock, recorder: recorder, client: client,
                            caches: caches, applier: applier)
  }

  /// Reconciles `request` once, as a worker does, and queues it again as the result says.
  public func process(_ request: ReconcileRequest) async {
    let context = context(for: request)
    let start = clock.now
    do {
      switch try await reconciler.reconcile(request, context: context) {
      case .done:
        queue.forget(request)
        metrics.record(controller: name, result: "success", duration: clock.now - start)
      case .requeue(let after):
        queue.forget(request)
        queue.add(request, after: after)
        metrics.record(controller: name, result: "requeue", duration: clock.now - start)
      }
    } catch let error as TerminalError {
      context.logger.error("Reconcile failed; not retrying", metadata: ["error": "\(error.underlying)"])
      queue.forget(request)
      metrics.record(controller: name, result: "terminal_error", duration: clock.now - start)
    } catch is CancellationError {
      queue.add(request)   // not reconciled: a later run (or a successor) must see it
    } catch {
      context.logger.warning("Reconcile failed; retrying with backoff", metadata: ["error": "\(error)"])
      queue.addRateLimited(request)
      metrics.record(controller: name, result: "error", duration: clock.now - start)
    }
  }

  private func worker() async {
    let depth = Gauge(label: "edgeml_workqueue_depth", dimensions: [("name", name)])
    while let request = await queue.get() {
      depth.record(queue.depth)
      await process(request)
      queue.done(request)
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
      $0.totalSeconds += duration.seconds
    }
    // swift-metrics front end; the backend (Prometheus) is chosen once in `edgeml operator`.
    Counter(label: "edgeml_reconcile_total", dimensions: [("controller", controller), ("result", result)]).increment()
    Metrics.Timer(label: "edgeml_reconcile_duration_seconds", dimensions: [("controller", controller)], preferredDisplayUnit: .seconds)
      .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
  }
  public func count(_ result: String) -> Int { state.withLock { $0.counts[result, default: 0] } }
  public var reconcileSeconds: Double { state.withLock { $0.totalSeconds } }
}
