import Foundation
import Testing
@testable import DriftStatistics

/// Histogram summaries (a numerical feature read from Prometheus' buckets): counting a sketch in
/// them, the tests on bins, and the report format.
@Suite struct BinnedSummaryTests {
  @Test("A sketch is counted in Prometheus' buckets: a value equal to a bound belongs to that bound's bucket (le)")
  func sketchInBuckets() throws {
    var sketch = KLLSketch()
    try sketch.insert(contentsOf: [0.1, 0.5, 0.5, 0.7, 1.0, 3.0])
    #expect(try FeatureSummary.numerical(sketch).binCounts(edges: [0.5, 1.0]) == [3, 2, 1])
    let histogram = try FixedBinHistogram(edges: [0.5, 1.0], counts: [3, 2, 1])
    #expect(try FeatureSummary.binned(histogram).binCounts(edges: [0.5, 1.0]) == [3, 2, 1])
    #expect(throws: DriftStatisticsError.self) { try FeatureSummary.binned(histogram).binCounts(edges: [0.5]) }
    #expect(throws: DriftStatisticsError.self) { try FeatureSummary.categorical(CategoricalCounts()).binCounts(edges: [0.5]) }
  }

  @Test("KS on buckets never exceeds KS on the values, and finds a shift the buckets can see")
  func ksOnBuckets() throws {
    var stream = TestStream(state: 18)
    let edges = (1...19).map { Double($0) / 10 - 1 }   // -0.9 … 0.9
    for shift in [0.0, 0.6] {
      let a = (0..<300).map { _ in stream.normal() }, b = (0..<300).map { _ in stream.normal(mean: shift) }
      var sa = KLLSketch(), sb = KLLSketch()
      try sa.insert(contentsOf: a)
      try sb.insert(contentsOf: b)
      let raw = try kolmogorovSmirnovTwoSample(reference: a, current: b)
      let binnedB = FeatureSummary.binned(try FixedBinHistogram(edges: edges, counts: try FeatureSummary.numerical(sb).binCounts(edges: edges)))
      let binned = try FeatureSummary.numerical(sa).driftTest(.kolmogorovSmirnov, current: binnedB)
      #expect(binned.statistic <= raw.statistic + 1e-12)
      if shift > 0 { #expect(try #require(binned.pValue) < 0.01) } else { #expect(try #require(binned.pValue) > 0.05) }
    }
  }

  @Test("Counts tests run on buckets as on categories; Wasserstein puts a bucket's count at its midpoint")
  func countsAndDistances() throws {
    let reference = FeatureSummary.binned(try FixedBinHistogram(edges: [1, 2, 3], counts: [0, 100, 0, 0]))
    let current = FeatureSummary.binned(try FixedBinHistogram(edges: [1, 2, 3], counts: [0, 0, 100, 0]))
    // All of the reference at 1.5, all of the current at 2.5: W1 = 1, σ_ref = 0 (floored at 0.001).
    let w = try reference.driftTest(.wasserstein, current: current)
    #expect(abs(w.statistic - 1 / 0.001) < 1e-6)
    #expect(try reference.driftTest(.chiSquared, current: current).pValue ?? 1 < 1e-10)
    #expect(try reference.driftTest(.jensenShannon, current: reference).statistic == 0)
    #expect(throws: DriftStatisticsError.self) { try reference.driftTest(.twoProportion, current: current) }   // 4 buckets, not 2
  }

  @Test("A binned summary travels in the report as buckets and bins, merges only with the same buckets, and never with a sketch")
  func reportAndMerge() throws {
    let h = try FixedBinHistogram(edges: [0.25, 0.5], counts: [1, 2, 3])
    let report = DriftSummaryReport(source: "prometheus", start: 0, end: 60, summaries: ["brightness": .binned(h)])
    let text = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
    #expect(text.contains("\"buckets\"") && text.contains("\"bins\"") && !text.contains("sketch"))
    var decoded = try #require(try JSONDecoder().decode(DriftSummaryReport.self, from: Data(text.utf8)).summaries()["brightness"])
    #expect(decoded == .binned(h) && decoded.count == 6)
    try decoded.merge(.binned(h))
    #expect(decoded.count == 12)
    #expect(throws: DriftStatisticsError.self) { try decoded.merge(.binned(try FixedBinHistogram(edges: [0.5], counts: [1, 1]))) }
    #expect(throws: DriftStatisticsError.self) { try decoded.merge(.numerical(KLLSketch())) }
    #expect(decoded.count == 12)
    let half = DriftSummaryReport.Feature(type: .numerical, count: 3, sketch: nil, counts: nil, buckets: [0.5], bins: nil)
    #expect(throws: DriftStatisticsError.self) { try half.summary(feature: "brightness") }
  }
}
