import Testing
@testable import ControllerRuntime

@Suite("Work queue")
struct WorkQueueTests {
  @Test("a key added twice while waiting is handed out once")
  func deduplicates() async {
    let q = WorkQueue<String>()
    await q.add("a")
    await q.add("a")
    await q.add("b")
    #expect(await q.depth == 2)
    #expect(await q.get() == "a")
    #expect(await q.get() == "b")
  }

  @Test("a key added while it is processed is not given to a second worker, and comes back after done")
  func neverTwiceAtOnce() async {
    let q = WorkQueue<String>()
    await q.add("a")
    let first = await q.get()
    await q.add("a")                 // changed again while being reconciled
    #expect(await q.depth == 0)      // not handed out while processing
    await q.done(first!)
    #expect(await q.depth == 1)
    #expect(await q.get() == "a")
  }

  @Test("a waiting worker is woken by an add; shutdown releases every waiter")
  func wakeAndShutdown() async {
    let q = WorkQueue<String>()
    async let got = q.get()
    try? await Task.sleep(for: .milliseconds(20))
    await q.add("x")
    #expect(await got == "x")
    async let none = q.get()
    try? await Task.sleep(for: .milliseconds(20))
    await q.shutDown()
    #expect(await none == nil)
  }

  @Test("delayed adds arrive after their delay, earliest first")
  func delays() async throws {
    let q = WorkQueue<String>()
    try await withThrowingDiscardingTaskGroup { group in
      group.addTask { await q.runDelays() }
      await q.add("late", after: .milliseconds(300))
      await q.add("soon", after: .milliseconds(30))
      #expect(await q.get() == "soon")
      #expect(await q.get() == "late")
      await q.shutDown()
    }
  }

  @Test("failures back off exponentially per key and forget resets them", arguments: [(0, 5), (1, 10), (2, 20), (10, 5120)])
  func backoff(failures: Int, milliseconds: Int) {
    var limiter = DefaultRateLimiter<String>()
    for _ in 0..<failures { _ = limiter.when("k") }
    // The token bucket allows a burst of 100, so the per-item delay decides here.
    #expect(limiter.when("k") == .milliseconds(milliseconds))
    limiter.forget("k")
    #expect(limiter.failureCount("k") == 0)
  }

  @Test("the per-item backoff is capped at 1000 s")
  func cap() {
    var limiter = DefaultRateLimiter<String>()
    for _ in 0..<40 { _ = limiter.when("k") }
    #expect(limiter.when("k") == .seconds(1000))
  }
}
