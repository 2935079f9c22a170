/// How `podMetrics` combines one metric across the candidate's pods.
///
/// *Plain series* (counters, gauges): a pod's value is the sum of its samples of the metric that
/// carry the query's labels (a counter split by other labels adds up); `avg`, `sum`, `max`, `min`
/// combine the pods' values, and `p50`/`p90`/`p99` are nearest-rank percentiles over them (with
/// three pods, p90 is the largest).
///
/// *Summaries* (samples with a `quantile` label, such as Triton's
/// `nv_inference_request_summary_us{quantile="0.99"}`, shared/reference/jetson/triton.md): `pNN`
/// reads each pod's own `quantile="0.NN"` series and reports the largest across pods. Quantiles
/// cannot be averaged, but the fleet's true quantile of a mixture of pods lies between the smallest
/// and the largest pod quantile, so the maximum is a safe upper bound: a canary is never passed on
/// latency it does not have. `avg`/`sum`/`max`/`min` of a summary's quantiles mean nothing and are an
/// error (use the family's `_sum` or `_count` series instead).
public enum PodMetricAggregation: String, Sendable, CaseIterable {
  case avg, sum, max, min, p50, p90, p99

  /// The quantile of a `pNN` aggregation, nil for the others.
  public var quantile: Double? {
    switch self {
    case .p50: return 0.5
    case .p90: return 0.9
    case .p99: return 0.99
    default: return nil
    }
  }

  /// Combines the pods' scraped samples. Pure.
  ///
  /// - Parameters:
  ///   - pods: each pod's parsed samples, keyed by pod name.
  ///   - metric: the sample name to read.
  ///   - labels: label values a sample must carry to count.
  /// - Returns: the value, or nil when no pod exports a matching sample (missing data).
  /// - Throws: `PodMetricAggregationError` for a plain aggregation of a summary's quantiles.
  public func aggregate(_ pods: [String: [MetricSample]], metric: String, labels: [String: String]) throws(PodMetricAggregationError) -> Double? {
    var perPod: [Double] = []
    var sawSummary = false
    for (_, samples) in pods.sorted(by: { $0.key < $1.key }) {
      let matching = samples.filter { s in s.name == metric && labels.allSatisfy { s.labels[$0.key] == $0.value } }
      if matching.isEmpty { continue }
      let isSummary = matching.contains { $0.labels["quantile"] != nil }
      if isSummary {
        sawSummary = true
        guard let q = quantile else {
          throw PodMetricAggregationError(message: "\(metric) is a summary (its samples have a quantile label): aggregate it with p50, p90 or p99, or read \(metric)_sum or \(metric)_count")
        }
        let atQuantile = matching.filter { $0.labels["quantile"].flatMap { PrometheusTextParser.parseValue($0) } == q }
        if let podValue = atQuantile.map(\.value).max() { perPod.append(podValue) }
      } else {
        perPod.append(matching.reduce(0) { $0 + $1.value })
      }
    }
    guard !perPod.isEmpty else { return nil }
    switch self {
    case .avg: return perPod.reduce(0, +) / Double(perPod.count)
    case .sum: return perPod.reduce(0, +)
    case .max: return perPod.max()
    case .min: return perPod.min()
    case .p50, .p90, .p99:
      if sawSummary { return perPod.max() }
      return Self.nearestRank(perPod, quantile ?? 0.5)
    }
  }

  /// The nearest-rank percentile: the smallest value with at least `q` of the values at or below it.
  static func nearestRank(_ values: [Double], _ q: Double) -> Double {
    let sorted = values.sorted()
    let rank = Swift.max(1, Int((q * Double(sorted.count)).rounded(.up)))
    return sorted[Swift.min(rank, sorted.count) - 1]
  }
}

/// An aggregation that cannot be computed from the samples.
public struct PodMetricAggregationError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
