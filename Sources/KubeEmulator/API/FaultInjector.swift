import KubeCore
import NIOConcurrencyHelpers

/// Deterministic faults for resilience tests: a share of requests answered 429/500/503, added latency,
/// watch streams closed after N events. Seeded, so a test sees the same faults every run.
public final class FaultInjector: @unchecked Sendable {
  // Safety: all mutable state is behind `lock`.
  private let lock = NIOLock()
  private var config = Configuration()
  private var rng = SplitMix64(seed: 1)

  public struct Configuration: Sendable, Equatable {
    /// Share (0…1) of API requests answered 429 with `Retry-After`.
    public var tooManyRequestsRate = 0.0
    public var retryAfterSeconds = 1
    /// Share of API requests answered 500.
    public var internalErrorRate = 0.0
    /// Share of API requests answered 503.
    public var unavailableRate = 0.0
    /// Latency added to every API request.
    public var latency: Duration = .zero
    /// Close every watch stream after this many events (0: never).
    public var closeWatchAfterEvents = 0
    /// Close every watch stream after this long.
    public var closeWatchAfter: Duration? = nil
    public var seed: UInt64 = 1
    public init() {}
  }

  public init() {}

  public var configuration: Configuration {
    get { lock.withLock { config } }
    set { lock.withLock { config = newValue; rng = SplitMix64(seed: newValue.seed) } }
  }

  /// Decides whether this request fails; health and discovery paths are never faulted.
  func faultFor(_ request: APIRequest) -> APIError? {
    guard request.path.hasPrefix("/api/") || request.path.hasPrefix("/apis/") else { return nil }
    return lock.withLock {
      let total = config.tooManyRequestsRate + config.internalErrorRate + config.unavailableRate
      guard total > 0 else { return nil }
      let draw = rng.nextDouble()
      if draw < config.tooManyRequestsRate { return APIError.tooManyRequests(retryAfter: config.retryAfterSeconds) }
      if draw < config.tooManyRequestsRate + config.internalErrorRate { return APIError.internalError("injected fault") }
      if draw < total { return APIError.serviceUnavailable() }
      return nil
    }
  }
}

/// SplitMix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", OOPSLA 2014).
struct SplitMix64 {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
