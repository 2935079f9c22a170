import Testing
@testable import EdgeML

/// `podMetrics`: one metric combined across pods (docs/analysis.md, "podMetrics").
struct PodMetricAggregationTests {
  static func pod(_ samples: (String, [String: String], Double)...) -> [MetricSample] {
    samples.map { MetricSample(name: $0.0, labels: $0.1, value: $0.2) }
  }

  static let pods: [String: [MetricSample]] = [
    "a": pod(("nv_inference_queue_us", ["model": "detector", "version": "4"], 10),
             ("nv_inference_queue_us", ["model": "other", "version": "1"], 1000),
             ("nv_inference_request_summary_us", ["model": "detector", "version": "4", "quantile": "0.5"], 8000),
             ("nv_inference_request_summary_us", ["model": "detector", "version": "4", "quantile": "0.99"], 30000)),
    "b": pod(("nv_inference_queue_us", ["model": "detector", "version": "4"], 20),
             ("nv_inference_request_summary_us", ["model": "detector", "version": "4", "quantile": "0.5"], 9000),
             ("nv_inference_request_summary_us", ["model": "detector", "version": "4", "quantile": "0.99"], 45000)),
    "c": pod(("nv_inference_queue_us", ["model": "detector", "version": "4", "gpu": "0"], 25),
             ("nv_inference_queue_us", ["model": "detector", "version": "4", "gpu": "1"], 5)),
    "d": pod(("unrelated", [:], 1)),
  ]

  @Test("Plain series: a pod's matching series add up, then pods combine by avg, sum, max, min or nearest-rank percentile",
        arguments: zip([PodMetricAggregation.avg, .sum, .max, .min, .p50, .p90, .p99], [20.0, 60, 30, 10, 20, 30, 30]))
  func plain(_ aggregation: PodMetricAggregation, _ expected: Double) throws {
    // Per pod: a = 10 (the "other" model filtered out), b = 20, c = 25 + 5 = 30; d exports nothing.
    let value = try aggregation.aggregate(Self.pods, metric: "nv_inference_queue_us", labels: ["model": "detector", "version": "4"])
    #expect(value == expected)
  }

  @Test("A summary's pNN reads each pod's own quantile series and reports the largest across pods")
  func summaryQuantiles() throws {
    let labels = ["model": "detector"]
    #expect(try PodMetricAggregation.p99.aggregate(Self.pods, metric: "nv_inference_request_summary_us", labels: labels) == 45000)
    #expect(try PodMetricAggregation.p50.aggregate(Self.pods, metric: "nv_inference_request_summary_us", labels: labels) == 9000)
    // Triton does not export a 0.9 quantile here: no data, not a made-up value.
    #expect(try PodMetricAggregation.p90.aggregate(Self.pods, metric: "nv_inference_request_summary_us", labels: labels) == nil)
  }

  @Test("Averaging a summary's quantiles is refused with what to use instead")
  func summaryAverage() {
    #expect(throws: PodMetricAggregationError.self) {
      _ = try PodMetricAggregation.avg.aggregate(Self.pods, metric: "nv_inference_request_summary_us", labels: [:])
    }
  }

  @Test("No pod exporting the metric with the labels is missing data, not zero")
  func noData() throws {
    #expect(try PodMetricAggregation.sum.aggregate(Self.pods, metric: "nv_inference_queue_us", labels: ["version": "5"]) == nil)
    #expect(try PodMetricAggregation.sum.aggregate([:], metric: "x", labels: [:]) == nil)
  }
}
