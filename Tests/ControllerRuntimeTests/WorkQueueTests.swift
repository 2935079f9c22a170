import Synchronization
import Testing
@testable import ControllerRuntime

/// Yields until `condition` holds: for state another task reaches without waiting on any clock.
func until(_ condition: () -> Bool) async {
  while !condition() { await Task.yield() }
}

@Suite("Work queue")
struct WorkQueueTests {
  @Test("a key added twice while waiting is handed out once")
  func deduplicates() async {
    let q = WorkQueue<String>()
    q.add("a")
    q.add("a")
    q.add("b")
    #expect(q.depth == 2)
    #expect(await q.get() == "a")
    #expect(await q.get() == "b")
  }

  @Test("a key added while it is processed is not given to a second worker, and comes back after done")
  func neverTwiceAtOnce() async {
    let q = WorkQueue<String>()
    q.add("a")
    let first = await q.get()
    q.add("a")                 // changed again while being reconciled
    #expect(q.depth == 0)      // not handed out while processing
    q.done(first!)
    #expect(q.depth == 1)
    #expect(await q.get() == "a")
  }

  @Test("a worker waiting for a key is handed the next one added")
  func wakesAWaitingWorker() async {
    let q = WorkQueue<String>()
    async let got = q.get()
    await until { q.waitingWorkers == 1 }   // the worker is parked, not handed a queued key
    q.add("x")
    #expect(await got == "x")
    #expect(q.depth == 0 && q.waitingWorkers == 0)
  }

  @Test("shutdown releases every waiting worker, and later gets return nil at once")
  func shutdownReleasesWaiters() async {
    let q = WorkQueue<String>()
    async let a = q.get()
    async let b = q.get()
    await until { q.waitingWorkers == 2 }
    q.shutDown()
    #expect(await a == nil)
    #expect(await b == nil)
    #expect(await q.get() == nil)
    q.add("late")
    #expect(q.depth == 0)
  }

  @Test("cancelling a worker's task ends its wait with nil, and the queue keeps serving others")
  func cancelledGet() async {
    let q = WorkQueue<String>()
    let waiting = Task { await q.get() }
    await until { q.waitingWorkers == 1 }
    waiting.cancel()
    #expect(await waiting.value == nil)
    #expect(q.waitingWorkers == 0)
    q.add("k")
    #expect(await q.get() == "k")   // the cancelled worker did not swallow it
  }

  @Test("a cancelled worker is handed no key, even one waiting: the key stays for the next worker")
  func cancelledWorkerTakesNothing() async {
    let q = WorkQueue<String>()
    q.add("k")
    let stopping = Task { () -> String? in
      while !Task.isCancelled { await Task.yield() }
      return await q.get()
    }
    stopping.cancel()
    #expect(await stopping.value == nil)
    #expect(q.depth == 1)
    if q.depth == 1 { #expect(await q.get() == "k") }   // the next worker gets it (not waited for when it is gone)
  }

  @Test("the queue wait reported for each key runs from its add (or the end of its delay) to a worker taking it")
  func queueWaitIsMeasuredOnTheClock() async {
    let clock = ManualClock()
    let waits = Mutex<[Duration]>([])
    let q = WorkQueue<String>(clock: clock, onQueueWait: { w in waits.withLock { $0.append(w) } })
    // Queued, then taken 3 s later.
    q.add("a")
    clock.advance(by: .seconds(3))
    #expect(await q.get() == "a")
    // Added again while being processed: it waits from that add until `done` hands it out.
    q.add("a")
    clock.advance(by: .seconds(2))
    let worker = Task { await q.get() }
    await until { q.waitingWorkers == 1 }
    q.done("a")
    #expect(await worker.value == "a")
    q.done("a")
    // Delayed by 10 s: the wait starts when the delay ends, not when it was asked for.
    await withDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      q.add("b", after: .seconds(10))
      await clock.waitForSleepers(1)
      clock.advance(by: .seconds(10))
      await until { q.depth == 1 }
      clock.advance(by: .seconds(1))
      #expect(await q.get() == "b")
      group.cancelAll()
    }
    #expect(waits.withLock { $0 } == [.seconds(3), .seconds(2), .seconds(1)])
  }

  @Test("a delayed key is not handed out a moment before its time, and is exactly at it")
  func nothingFiresEarly() async {
    let clock = ManualClock()
    let q = WorkQueue<String>(clock: clock)
    await withDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      q.add("a", after: .seconds(10))
      await clock.waitForSleepers(1)
      clock.advance(by: .milliseconds(9_999))
      #expect(q.depth == 0 && q.delayedCount == 1)
      #expect(clock.sleeperCount == 1)   // still asleep: nothing was due
      clock.advance(by: .milliseconds(1))
      #expect(await q.get() == "a")
      #expect(q.delayedCount == 0)
      group.cancelAll()
    }
  }

  @Test("requeueing one key again and again keeps one entry, at the earliest time asked for")
  func earliestWins() async {
    let clock = ManualClock()
    let q = WorkQueue<String>(clock: clock)
    let start = clock.now
    q.add("k", after: .seconds(60))
    q.add("k", after: .seconds(10))
    q.add("k", after: .seconds(30))
    #expect(q.delayedCount == 1)
    #expect(q.delayedUntil("k") == start + .seconds(10))
    await withDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      await clock.waitForSleepers(1)
      clock.advance(by: .seconds(10))
      #expect(await q.get() == "k")
      q.done("k")
      // The later requests were folded into the first: nothing else comes, however long we wait.
      clock.advance(by: .seconds(3600))
      #expect(q.delayedCount == 0 && q.depth == 0)
      group.cancelAll()
    }
  }

  @Test("a delay added while the queue sleeps on a later one wakes it: the earlier key comes first")
  func earlierDelayWakesTheLoop() async {
    let clock = ManualClock()
    let q = WorkQueue<String>(clock: clock)
    await withDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      q.add("late", after: .seconds(300))
      await clock.waitForSleepers(1)
      q.add("soon", after: .seconds(30))
      await until { clock.nextDeadline == clock.now + .seconds(30) }   // re-armed for the earlier key
      clock.advance(by: .seconds(30))
      #expect(await q.get() == "soon")
      await clock.waitForSleepers(1)
      clock.advance(by: .seconds(270))
      #expect(await q.get() == "late")
      group.cancelAll()
    }
  }

  @Test("three hundred keys with scattered delays: each is handed out once, never before its time, in time order")
  func nothingLost() async {
    let clock = ManualClock()
    let q = WorkQueue<Int>(clock: clock)
    var due: [Int: Duration] = [:]
    for key in 0..<300 {
      let delay = Duration.seconds((key * 37) % 50 + 1)   // scattered over 1...50 s, not in key order
      due[key] = delay
      q.add(key, after: delay)
      q.add(key, after: delay + .seconds(5))   // a later duplicate changes nothing
    }
    let times = Set(due.values).sorted()
    var received: [Int] = []
    await withDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      var elapsed = Duration.zero
      for t in times {
        await clock.waitForSleepers(1)
        clock.advance(by: t - elapsed)
        elapsed = t
        for _ in due.values.filter({ $0 == t }) {
          guard let key = await q.get() else { break }
          #expect(due[key] == t)   // handed out exactly when due
          received.append(key)
          q.done(key)
        }
      }
      group.cancelAll()
    }
    #expect(received.count == 300 && Set(received).count == 300)
    #expect(q.depth == 0 && q.delayedCount == 0)
  }

  @Test("a failing key waits 5, 10, 20, 40 ms on the clock, and forget starts it over")
  func rateLimitedOnTheClock() async {
    let clock = ManualClock()
    let q = WorkQueue<String>(clock: clock)
    await withDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      for expected in [5, 10, 20, 40] {
        let before = clock.now
        q.addRateLimited("k")
        #expect(q.delayedUntil("k").map { $0 - before } == .milliseconds(expected))
        await clock.waitForSleepers(1)
        clock.advance(by: .milliseconds(expected - 1))
        #expect(q.depth == 0)
        clock.advance(by: .milliseconds(1))
        #expect(await q.get() == "k")
        q.done("k")
      }
      group.cancelAll()
    }
    #expect(q.failures("k") == 4)
    q.forget("k")
    let before = clock.now
    q.addRateLimited("k")
    #expect(q.delayedUntil("k").map { $0 - before } == .milliseconds(5))
  }

  @Test("failures back off exponentially per key and forget resets them", arguments: [(0, 5), (1, 10), (2, 20), (10, 5120)])
  func backoff(failures: Int, milliseconds: Int) {
    var limiter = DefaultRateLimiter<String>()
    let now = ContinuousClock.now
    for _ in 0..<failures { _ = limiter.when("k", now: now) }
    // The token bucket allows a burst of 100, so the per-item delay decides here.
    #expect(limiter.when("k", now: now) == .milliseconds(milliseconds))
    limiter.forget("k")
    #expect(limiter.failureCount("k") == 0)
  }

  @Test("the per-item backoff is capped at 1000 s")
  func cap() {
    var limiter = DefaultRateLimiter<String>()
    let now = ContinuousClock.now
    for _ in 0..<40 { _ = limiter.when("k", now: now) }
    #expect(limiter.when("k", now: now) == .seconds(1000))
  }

  @Test("past the burst of 100, retries of many keys are spread by the 10 qps bucket")
  func tokenBucket() {
    var limiter = DefaultRateLimiter<Int>()
    let now = ContinuousClock.now
    for key in 0..<100 { #expect(limiter.when(key, now: now) == .milliseconds(5)) }
    // The 101st retry in the same instant waits for a token: 0.1 s at 10 qps.
    #expect(limiter.when(100, now: now) == .milliseconds(100))
    // One second later ten tokens are back.
    #expect(limiter.when(101, now: now + .seconds(1)) == .milliseconds(5))
  }
}
