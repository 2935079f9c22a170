import Foundation

/// Runs the simulator's concurrent parts (controllers, pod workers, heartbeats, delayed requeues) as
/// children of one discarding task group, so cancelling `run()` stops all of them.
///
/// Components ask for a child with `spawn`; the group's owner task adds it. This keeps every task
/// structured (no `Task {}` per component) while letting an event handler start a pod worker.
final class Runtime: Sendable {
  private typealias Child = (onNode: Bool, body: @Sendable () async -> Void)
  private let stream: AsyncStream<Child>
  private let continuation: AsyncStream<Child>.Continuation
  /// Multiplies every simulated duration (1: real time; 0.01: a hundred times faster).
  let speed: Double
  /// Simulated nodes (each renews a Lease).
  let nodes: Int
  /// Where the nodes' work runs (`spawnOnNode`); nil: with everything else.
  let nodeExecutor: NodeExecutor?

  init(speed: Double, nodes: Int = 1, nodeNice: Int32 = 0) {
    self.speed = speed
    self.nodes = nodes
    self.nodeExecutor = nodeNice > 0 ? NodeExecutor.shared(nice: nodeNice) : nil
    (stream, continuation) = AsyncStream.makeStream(of: Child.self)
  }

  /// A duration of the simulated cluster, scaled by the speed factor.
  func scaled(_ seconds: Double) -> Duration { .milliseconds(max(1, Int((seconds * speed * 1000).rounded()))) }

  /// Node heartbeats are not scaled below one second: at speed 0.0005 a 10 s renew interval
  /// would be 5 ms, and a few hundred nodes would then spend the server on Lease writes alone.
  static let minimumRenewSeconds = 1.0
  /// Nor, in all, above this many renewals per second: a fleet of a thousand nodes renews every
  /// 10 s, as real kubelets do, so that Lease writes do not crowd out the work a benchmark measures.
  static let maximumRenewalsPerSecond = 100.0
  /// The kubelet's Lease renew interval (pkg/kubelet/nodelease: 0.25 × 40 s), scaled, with the floors.
  var renewIntervalSeconds: Double {
    max(10 * speed, Runtime.minimumRenewSeconds, Double(nodes) / Runtime.maximumRenewalsPerSecond)
  }
  /// The node monitor grace period (50 s), scaled, but never shorter than ten renewals, so a
  /// floored heartbeat delayed by a busy machine (a thousand nodes renewing on two cores) does not
  /// look like a failed node.
  var nodeGraceSeconds: Double { max(50 * speed, 10 * renewIntervalSeconds) }

  func spawn(_ body: @escaping @Sendable () async -> Void) { continuation.yield((false, body)) }

  /// As `spawn`, for a simulated node's work (a pod worker): it and its child tasks run on the
  /// node executor, at its lower priority, when there is one.
  func spawnOnNode(_ body: @escaping @Sendable () async -> Void) { continuation.yield((true, body)) }

  /// Runs `body` after `delay` unless the simulator stops first.
  func after(_ delay: Duration, _ body: @escaping @Sendable () async -> Void) {
    spawn {
      do { try await Task.sleep(for: delay) } catch { return }
      await body()
    }
  }

  /// Runs spawned children until cancelled; then cancels them and waits for them to finish.
  func run() async {
    await withDiscardingTaskGroup { group in
      for await child in stream {
        group.addTask(executorPreference: child.onNode ? nodeExecutor : nil) { await child.body() }
      }
      group.cancelAll()
    }
  }
}

/// A deduplicating work queue with client-go's semantics (`util/workqueue/queue.go`): a key waits
/// at most once, is never processed by two workers at once, and `done` re-queues a key that was
/// added while it was being processed.
actor WorkQueue<Key: Hashable & Sendable> {
  private var queue: [Key] = []
  private var head = 0
  private var dirty: Set<Key> = []
  private var processing: Set<Key> = []
  private let kick: AsyncStream<Void>.Continuation
  nonisolated let kicks: AsyncStream<Void>

  init() { (kicks, kick) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1)) }

  func add(_ key: Key) {
    guard dirty.insert(key).inserted else { return }
    if !processing.contains(key) { queue.append(key); kick.yield(()) }
  }

  func add<S: Sequence>(contentsOf keys: S) where S.Element == Key { for k in keys { add(k) } }

  /// The next key to process, or nil when none waits.
  func pop() -> Key? {
    guard head < queue.count else { return nil }
    let key = queue[head]
    head += 1
    if head > 1024 && head * 2 > queue.count { queue.removeFirst(head); head = 0 }
    dirty.remove(key)
    processing.insert(key)
    return key
  }

  func done(_ key: Key) {
    processing.remove(key)
    if dirty.contains(key) { queue.append(key); kick.yield(()) }
  }
}

/// A controller: a work queue of object keys and a reconcile function, run by one worker.
///
/// The reconcile contract is controller-runtime's: it reads current state (level-based) and returns
/// nil (done) or a delay after which to look again.
final class Controller: Sendable {
  let name: String
  let queue = WorkQueue<ObjectKey>()
  private let runtime: Runtime

  init(name: String, runtime: Runtime) {
    self.name = name
    self.runtime = runtime
  }

  func add(_ key: ObjectKey) async { await queue.add(key) }

  /// Processes keys until cancelled.
  func run(_ reconcile: @Sendable (ObjectKey) async -> Duration?) async {
    for await _ in queue.kicks {
      while let key = await queue.pop() {
        let requeue = await reconcile(key)
        await queue.done(key)
        if let requeue {
          let queue = self.queue
          runtime.after(requeue) { await queue.add(key) }
        }
      }
    }
  }
}
