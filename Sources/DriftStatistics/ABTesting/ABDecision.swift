/// Which test decides an A/B test: the names of the Rollout's `abTest.decision.test`.
public enum ABTestKind: String, Sendable, Codable, CaseIterable {
  /// Success rates (`compareProportions`; sequentially, the mSPRT on the difference of rates).
  case twoProportion = "two-proportion"
  /// A continuous metric such as latency or a score (`compareLocations`; sequentially, the mSPRT on the
  /// difference of means).
  case mannWhitney = "mann-whitney"
}

/// Whether a larger metric is better (success rate, score) or a smaller one (latency, error rate).
public enum PreferredDirection: String, Sendable, Codable, CaseIterable {
  case higher, lower
}

extension PValueCorrection: Codable {}

/// How an A/B test turns comparisons into a decision.
public struct ABDecisionRule: Sendable, Equatable, Hashable, Codable {
  public var kind: ABTestKind
  /// The family-wise false-positive rate: the chance of declaring any winner when no variant differs.
  public var alpha: Double
  /// No decision until every variant has at least this many trials (or observations).
  public var minSamples: Int
  /// Which way is better.
  public var better: PreferredDirection
  /// How the p-values of several candidates against the control are corrected: `.holm` (default) or
  /// `.bonferroni`; both control the family-wise error rate. `.bh` (a false-discovery rate) is refused.
  public var correction: PValueCorrection

  public init(kind: ABTestKind, alpha: Double = 0.05, minSamples: Int, better: PreferredDirection,
              correction: PValueCorrection = .holm) {
    self.kind = kind
    self.alpha = alpha
    self.minSamples = minSamples
    self.better = better
    self.correction = correction
  }

  func validate(variants: Int) throws(DriftStatisticsError) {
    try requireAlpha(alpha)
    guard minSamples >= 1 else { throw .invalidParameter("minSamples must be at least 1; got \(minSamples)") }
    guard correction != .bh else {
      throw .invalidParameter("an A/B decision needs a family-wise correction (holm or bonferroni), not bh")
    }
    guard variants >= 2 else { throw .tooFewObservations(name: "variants", count: variants, minimum: 2) }
  }
}

/// One candidate against the control (variant 0), as a Rollout's status reports it.
public struct ABComparison: Sendable, Equatable, Hashable, Codable {
  /// The candidate's index among the variants (1…).
  public var variantIndex: Int
  /// The test's p-value (always-valid in sequential mode).
  public var pValue: Double
  /// The p-value after the rule's correction over all candidates; the decision compares it with alpha.
  public var adjustedPValue: Double
  /// candidate − control: the difference of rates, the Hodges–Lehmann shift, or the difference of means.
  public var effect: Double
  /// The interval for `effect` at 1 - alpha/m for m candidates (Bonferroni, so the m intervals hold
  /// together); nil when there is none yet.
  public var confidenceInterval: ConfidenceInterval?
  /// effect / control rate (two-proportion only; nil when the control's rate is 0).
  public var relativeLift: Double?
  /// The rank-biserial correlation (fixed-horizon Mann–Whitney only).
  public var rankBiserialCorrelation: Double?
}

/// What an A/B test concludes at one look.
public enum ABDecision: Sendable, Equatable, Hashable {
  /// Not enough data to decide (fewer than minSamples, or no variance yet); the reason says which.
  case undecided(reason: String)
  /// No candidate differs from the control at the corrected level. Final for a fixed-horizon test
  /// evaluated at its horizon; for a sequential test, "not yet" until its duration runs out.
  case noDifference(comparisons: [ABComparison])
  /// `variantIndex` is best: a candidate significantly better than the control (the one with the
  /// largest estimated improvement when several are), or 0, the control, when no candidate is
  /// significantly better and at least one is significantly worse. Candidates are not tested against
  /// each other.
  case winner(variantIndex: Int, comparisons: [ABComparison])

  /// The comparisons behind the decision (none while undecided).
  public var comparisons: [ABComparison] {
    switch self {
    case .undecided: []
    case .noDifference(let comparisons), .winner(_, let comparisons): comparisons
    }
  }
}

/// The data of a fixed-horizon A/B test, variant 0 being the control.
public enum ABTestData: Sendable, Equatable {
  /// Success counts per variant (for `.twoProportion`).
  case proportions([ProportionCounts])
  /// Raw observations per variant (for `.mannWhitney`).
  case samples([[Double]])
}

/// Decides a fixed-horizon A/B test: each candidate against variant 0 with the rule's test, p-values
/// corrected over the candidates (Holm or Bonferroni), intervals at 1 - alpha/m.
///
/// Meant to be evaluated once, at the planned horizon: a fixed-horizon p-value looked at repeatedly
/// and stopped at the first "significant" look has a false-positive rate far above alpha (the
/// sequential test, `SequentialABTest`, is the one to look at every interval).
///
/// - Throws: `DriftStatisticsError` for invalid input (negative counts, successes > trials, NaN, data
///   that does not match `rule.kind`), checked before minSamples so bad input is never "undecided".
public func decideABTest(_ data: ABTestData, rule: ABDecisionRule) throws(DriftStatisticsError) -> ABDecision {
  let sizes: [Int]
  switch (data, rule.kind) {
  case (.proportions(let counts), .twoProportion):
    try rule.validate(variants: counts.count)
    for (i, c) in counts.enumerated() { try c.validate(name: "variant \(i)") }
    sizes = counts.map(\.trials)
  case (.samples(let samples), .mannWhitney):
    try rule.validate(variants: samples.count)
    for (i, s) in samples.enumerated() {
      for v in s where v.isNaN { throw .notANumber(name: "variant \(i)") }
      for v in s where v.isInfinite { throw .infiniteValue(name: "variant \(i)") }
    }
    sizes = samples.map(\.count)
  default:
    throw .invalidParameter("the data does not match the test \(rule.kind.rawValue)")
  }
  if let reason = shortOfMinimum(sizes, rule: rule) { return .undecided(reason: reason) }
  let level = rule.alpha / Double(sizes.count - 1)
  var comparisons: [ABComparison] = []
  var directions: [Double] = []
  switch data {
  case .proportions(let counts):
    for i in 1..<counts.count {
      let c = try compareProportions(control: counts[0], candidate: counts[i], alpha: level)
      comparisons.append(ABComparison(variantIndex: i, pValue: c.pValue, adjustedPValue: c.pValue, effect: c.difference,
                                      confidenceInterval: c.confidenceInterval, relativeLift: c.relativeLift))
      directions.append(c.difference)
    }
  case .samples(let samples):
    for i in 1..<samples.count {
      let c = try compareLocations(control: samples[0], candidate: samples[i], alpha: level)
      comparisons.append(ABComparison(variantIndex: i, pValue: c.pValue, adjustedPValue: c.pValue, effect: c.shift,
                                      confidenceInterval: c.confidenceInterval, rankBiserialCorrelation: c.rankBiserialCorrelation))
      // the direction of the test is the stochastic ordering, which the shift can miss on discrete data
      directions.append(c.rankBiserialCorrelation)
    }
  }
  return try decide(comparisons, directions: directions, rule: rule)
}

/// The reason no decision is possible yet, or nil when every variant has minSamples.
func shortOfMinimum(_ sizes: [Int], rule: ABDecisionRule) -> String? {
  guard let i = sizes.firstIndex(where: { $0 < rule.minSamples }) else { return nil }
  return "variant \(i) has \(sizes[i]) of the \(rule.minSamples) samples needed before a decision"
}

/// Corrects the p-values and picks the winner; `directions[i]` is positive when candidate i+1 is above
/// the control.
func decide(_ raw: [ABComparison], directions: [Double], rule: ABDecisionRule) throws(DriftStatisticsError) -> ABDecision {
  let adjusted = try adjustPValues(raw.map(\.pValue), method: rule.correction)
  var comparisons = raw
  for i in comparisons.indices { comparisons[i].adjustedPValue = adjusted[i] }
  let sign: Double = rule.better == .higher ? 1 : -1
  var best: (index: Int, gain: Double)?
  var anyWorse = false
  for (i, c) in comparisons.enumerated() where c.adjustedPValue <= rule.alpha {
    let gain = sign * directions[i]
    if gain > 0 {
      let improvement = sign * c.effect
      if improvement > best?.gain ?? -.infinity { best = (c.variantIndex, improvement) }
    } else if gain < 0 {
      anyWorse = true
    }
  }
  if let best { return .winner(variantIndex: best.index, comparisons: comparisons) }
  if anyWorse { return .winner(variantIndex: 0, comparisons: comparisons) }
  return .noDifference(comparisons: comparisons)
}
