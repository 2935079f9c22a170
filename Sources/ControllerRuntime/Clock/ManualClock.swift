#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// A clock that moves only when told to: time-driven behaviour tested without sleeping.
///
/// Like k8s.io/utils/clock/testing's `FakeClock`: `advance(by:)` moves both the monotonic and the
/// wall-clock time and wakes every sleeper whose deadline has come, earliest first. A test that
/// needs a component to be waiting before it moves time calls `waitForSleepers(_:)` first, so
/// nothing depends on how fast the machine is.
///
/// It lives in the library, not in a test target, so tests of every target (and of the
/// controllers built on this runtime) can use it, as client-go's testing clock is a package of its own.
public final class ManualClock: ControllerClock {
  private struct Sleeper {
    var deadline: ContinuousClock.Instant
    var continuation: CheckedContinuation<Void, any Error>
  }
  private struct State {
    var offset: Duration = .zero
    var sleepers: [UInt64: Sleeper] = [:]
    /// Sleeps cancelled before they were registered.
    var cancelled: Set<UInt64> = []
    var nextID: UInt64 = 0
    var sleeperWaiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
  }
  private let origin: ContinuousClock.Instant
  private let wallOrigin: Date
  private let state = Mutex(State())

  /// - Parameter wallTime: the wall-clock time it starts at (2027-01-15T08:00:00Z unless given).
  public init(wallTime: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
    origin = .now
    wallOrigin = wallTime
  }

  public var now: ContinuousClock.Instant { origin + state.withLock { $0.offset } }

  public var wallTime: Date { wallOrigin.addingTimeInterval(state.withLock { $0.offset }.seconds) }

  /// How far the clock has been moved since it was made.
  public var elapsed: Duration { state.withLock { $0.offset } }

  /// Tasks sleeping on this clock now.
  public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

  /// The earliest deadline anyone sleeps until, if anyone sleeps.
  public var nextDeadline: ContinuousClock.Instant? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

  public func sleep(until deadline: ContinuousClock.Instant) async throws {
    try Task.checkCancellation()
    let id = state.withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        enum Outcome { case wait, wake, cancel }
        let (outcome, waiters) = state.withLock { s -> (Outcome, [CheckedContinuation<Void, Never>]) in
          if s.cancelled.remove(id) != nil { return (.cancel, []) }
          if deadline <= origin + s.offset { return (.wake, []) }
          s.sleepers[id] = Sleeper(deadline: deadline, continuation: c)
          return (.wait, Self.takeSatisfiedWaiters(&s))
        }
        for w in waiters { w.resume() }
        switch outcome {
        case .wait: break
        case .wake: c.resume()
        case .cancel: c.resume(throwing: CancellationError())
        }
      }
    } onCancel: {
      let sleeper = state.withLock { s -> Sleeper? in
        if let sleeper = s.sleepers.removeValue(forKey: id) { return sleeper }
        s.cancelled.insert(id)   // not registered yet: the registration resumes it
        return nil
      }
      sleeper?.continuation.resume(throwing: CancellationError())
    }
  }

  /// Moves time forward and wakes, earliest first, every sleeper whose deadline has come.
  public func advance(by duration: Duration) {
    precondition(duration >= .zero, "a ManualClock only moves forward")
    let due = state.withLock { s -> [Sleeper] in
      s.offset += duration
      let now = origin + s.offset
      let due = s.sleepers.filter { $0.value.deadline <= now }
      for id in due.keys { s.sleepers[id] = nil }
      return due.values.sorted { $0.deadline < $1.deadline }
    }
    for sleeper in due { sleeper.continuation.resume() }
  }

  /// Moves time to the earliest deadline anyone sleeps until (nothing happens when nobody sleeps).
  /// - Returns: how far the clock moved.
  @discardableResult
  public func advanceToNextDeadline() -> Duration {
    guard let next = nextDeadline else { return .zero }
    let step = max(.zero, next - now)
    advance(by: step)
    return step
  }

  /// Returns once at least `count` tasks sleep on this clock: the point where a test may move time
  /// knowing the component under test is waiting on it.
  public func waitForSleepers(_ count: Int) async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let ready = state.withLock { s -> Bool in
        if s.sleepers.count >= count { return true }
        s.sleeperWaiters.append((count, c))
        return false
      }
      if ready { c.resume() }
    }
  }

  private static func takeSatisfiedWaiters(_ s: inout State) -> [CheckedContinuation<Void, Never>] {
    let n = s.sleepers.count
    let ready = s.sleeperWaiters.filter { $0.count <= n }.map(\.continuation)
    s.sleeperWaiters.removeAll { $0.count <= n }
    return ready
  }
}
