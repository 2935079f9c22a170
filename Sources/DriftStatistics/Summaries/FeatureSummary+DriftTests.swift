/// Drift tests on merged summaries (KLL sketches and categorical counts), the data a DriftPolicy
/// evaluation has: devices send summaries, never raw values (docs/drift-policy.md).
extension FeatureSummary {
  /// The tests a summary supports, by the names a DriftPolicy uses (`spec.features[].test`).
  public enum SummaryTest: String, Sendable, CaseIterable {
    case kolmogorovSmirnov = "ks"
    case psi
    case chiSquared = "chi2"
    case jensenShannon = "jensen-shannon"
    case kullbackLeibler = "kl"
    case hellinger
    case wasserstein
    case energy
    case twoProportion = "two-proportion"

    /// The default decision threshold: a p-value for tests, a distance otherwise. PSI's 0.1 and the
    /// distances' 0.1 are Evidently's defaults (evidently `legacy/calculations/stattests/*.py`).
    public var defaultThreshold: Double {
      switch self {
      case .kolmogorovSmirnov, .chiSquared, .twoProportion: 0.05
      case .psi, .jensenShannon, .kullbackLeibler, .hellinger, .wasserstein, .energy: 0.1
      }
    }

    /// Whether the threshold applies to a p-value (drift below it) rather than a distance (drift at or above it).
    public var usesPValue: Bool {
      switch self {
      case .kolmogorovSmirnov, .chiSquared, .twoProportion: true
      default: false
      }
    }

    /// The same test as `DefaultDriftTest` names it.
    public init(_ test: DefaultDriftTest) {
      switch test {
      case .kolmogorovSmirnov: self = .kolmogorovSmirnov
      case .chiSquared: self = .chiSquared
      case .twoProportion: self = .twoProportion
      case .wasserstein: self = .wasserstein
      case .jensenShannon: self = .jensenShannon
      }
    }
  }

  /// Distinct values in this summary and `other` together, counted up to `limit` (enough for
  /// `DefaultDriftTest.choose`, which only asks whether there are more than 5). For a sketch these
  /// are the retained values: exact while the sketch holds every value, a lower bound after.
  public func distinctValues(with other: FeatureSummary, limit: Int = 64) -> Int {
    var seen = Set<String>()
    for s in [self, other] {
      switch s {
      case .categorical(let c): for key in c.counts.keys where c.counts[key, default: 0] > 0 { seen.insert(key) }
      case .numerical(let sketch):
        for item in sketch.weightedItems() {
          seen.insert(String(item.value.bitPattern))
          if seen.count >= limit { return seen.count }
        }
      case .binned(let histogram):
        // A bin is one value as far as the data can tell.
        for (i, c) in histogram.counts.enumerated() where c > 0 { seen.insert("bin \(i)") }
      }
      if seen.count >= limit { return seen.count }
    }
    return seen.count
  }

  /// Runs `test` with this summary as the reference and `current` as the current data.
  ///
  /// - Numerical sketches: KS (conservative, see below), PSI over 10 reference-quantile bins,
  ///   Wasserstein-1 and energy distance over the sketches' estimated CDFs; Jensen–Shannon, KL and
  ///   Hellinger over the same 10 bins. Wasserstein is divided by the reference's standard deviation
  ///   (floored at 0.001), as Evidently's `wasserstein` method does
  ///   (evidently `legacy/calculations/stattests/wasserstein_distance_norm.py`).
  /// - Categorical counts: chi-squared on the 2×k contingency table of reference and current counts
  ///   (as Alibi Detect's `ChiSquareDrift`, which, unlike a goodness-of-fit test, stays finite when
  ///   the current data has a category the reference never saw), PSI, Jensen–Shannon, KL, Hellinger
  ///   on the counts aligned by category, and the two-proportion z-test on the first category of a
  ///   binary feature.
  ///
  /// *Conservative KS on sketches*: a sketch's CDF is within ε (`KLLSketch.normalizedRankError`) of
  /// the data's (99% confidence), so the statistic reported is D̂ and the p-value is that of
  /// max(0, D̂ − ε_ref − ε_cur). A sketch that still holds every value it saw has ε = 0: small
  /// windows get the ordinary test (p-values as `scipy.stats.ks_2samp` computes them: exact up to
  /// 10,000 per side), large ones never alarm on sketch error alone.
  ///
  /// - Throws: `.invalidParameter` when the test does not apply to the summaries' kind or the two
  ///   kinds differ, and the errors of the underlying test (empty data, an undefined result).
  public func driftTest(_ test: SummaryTest, current: FeatureSummary) throws(DriftStatisticsError) -> DriftTestResult {
    switch (self, current) {
    case (.numerical(let ref), .numerical(let cur)):
      return try Self.numericalTest(test, ref, cur)
    case (.categorical(let ref), .categorical(let cur)):
      return try Self.categoricalTest(test, ref, cur)
    case (.binned, .binned), (.numerical, .binned), (.binned, .numerical):
      return try Self.binnedTest(test, reference: self, current: current)
    default:
      throw .invalidParameter("the reference is \(description) but the current data is \(current.description)")
    }
  }

  private static func numericalTest(_ test: SummaryTest, _ ref: KLLSketch, _ cur: KLLSketch) throws(DriftStatisticsError) -> DriftTestResult {
    guard ref.count > 0 else { throw .emptySample(name: "reference") }
    guard cur.count > 0 else { throw .emptySample(name: "current") }
    switch test {
    case .kolmogorovSmirnov:
      let raw = try kolmogorovSmirnovTwoSample(reference: ref, current: cur)
      let slack = rankError(ref) + rankError(cur)
      // Exact sketches are the samples themselves: scipy's `ks_2samp` method choice (exact up to
      // 10,000 per side); otherwise the asymptotic distribution of the shrunk statistic.
      let p = kolmogorovSmirnovPValue(statistic: max(0, raw.statistic - slack), n1: ref.count, n2: cur.count,
                                      alternative: .twoSided, method: slack == 0 ? .auto : .asymp)
      return DriftTestResult(statistic: raw.statistic, pValue: p.pValue, sampleSizes: raw.sampleSizes)
    case .psi:
      return try populationStabilityIndex(reference: ref, current: cur)
    case .wasserstein, .energy:
      return try weightedDistance(test, ref.weightedItems(), cur.weightedItems(), sizes: [ref.count, cur.count])
    case .jensenShannon, .kullbackLeibler, .hellinger:
      let (r, c) = quantileBinCounts(ref, cur, bins: 10)
      return try discreteDistance(test, r, c)
    case .chiSquared, .twoProportion:
      throw .invalidParameter("\(test.rawValue) applies to categorical features")
    }
  }

  /// Wasserstein-1 (÷ σ_ref) or energy distance between weighted values (a sketch's items, or a
  /// histogram's bins at their points).
  static func weightedDistance(_ test: SummaryTest, _ a: [(value: Double, weight: Double)], _ b: [(value: Double, weight: Double)],
                               sizes: [Int]) throws(DriftStatisticsError) -> DriftTestResult {
    let distance = test == .wasserstein
      ? try wassersteinDistance(reference: a.map(\.value), current: b.map(\.value), referenceWeights: a.map(\.weight), currentWeights: b.map(\.weight))
      : try energyDistance(reference: a.map(\.value), current: b.map(\.value), referenceWeights: a.map(\.weight), currentWeights: b.map(\.weight))
    guard test == .wasserstein else { return DriftTestResult(statistic: distance.statistic, pValue: nil, sampleSizes: sizes) }
    // Evidently: wasserstein_distance(ref, cur) / max(np.std(ref), 0.001) (population σ).
    let total = a.reduce(0) { $0 + $1.weight }
    let mean = a.reduce(0) { $0 + $1.value * $1.weight } / total
    let variance = a.reduce(0) { $0 + ($1.value - mean) * ($1.value - mean) * $1.weight } / total
    return DriftTestResult(statistic: distance.statistic / max(variance.squareRoot(), 0.001), pValue: nil, sampleSizes: sizes)
  }

  private static func categoricalTest(_ test: SummaryTest, _ ref: CategoricalCounts, _ cur: CategoricalCounts) throws(DriftStatisticsError) -> DriftTestResult {
    let aligned = CategoricalCounts.aligned(ref, cur)
    switch test {
    case .kolmogorovSmirnov, .wasserstein, .energy:
      throw .invalidParameter("\(test.rawValue) applies to numerical features")
    default:
      return try countTest(test, aligned.reference, aligned.current, what: "categories")
    }
  }

  /// The tests on two aligned count vectors (categories, or the bins of a histogram): chi-squared
  /// on the 2×k contingency table, two-proportion on exactly two, PSI, Jensen–Shannon, KL, Hellinger.
  static func countTest(_ test: SummaryTest, _ reference: [Double], _ current: [Double], what: String) throws(DriftStatisticsError) -> DriftTestResult {
    let nRef = reference.reduce(0, +), nCur = current.reduce(0, +)
    guard nRef > 0 else { throw .emptySample(name: "reference") }
    guard nCur > 0 else { throw .emptySample(name: "current") }
    switch test {
    case .chiSquared:
      // Cells empty in both rows would give a zero expected frequency: drop them.
      let keep = reference.indices.filter { reference[$0] + current[$0] > 0 }
      return try chiSquaredContingency(observed: [keep.map { reference[$0] }, keep.map { current[$0] }]).driftTestResult
    case .twoProportion:
      guard reference.count == 2 else {
        throw .invalidParameter("two-proportion needs exactly 2 \(what); found \(reference.count)")
      }
      return try twoProportionZTest(successes1: Int(reference[0]), trials1: Int(nRef),
                                    successes2: Int(current[0]), trials2: Int(nCur))
    case .psi:
      let psi = populationStabilityIndex(referenceCounts: reference, currentCounts: current)
      return DriftTestResult(statistic: psi, pValue: nil, sampleSizes: [Int(nRef), Int(nCur)])
    case .jensenShannon, .kullbackLeibler, .hellinger:
      return try discreteDistance(test, reference, current)
    case .kolmogorovSmirnov, .wasserstein, .energy:
      throw .invalidParameter("\(test.rawValue) does not apply to counts of \(what)")
    }
  }

  static func discreteDistance(_ test: SummaryTest, _ r: [Double], _ c: [Double]) throws(DriftStatisticsError) -> DriftTestResult {
    switch test {
    case .kullbackLeibler: try kullbackLeiblerDivergence(reference: r, current: c)
    case .hellinger: try hellingerDistance(reference: r, current: c)
    default: try jensenShannonDistance(reference: r, current: c)
    }
  }

  /// 0 for a sketch that holds every value it saw (exact), else its rank-error bound.
  static func rankError(_ s: KLLSketch) -> Double {
    s.retainedCount == s.count ? 0 : KLLSketch.normalizedRankError(k: s.k)
  }

  /// Estimated counts of both sketches in the bins cut at the reference's deciles.
  private static func quantileBinCounts(_ ref: KLLSketch, _ cur: KLLSketch, bins: Int) -> ([Double], [Double]) {
    var edges: [Double] = []
    for i in 1..<bins {
      if let q = ref.quantile(Double(i) / Double(bins)), edges.last.map({ $0 < q }) ?? true { edges.append(q) }
    }
    func counts(_ s: KLLSketch) -> [Double] {
      var out = [Double](repeating: 0, count: edges.count + 1)
      for item in s.weightedItems() {
        var lo = 0, hi = edges.count
        while lo < hi {
          let mid = (lo + hi) / 2
          if edges[mid] <= item.value { lo = mid + 1 } else { hi = mid }
        }
        out[lo] += item.weight
      }
      return out
    }
    return (counts(ref), counts(cur))
  }
}
