import KubeCore
import NIOConcurrencyHelpers

/// Deterministic faults for resilience tests: a share of requests answered 429/500/503, added latency,
/// watch streams closed after N events. Seeded, so a test sees the same faults every run.
public final class FaultInjector: @unchecked Sendable {
  // Safety: all mutable state is behind `lock`.
  private let lock = NIOLock()
  private var config = Configuration()
  private var rng = SplitMix64(seed: 1)
  private var served = 0

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
    /// Requests refused every time, whatever the rates (`FaultInjector+Refusals.swift`).
    public var refusals: [RequestRefusal] = []
    public var seed: UInt64 = 1
    public init() {}
  }

  public init() {}

  public var configuration: Configuration {
    get { lock.withLock { config } }
    set { lock.withLock { config = newValue; rng = SplitMix64(seed: newValue.seed) } }
  }

  /// Faults answered so far (429, 500 and 503 together): what a test of a client's retries reads
  /// to know the faults it asked for were really served.
  public var servedFaults: Int { lock.withLock { served } }

  /// Decides whether this request fails; health and discovery paths are never faulted.
  func faultFor(_ request: APIRequest) -> APIError? {
    guard request.path.hasPrefix("/api/") || request.path.hasPrefix("/apis/") else { return nil }
    return lock.withLock {
      if let refusal = config.refusals.first(where: { $0.matches(request) }) {
        served += 1
        return refusal.error
      }
      let total = config.tooManyRequestsRate + config.internalErrorRate + config.unavailableRate
      guard total > 0 else { return nil }
      let draw = rng.nextDouble()
      let fault: APIError?
      if draw < config.tooManyRequestsRate {
        fault = APIError.tooManyRequests(retryAfter: config.retryAfterSeconds)
      } else if draw < config.tooManyRequestsRate + config.internalErrorRate {
        fault = APIError.internalError("injected fault")
      } else if draw < total {
        fault = APIError.serviceUnavailable()
      } else {
        fault = nil
      }
      if fault != nil { served += 1 }
      return fault
    }
  }
}

extension FaultInjector.Configuration {
  /// Reads the control endpoint's JSON: `{"tooManyRequestsRate": 0.2, "retryAfterSeconds": 1,
  /// "internalErrorRate": 0, "unavailableRate": 0, "latencyMilliseconds": 0, "closeWatchAfterEvents": 0,
  /// "closeWatchAfterSeconds": null, "seed": 1, "refuse": [{"verb": "PATCH", "resource": "driftpolicies",
  /// "subresource": "status", "code": 500}]}`; absent keys keep their defaults.
  public init(json: JSONValue) throws(APIError) {
    self.init()
    func rate(_ key: String) throws(APIError) -> Double {
      guard let v = json[key] else { return 0 }
      guard let d = v.doubleValue, d >= 0, d <= 1 else { throw APIError.badRequest("\(key) must be a number between 0 and 1") }
      return d
    }
    tooManyRequestsRate = try rate("tooManyRequestsRate")
    internalErrorRate = try rate("internalErrorRate")
    unavailableRate = try rate("unavailableRate")
    guard tooManyRequestsRate + internalErrorRate + unavailableRate <= 1 else { throw APIError.badRequest("fault rates must add up to at most 1") }
    retryAfterSeconds = json["retryAfterSeconds"]?.intValue ?? 1
    if let ms = json["latencyMilliseconds"]?.intValue { latency = .milliseconds(max(0, ms)) }
    closeWatchAfterEvents = max(0, json["closeWatchAfterEvents"]?.intValue ?? 0)
    if let s = json["closeWatchAfterSeconds"]?.doubleValue, s > 0 { closeWatchAfter = .milliseconds(Int(s * 1000)) }
    seed = UInt64(json["seed"]?.intValue ?? 1)
    for refusal in json["refuse"]?.arrayValue ?? [] { refusals.append(try RequestRefusal(json: refusal)) }
  }

  public var json: JSONValue {
    var o: JSONObject = ["tooManyRequestsRate": JSONValue(tooManyRequestsRate), "retryAfterSeconds": JSONValue(retryAfterSeconds),
                         "internalErrorRate": JSONValue(internalErrorRate), "unavailableRate": JSONValue(unavailableRate),
                         "latencyMilliseconds": JSONValue(Int(latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000)),
                         "closeWatchAfterEvents": JSONValue(closeWatchAfterEvents), "seed": JSONValue(Int(seed))]
    if !refusals.isEmpty { o["refuse"] = .array(refusals.map(\.json)) }
    if let c = closeWatchAfter { o["closeWatchAfterSeconds"] = JSONValue(Double(c.components.seconds) + Double(c.components.attoseconds) / 1e18) }
    return .object(o)
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
