/// Drift tests where one side (or both) is a histogram of fixed buckets: a numerical feature read
/// from Prometheus (docs/drift-policy.md, "Reading from Prometheus").
extension FeatureSummary {
  /// This numerical summary's counts in the bins of `edges`, as Prometheus counts them: bin i is
  /// (eᵢ₋₁, eᵢ], the outer bins (-∞, e₀] and (e_last, +∞).
  ///
  /// A sketch's retained values are counted by weight, so each cumulative count is within the
  /// sketch's rank error (`KLLSketch.normalizedRankError`) of the data's; a binned summary is
  /// returned as it is.
  ///
  /// - Throws: `.invalidParameter` for a categorical summary, or a binned one whose bounds are not
  ///   `edges` (both lists named: the bins of two histograms cannot be re-cut).
  public func binCounts(edges: [Double]) throws(DriftStatisticsError) -> [Double] {
    switch self {
    case .categorical:
      throw .invalidParameter("a categorical summary has no numerical bins")
    case .binned(let histogram):
      guard histogram.edges == edges else {
        throw .invalidParameter("bucket bounds differ: \(Self.describe(histogram.edges)) against \(Self.describe(edges))")
      }
      return histogram.counts
    case .numerical(let sketch):
      var counts = [Double](repeating: 0, count: edges.count + 1)
      for item in sketch.weightedItems() {
        // The first bound ≥ the value (upper bounds are inclusive, as Prometheus' `le`).
        var lo = 0, hi = edges.count
        while lo < hi {
          let mid = (lo + hi) / 2
          if item.value <= edges[mid] { hi = mid } else { lo = mid + 1 }
        }
        counts[lo] += item.weight
      }
      return counts
    }
  }

  /// `le` bounds as a short list for messages: `[0.1, 0.2, …, 1.0] (10 bounds)`.
  static func describe(_ edges: [Double]) -> String {
    let shown = edges.count <= 6 ? edges.map { "\($0)" } : edges.prefix(3).map { "\($0)" } + ["…"] + edges.suffix(2).map { "\($0)" }
    return "[\(shown.joined(separator: ", "))] (\(edges.count) bounds)"
  }

  /// Tests a reference against current data when one or both are binned: both are counted in the
  /// binned side's buckets, then
  ///
  /// - chi-squared, two-proportion, PSI, Jensen–Shannon, KL, Hellinger: on the bin counts, as for
  ///   categories (a bin is a category);
  /// - KS: the largest difference of the two empirical CDFs at the bucket bounds. Grouping can only
  ///   hide differences between bounds, so the statistic is at most the raw data's and the test is
  ///   conservative, as KS is for any discontinuous distribution (Noether, "Note on the Kolmogorov
  ///   statistic in the discrete case", Metrika 7, 1963); the p-value is the asymptotic one, of the
  ///   statistic less a sketch's rank error when the other side is a sketch (as on sketches);
  /// - Wasserstein-1 (÷ σ_ref, as Evidently) and energy distance: each bin's count placed at its
  ///   midpoint, an outer bin's at its finite bound — the usual binned approximation, exact when
  ///   the values sit at those points.
  ///
  /// - Throws: `.invalidParameter` when both are binned with different bounds (the message names
  ///   both), and the errors of the tests (empty data).
  static func binnedTest(_ test: SummaryTest, reference: FeatureSummary, current: FeatureSummary) throws(DriftStatisticsError) -> DriftTestResult {
    let edges: [Double]
    var slack = 0.0
    switch (reference, current) {
    case (_, .binned(let h)):
      edges = h.edges
      if case .numerical(let sketch) = reference { slack = rankError(sketch) }
    case (.binned(let h), _):
      edges = h.edges
      if case .numerical(let sketch) = current { slack = rankError(sketch) }
    default:
      throw .invalidParameter("neither summary is binned")
    }
    let r = try reference.binCounts(edges: edges), c = try current.binCounts(edges: edges)
    let nRef = r.reduce(0, +), nCur = c.reduce(0, +)
    guard nRef > 0 else { throw .emptySample(name: "reference") }
    guard nCur > 0 else { throw .emptySample(name: "current") }
    switch test {
    case .kolmogorovSmirnov:
      var cr = 0.0, cc = 0.0, d = 0.0
      for i in edges.indices {
        cr += r[i]
        cc += c[i]
        d = max(d, abs(cr / nRef - cc / nCur))
      }
      let n1 = max(1, Int(nRef.rounded())), n2 = max(1, Int(nCur.rounded()))
      let p = kolmogorovSmirnovPValue(statistic: max(0, d - slack), n1: n1, n2: n2, alternative: .twoSided, method: .asymp)
      return DriftTestResult(statistic: d, pValue: p.pValue, sampleSizes: [n1, n2])
    case .wasserstein, .energy:
      let points = binPoints(edges)
      return try weightedDistance(test, zip(points, r).map { (value: $0, weight: $1) }, zip(points, c).map { (value: $0, weight: $1) },
                                  sizes: [Int(nRef.rounded()), Int(nCur.rounded())])
    default:
      return try countTest(test, r, c, what: "buckets")
    }
  }

  /// Where a bin's count is placed for the CDF distances: an interior bin's midpoint, an outer
  /// bin's finite bound (0 for a histogram of one bin, whose distances are 0 whatever the point).
  static func binPoints(_ edges: [Double]) -> [Double] {
    guard let first = edges.first, let last = edges.last else { return [0] }
    var points = [first]
    for (a, b) in zip(edges, edges.dropFirst()) { points.append(a + (b - a) / 2) }
    points.append(last)
    return points
  }
}
