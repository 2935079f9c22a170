import DequeModule
import HeapModule
import Synchronization

/// A rate-limited, delaying work queue with client-go's semantics (k8s.io/client-go/util/workqueue):
/// a key waiting is never queued twice, a key being processed is never handed to a second worker,
/// and a key added while processing is queued again when `done` is called (`queue.go`).
///
/// Delayed keys wait in a heap with one entry per key, and when a key is added again with a delay
/// the earliest time wins (`delaying_queue.go`: `waitForPriorityQueue` and its `knownEntries`).
/// Time comes from an injected `ControllerClock`, so delays and backoffs are tested on a
/// `ManualClock`, never by sleeping.
///
/// *Guarantees*: a delayed key is never handed out before its time, and never lost: it is handed
/// out once its time has come (immediately, if it is added without a delay meanwhile).
/// Cancelling a task waiting in `get()` makes that call return nil, and a cancelled task's `get()`
/// returns nil even while keys wait; `runDelays()` returns when its task is cancelled or the queue
/// shuts down.
public final class WorkQueue<Key: Hashable & Sendable>: Sendable {
  private struct Delayed: Comparable {
    var due: ContinuousClock.Instant
    var sequence: UInt64
    var key: Key
    static func < (a: Delayed, b: Delayed) -> Bool { a.due != b.due ? a.due < b.due : a.sequence < b.sequence }
    static func == (a: Delayed, b: Delayed) -> Bool { a.due == b.due && a.sequence == b.sequence }
  }

  private struct State {
    var queue: Deque<Key> = []
    var dirty: Set<Key> = []
    var processing: Set<Key> = []
    var waiters: Deque<(id: UInt64, continuation: CheckedContinuation<Key?, Never>)> = []
    /// The one live delayed entry of each key (its sequence number); heap entries not named here are stale.
    var delayedEntry: [Key: (due: ContinuousClock.Instant, sequence: UInt64)] = [:]
    var delayed = Heap<Delayed>()
    var nextSequence: UInt64 = 0
    /// The delay loop waiting for something to change, and whether it was poked while not waiting.
    var delayWaker: CheckedContinuation<Void, Never>?
    var poked = false
    var limiter = DefaultRateLimiter<Key>()
    var isShuttingDown = false
    var addCount = 0
    var retryCount = 0
    /// When each key waiting in `queue` (or dirty while processing) was added: its queue wait ends
    /// when a worker takes it (client-go's `workqueue_queue_duration_seconds`).
    var addedAt: [Key: ContinuousClock.Instant] = [:]
  }

  /// A worker to resume with a key, once the lock is released.
  private typealias Handout = (continuation: CheckedContinuation<Key?, Never>, key: Key)

  private let state = Mutex(State())
  /// The clock delays and backoffs are measured on.
  public let clock: any ControllerClock
  /// Told how long each key waited between being added (or its delay ending) and a worker taking it.
  private let onQueueWait: (@Sendable (Duration) -> Void)?

  public init(clock: any ControllerClock = SystemClock(), onQueueWait: (@Sendable (Duration) -> Void)? = nil) {
    self.clock = clock
    self.onQueueWait = onQueueWait
  }

  /// Queues `key` unless it is already waiting.
  public func add(_ key: Key) {
    let now = clock.now
    let (handout, waited) = state.withLock { Self.add(key, at: now, to: &$0) }
    report(waited)
    handout.map { $0.continuation.resume(returning: $0.key) }
  }

  private static func add(_ key: Key, at now: ContinuousClock.Instant, to s: inout State) -> (Handout?, Duration?) {
    guard !s.isShuttingDown else { return (nil, nil) }
    s.addCount += 1
    guard s.dirty.insert(key).inserted else { return (nil, nil) }
    s.addedAt[key] = now
    if s.processing.contains(key) { return (nil, nil) }   // `done` queues it again
    return handOut(key, at: now, &s)
  }

  /// Gives a dirty key to a waiting worker (returned, to resume outside the lock, with how long the
  /// key waited), or queues it.
  private static func handOut(_ key: Key, at now: ContinuousClock.Instant, _ s: inout State) -> (Handout?, Duration?) {
    if let waiter = s.waiters.popFirst() {
      s.dirty.remove(key)
      s.processing.insert(key)
      return ((waiter.continuation, key), s.addedAt.removeValue(forKey: key).map { now - $0 })
    }
    s.queue.append(key)
    return (nil, nil)
  }

  private func report(_ waited: Duration?) {
    if let waited, let onQueueWait { onQueueWait(waited) }
  }

  /// Queues `key` once `delay` has passed (a reconcile's `requeue(after:)`). If the key already
  /// waits for a later time it now waits for this one; if it waits for an earlier time, that stands.
  public func add(_ key: Key, after delay: Duration) {
    guard delay > .zero else { add(key); return }
    let due = clock.now + delay
    let waker = state.withLock { s -> CheckedContinuation<Void, Never>? in
      guard !s.isShuttingDown else { return nil }
      if let existing = s.delayedEntry[key], existing.due <= due { return nil }
      s.nextSequence += 1
      s.delayedEntry[key] = (due, s.nextSequence)
      s.delayed.insert(Delayed(due: due, sequence: s.nextSequence, key: key))
      // Stale entries are skipped when they surface; rebuild if they pile up (a key requeued
      // earlier and earlier, many times, before its time comes).
      if s.delayed.count > 64 && s.delayed.count > 2 * s.delayedEntry.count {
        s.delayed = Heap(s.delayedEntry.map { Delayed(due: $0.value.due, sequence: $0.value.sequence, key: $0.key) })
      }
      return Self.poke(&s)
    }
    waker?.resume()
  }

  /// Queues `key` after its rate-limited backoff (a failed reconcile).
  public func addRateLimited(_ key: Key) {
    let delay = state.withLock { s -> Duration in
      s.retryCount += 1
      return s.limiter.when(key, now: clock.now)
    }
    add(key, after: delay)
  }

  /// Resets `key`'s backoff. "Remember to call Forget!" (client-go rate_limiting_queue.go).
  public func forget(_ key: Key) { state.withLock { $0.limiter.forget(key) } }

  /// Failures counted for `key` since it was last forgotten.
  public func failures(_ key: Key) -> Int { state.withLock { $0.limiter.failureCount(key) } }

  /// The next key to process, waiting for one; nil once the queue is shut down or the calling task
  /// is cancelled.
  ///
  /// A cancelled task gets nil even while keys wait: a worker stopping mid-reconcile puts its key
  /// back (`Controller.process`, for a successor), and handing that key straight back to the same
  /// stopping worker would spin — every call the worker makes now fails at once with
  /// `CancellationError`, puts the key back again, and the worker never gets to return.
  /// (controller-runtime reaches the same end differently: it shuts its queue down as soon as the
  /// context is done, so a request re-added by a cancelled reconcile is dropped —
  /// pkg/internal/controller/controller.go, `Start`.)
  public func get() async -> Key? {
    let id = state.withLock { s -> UInt64 in s.nextSequence += 1; return s.nextSequence }
    return await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Key?, Never>) in
        let now = clock.now
        let (answer, waited) = state.withLock { s -> (Key??, Duration?) in
          if Task.isCancelled { return (.some(nil), nil) }
          if let key = s.queue.popFirst() {
            s.dirty.remove(key)
            s.processing.insert(key)
            return (.some(key), s.addedAt.removeValue(forKey: key).map { now - $0 })
          }
          if s.isShuttingDown { return (.some(nil), nil) }
          s.waiters.append((id, c))
          return (.none, nil)
        }
        report(waited)
        if let answer { c.resume(returning: answer) }
      }
    } onCancel: {
      let waiter = state.withLock { s -> CheckedContinuation<Key?, Never>? in
        guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return s.waiters.remove(at: i).continuation
      }
      waiter?.resume(returning: nil)
    }
  }

  /// Marks `key` processed; queues it again if it was added meanwhile.
  public func done(_ key: Key) {
    let now = clock.now
    let (handout, waited) = state.withLock { s -> (Handout?, Duration?) in
      s.processing.remove(key)
      return s.dirty.contains(key) ? Self.handOut(key, at: now, &s) : (nil, nil)
    }
    report(waited)
    handout.map { $0.continuation.resume(returning: $0.key) }
  }

  /// Workers waiting in `get()` now (for tests and metrics).
  public var waitingWorkers: Int { state.withLock { $0.waiters.count } }

  /// Keys ready to be handed out (for informational purposes only, as client-go says of `Len`).
  public var depth: Int { state.withLock { $0.queue.count } }

  /// Keys waiting for their delay.
  public var delayedCount: Int { state.withLock { $0.delayedEntry.count } }

  /// When `key` is due, if it waits for a delay.
  public func delayedUntil(_ key: Key) -> ContinuousClock.Instant? { state.withLock { $0.delayedEntry[key]?.due } }

  /// Adds ever made, and rate-limited retries ever made (metrics).
  public var addCount: Int { state.withLock { $0.addCount } }
  public var retryCount: Int { state.withLock { $0.retryCount } }

  /// Stops handing out keys: waiting `get` calls return nil, and `runDelays` returns.
  public func shutDown() {
    let (waiters, waker) = state.withLock { s -> ([CheckedContinuation<Key?, Never>], CheckedContinuation<Void, Never>?) in
      s.isShuttingDown = true
      let waiters = s.waiters.map(\.continuation)
      s.waiters.removeAll()
      return (waiters, Self.poke(&s))
    }
    for w in waiters { w.resume(returning: nil) }
    waker?.resume()
  }

  public var isShuttingDown: Bool { state.withLock { $0.isShuttingDown } }

  /// Wakes the delay loop (returned, to resume outside the lock), or notes that it must look again.
  private static func poke(_ s: inout State) -> CheckedContinuation<Void, Never>? {
    if let waker = s.delayWaker {
      s.delayWaker = nil
      return waker
    }
    s.poked = true
    return nil
  }

  /// Moves delayed keys into the queue when their time comes. Run it beside the workers (the
  /// controller does); it returns when the queue shuts down or its task is cancelled.
  public func runDelays() async {
    while !Task.isCancelled {
      let step = takeDue()
      for w in step.waits { report(w) }
      for h in step.handouts { h.continuation.resume(returning: h.key) }
      if step.stop { return }
      await sleep(until: step.next)
    }
  }

  private struct DelayStep {
    var handouts: [Handout] = []
    var waits: [Duration] = []
    var next: ContinuousClock.Instant?
    var stop = false
  }

  /// Queues every delayed key that is due, earliest first (even when several fell due while the
  /// loop was not running), and says when the next one is.
  private func takeDue() -> DelayStep {
    let now = clock.now
    return state.withLock { s in
      var step = DelayStep()
      s.poked = false
      if s.isShuttingDown {
        step.stop = true
        return step
      }
      while let top = s.delayed.min, top.due <= now {
        s.delayed.removeMin()
        guard let live = s.delayedEntry[top.key], live.sequence == top.sequence else { continue }
        s.delayedEntry[top.key] = nil
        let (handout, waited) = Self.add(top.key, at: now, to: &s)
        if let handout { step.handouts.append(handout) }
        if let waited { step.waits.append(waited) }
      }
      while let top = s.delayed.min, s.delayedEntry[top.key]?.sequence != top.sequence { s.delayed.removeMin() }
      step.next = s.delayed.min?.due
      return step
    }
  }

  /// Sleeps until `next` (forever when nil), or until an earlier delay or shutdown pokes the loop.
  private func sleep(until next: ContinuousClock.Instant?) async {
    let clock = self.clock
    await withTaskGroup(of: Void.self) { group in
      if let next { group.addTask { try? await clock.sleep(until: next) } }
      group.addTask { await self.waitForPoke() }
      await group.next()
      group.cancelAll()
    }
  }

  private func waitForPoke() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let resumeNow = state.withLock { s -> Bool in
          if s.poked || s.isShuttingDown || Task.isCancelled { s.poked = false; return true }
          s.delayWaker = c
          return false
        }
        if resumeNow { c.resume() }
      }
    } onCancel: {
      let waker = state.withLock { s -> CheckedContinuation<Void, Never>? in
        defer { s.delayWaker = nil }
        return s.delayWaker
      }
      waker?.resume()
    }
  }
}
