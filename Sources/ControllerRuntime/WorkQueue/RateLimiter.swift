
/// How long to wait before retrying a key, as client-go's `DefaultControllerRateLimiter`: the larger
/// of a per-item exponential backoff (5 ms doubling to 1000 s) and an overall token bucket
/// (10 qps, burst 100) (k8s.io/client-go/util/workqueue/default_rate_limiters.go).
public struct DefaultRateLimiter<Key: Hashable & Sendable>: Sendable {
  public var baseDelay: Duration = .milliseconds(5)
  public var maxDelay: Duration = .seconds(1000)
  public var qps: Double = 10
  public var burst: Double = 100
  private var failures: [Key: Int] = [:]
  private var tokens: Double
  /// When the bucket was last drawn from; it starts full.
  private var last: ContinuousClock.Instant?

  public init() {
    tokens = 100
  }

  /// The delay for the next retry of `key`, counting this failure.
  public mutating func when(_ key: Key, now: ContinuousClock.Instant) -> Duration {
    let n = failures[key, default: 0]
    failures[key] = n + 1
    let exponent = min(n, 62)
    let base = Double(baseDelay.components.attoseconds) / 1e18 + Double(baseDelay.components.seconds)
    let perItem = min(base * Double(sign: .plus, exponent: exponent, significand: 1), Double(maxDelay.components.seconds))
    // Token bucket: reserve a token; a negative balance is the wait.
    let elapsed = last.map { max(.zero, now - $0) } ?? .zero
    tokens = min(burst, tokens + elapsed.seconds * qps)
    last = now
    tokens -= 1
    let bucket = tokens >= 0 ? 0 : -tokens / qps
    return .milliseconds(Int((max(perItem, bucket) * 1000).rounded(.up)))
  }

  /// Forgets the failures of `key` (call after a successful reconcile).
  public mutating func forget(_ key: Key) { failures[key] = nil }

  public func failureCount(_ key: Key) -> Int { failures[key, default: 0] }
}
