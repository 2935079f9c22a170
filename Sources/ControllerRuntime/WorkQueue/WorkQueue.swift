import DequeModule

/// A rate-limited work queue with client-go's semantics (k8s.io/client-go/util/workqueue/queue.go):
/// a key waiting is never queued twice, a key being processed is never handed to a second worker,
/// and a key added while processing is queued again when `done` is called.
public actor WorkQueue<Key: Hashable & Sendable> {
  private var queue: Deque<Key> = []
  private var dirty: Set<Key> = []
  private var processing: Set<Key> = []
  private var waiters: Deque<CheckedContinuation<Key?, Never>> = []
  private var delayed: [(due: ContinuousClock.Instant, key: Key)] = []
  private var delayWaiter: CheckedContinuation<Void, Never>?
  private var limiter = DefaultRateLimiter<Key>()
  private var isShuttingDown = false
  /// Adds ever made, for metrics.
  public private(set) var addCount = 0
  public private(set) var retryCount = 0

  public init() {}

  /// Queues `key` unless it is already waiting.
  public func add(_ key: Key) {
    guard !isShuttingDown else { return }
    addCount += 1
    guard dirty.insert(key).inserted else { return }
    if processing.contains(key) { return }   // `done` re-queues it
    handOut(key)
  }

  /// Gives a dirty key to a waiting worker, or queues it.
  private func handOut(_ key: Key) {
    if let waiter = waiters.popFirst() {
      dirty.remove(key)
      processing.insert(key)
      waiter.resume(returning: key)
    } else {
      queue.append(key)
    }
  }

  /// Queues `key` after `delay` (a reconcile's `requeue(after:)`).
  public func add(_ key: Key, after delay: Duration) {
    guard delay > .zero else { add(key); return }
    delayed.append((ContinuousClock.now + delay, key))
    delayWaiter?.resume()
    delayWaiter = nil
  }

  /// Queues `key` after its rate-limited backoff (a failed reconcile).
  public func addRateLimited(_ key: Key) {
    retryCount += 1
    add(key, after: limiter.when(key))
  }

  /// Resets `key`'s backoff. "Remember to call Forget!" (client-go rate_limiting_queue.go).
  public func forget(_ key: Key) { limiter.forget(key) }

  public func failures(_ key: Key) -> Int { limiter.failureCount(key) }

  /// The next key to process, waiting for one; nil once the queue is shut down.
  public func get() async -> Key? {
    if let key = queue.popFirst() {
      dirty.remove(key)
      processing.insert(key)
      return key
    }
    if isShuttingDown { return nil }
    return await withCheckedContinuation { waiters.append($0) }
  }

  /// Marks `key` processed; queues it again if it was added meanwhile.
  public func done(_ key: Key) {
    processing.remove(key)
    if dirty.contains(key) { handOut(key) }
  }

  /// Keys waiting (for informational purposes only, as client-go says of `Len`).
  public var depth: Int { queue.count }

  /// Stops handing out keys; waiting `get` calls return nil.
  public func shutDown() {
    isShuttingDown = true
    while let w = waiters.popFirst() { w.resume(returning: nil) }
    delayWaiter?.resume()
    delayWaiter = nil
  }

  private func poke() {
    delayWaiter?.resume()
    delayWaiter = nil
  }

  /// Moves delayed keys into the queue when due. Run it in the controller's task group; it returns
  /// when the queue shuts down.
  public func runDelays() async {
    while !isShuttingDown {
      let now = ContinuousClock.now
      // Earliest first, even when several fell due while this task was not running.
      let due = delayed.filter { $0.due <= now }.sorted { $0.due < $1.due }
      delayed.removeAll { $0.due <= now }
      for d in due { add(d.key) }
      let wait = delayed.map(\.due).min().map { $0 - now }
      // Sleep until the earliest key is due, or until `add(_:after:)` or `shutDown` pokes us.
      await withTaskGroup(of: Void.self) { group in
        if let wait {
          group.addTask { try? await Task.sleep(for: wait); await self.poke() }
        }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
          if isShuttingDown { c.resume() } else { delayWaiter = c }
        }
        group.cancelAll()
      }
    }
  }
}
