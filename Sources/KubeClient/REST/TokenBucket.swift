import Synchronization

/// A token bucket: at most `burst` requests at once, refilled at `qps` per second. client-go's
/// defaults are QPS 5 and burst 10 (k8s.io/client-go/rest/config.go `DefaultQPS`, `DefaultBurst`).
public final class TokenBucket: Sendable {
  private struct State { var tokens: Double; var last: ContinuousClock.Instant }
  private let state: Mutex<State>
  public let qps: Double
  public let burst: Int

  public init(qps: Double, burst: Int) {
    precondition(qps > 0 && burst > 0, "TokenBucket needs a positive rate and burst")
    self.qps = qps
    self.burst = burst
    state = Mutex(State(tokens: Double(burst), last: .now))
  }

  /// Takes a token, waiting for one if the bucket is empty. Waiting is cancellable.
  public func acquire() async throws {
    let wait: Double = state.withLock { s in
      let now = ContinuousClock.now
      let elapsed = now - s.last
      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
      s.tokens = min(Double(burst), s.tokens + seconds * qps)
      s.last = now
      s.tokens -= 1   // reserve now, possibly going negative: later callers queue behind
      return s.tokens >= 0 ? 0 : -s.tokens / qps
    }
    if wait > 0 { try await Task.sleep(for: .milliseconds(Int((wait * 1000).rounded(.up)))) }
  }
}
