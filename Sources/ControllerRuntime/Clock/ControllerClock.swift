#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeCore

/// Where the controller runtime reads the time and waits for it.
///
/// Everything time-driven goes through one: the work queue's delays and backoffs, `requeue(after:)`,
/// the reflector's backoff, leader election, the event recorder's series and the times written into
/// conditions. Production code uses `SystemClock`; tests inject a `ManualClock` and move it, so a
/// 5-minute pause or a 6-hour cooldown is tested without sleeping (client-go injects
/// `clock.WithTicker` into its queues the same way: k8s.io/client-go/util/workqueue/delaying_queue.go,
/// k8s.io/utils/clock/testing).
public protocol ControllerClock: Sendable {
  /// The monotonic now: what deadlines, delays and backoffs are measured on.
  var now: ContinuousClock.Instant { get }
  /// The wall-clock now, for times written to the API (conditions, Leases, Events).
  var wallTime: Date { get }
  /// Suspends until `deadline`.
  ///
  /// - Throws: `CancellationError` when the task is cancelled first.
  func sleep(until deadline: ContinuousClock.Instant) async throws
}

extension ControllerClock {
  /// Suspends for `duration`; throws `CancellationError` when the task is cancelled first.
  public func sleep(for duration: Duration) async throws { try await sleep(until: now + duration) }

  /// The wall-clock now as `metav1.Time` (whole seconds), what conditions carry.
  public var timestamp: Timestamp { Timestamp(secondsSinceEpoch: Int64(wallTime.timeIntervalSince1970.rounded(.down))) }

  /// The wall-clock now as `metav1.MicroTime` text, what Leases and Events carry.
  public var microTime: String {
    let t = wallTime.timeIntervalSince1970
    return Timestamp(secondsSinceEpoch: Int64(t.rounded(.down)), nanoseconds: Int32((t - t.rounded(.down)) * 1e9)).rfc3339Micro
  }
}

/// The process's clocks: `ContinuousClock` and the system's wall clock.
public struct SystemClock: ControllerClock {
  public init() {}
  public var now: ContinuousClock.Instant { .now }
  public var wallTime: Date { Date() }
  public func sleep(until deadline: ContinuousClock.Instant) async throws {
    try await Task.sleep(until: deadline, clock: .continuous)
  }
}

extension Duration {
  /// The duration in seconds, as a Double.
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
