import Foundation

/// One model version's request statistics in a simulated Triton, as its `nv_inference_*` series
/// report them.
///
/// Successful requests add to the success count, the inference and execution counts (batch size 1,
/// no response cache) and the duration counters; failed ones only to the failure count. The
/// summaries' `_count` and `_sum` therefore equal `nv_inference_request_success` and the duration
/// counters, as Triton's metrics.md says they "should generally match".
struct TritonCounters: Sendable {
  struct Sample: Sendable {
    var at: Double
    var requestMicros: Double
    var queueMicros: Double
  }

  var success = 0
  var failure = 0
  var requestMicros = 0.0
  var queueMicros = 0.0
  /// Latencies of the successful requests of the summary window (simulated seconds), oldest first.
  private(set) var window: [Sample] = []
  private var windowStart = 0

  /// More than this many samples in the window and the oldest are dropped (bounded memory).
  static let maximumSamples = 100_000

  mutating func recordSuccess(at time: Double, requestMicros: Double, queueMicros: Double, keepsSamples: Bool) {
    success += 1
    self.requestMicros += requestMicros
    self.queueMicros += queueMicros
    guard keepsSamples else { return }
    window.append(Sample(at: time, requestMicros: requestMicros, queueMicros: queueMicros))
    if window.count - windowStart > Self.maximumSamples { windowStart += 1 }
    compact()
  }

  mutating func recordFailure() { failure += 1 }

  /// Drops the samples older than `seconds` before `now`.
  mutating func expire(before cutoff: Double) {
    while windowStart < window.count, window[windowStart].at < cutoff { windowStart += 1 }
    compact()
  }

  private mutating func compact() {
    if windowStart > 4096, windowStart * 2 > window.count { window.removeFirst(windowStart); windowStart = 0 }
  }

  /// The window's `q`-quantiles of a latency, by nearest rank (the smallest sample with at least a
  /// share `q` of samples at or below it); NaN for an empty window, as prometheus-cpp reports.
  func quantiles(_ qs: [Double], of latency: KeyPath<Sample, Double>) -> [Double] {
    let sorted = window[windowStart...].map { $0[keyPath: latency] }.sorted()
    guard !sorted.isEmpty else { return qs.map { _ in .nan } }
    return qs.map { q in sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))] }
  }
}
