import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Testing
@testable import ControllerRuntime

@Suite("Leader election on a manual clock")
struct LeaderElectorTests {
  func elector(_ c: KubeClient, _ identity: String, _ clock: ManualClock) -> LeaderElector {
    var e = LeaderElector(client: c, namespace: "default", name: "leader", identity: identity, logger: Logger(label: "test"))
    e.clock = clock
    return e
  }

  /// Two candidates, replica-a and replica-b, on one emulator and one manual clock.
  func withTwoCandidates(_ body: (KubeClient, ManualClock, LeaderElector, LeaderElector) async throws -> Void) async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let clock = ManualClock()
    try await body(c, clock, elector(c, "replica-a", clock), elector(c, "replica-b", clock))
  }

  func lease(_ c: KubeClient) async throws -> JSONValue { try await c.get(.leases, namespace: "default", name: "leader") }

  @Test("a live lease is never taken; once it expires the next candidate takes it and the transition is counted")
  func waitsForExpiry() async throws {
    try await withTwoCandidates { c, clock, a, b in
      #expect(try await a.tryAcquireOrRenew())
      #expect(try await lease(c)[path: ["spec", "leaseTransitions"]] == 0)
      for _ in 0..<7 {                                   // 14 s of a lease of 15: b is refused every time
        clock.advance(by: .seconds(2))
        #expect(try await b.tryAcquireOrRenew() == false)
    }
    #expect(try await lease(c)[path: ["spec", "holderIdentity"]] == "replica-a")
    #expect(try await a.tryAcquireOrRenew())          // a renews at 14 s…
    clock.advance(by: .seconds(14))                    // …and then stops (killed, no release)
    #expect(try await b.tryAcquireOrRenew() == false)  // a second before the lease runs out
    clock.advance(by: .seconds(1))                     // renewTime + leaseDuration is no longer after now
    #expect(try await b.tryAcquireOrRenew())
    let taken = try await lease(c)
    #expect(taken[path: ["spec", "holderIdentity"]] == "replica-b")
    #expect(taken[path: ["spec", "leaseTransitions"]] == 1)
    #expect(taken[path: ["spec", "acquireTime"]]?.stringValue == clock.microTime)
    }
  }

  @Test("a released lease is taken at once by the next candidate, and that counts as a transition (client-go)")
  func releasedLeaseCountsATransition() async throws {
    try await withTwoCandidates { c, _, a, b in
      #expect(try await a.tryAcquireOrRenew())
      await a.release()
      #expect(try await lease(c)[path: ["spec", "holderIdentity"]] == nil)   // released: no holder
      #expect(try await b.tryAcquireOrRenew())          // no waiting for the lease to run out
      let taken = try await lease(c)
      #expect(taken[path: ["spec", "holderIdentity"]] == "replica-b")
      #expect(taken[path: ["spec", "leaseTransitions"]] == 1)
    }
  }

  @Test("a leader whose renewals fail steps down at the first failed renewal past the renew deadline")
  func stepsDownAfterTheRenewDeadline() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    var retry = RetryPolicy()
    retry.maxAttempts = 1
    let c = try client(for: emulator, retry: retry)
    defer { c.shutdown() }
    let clock = ManualClock()
    let a = elector(c, "replica-a", clock)   // 15 s lease, 10 s renew deadline, 2 s retry period
    let leading = Signal(), ended = Signal()
    let run = Task {
      try await a.run(whileLeading: {
        leading.fire()
        try await Signal().wait()   // works until leadership is taken away
      }, until: { try? await ended.wait() })
    }
    try await leading.wait()
    var faults = FaultInjector.Configuration()
    faults.internalErrorRate = 1
    emulator.api.faults.configuration = faults
    // Renewals every 2 s fail; leadership holds through the 10 s deadline and ends at the first
    // failed renewal past it.
    for _ in 0..<6 {
      await clock.waitForSleepers(1)
      clock.advance(by: .seconds(2))
    }
    try await run.value
    #expect(clock.elapsed == .seconds(12))
    #expect(clock.sleeperCount == 0)                  // stepped down: no renewal loop left
    #expect(emulator.api.faults.servedFaults == 7)    // six renewals and the release, all refused
    emulator.api.faults.configuration = FaultInjector.Configuration()
    // The release was refused too, so the lease stays with a until it expires.
    #expect(try await lease(c)[path: ["spec", "holderIdentity"]] == "replica-a")
    ended.fire()
  }
}
