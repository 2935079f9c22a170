/// The cumulative data of one look at a sequential A/B test, variant 0 being the control.
public enum SequentialABData: Sendable, Equatable {
  /// Cumulative success counts per variant (for `.twoProportion`).
  case proportions([ProportionCounts])
  /// Cumulative count, mean and variance per variant (for `.mannWhitney`: the mSPRT compares means).
  case means([MeanSummary])
}

/// A sequential, always-valid A/B test: one `MixtureSPRT` per candidate against variant 0, looked at
/// every interval with cumulative data, decided by the always-valid p-values corrected over the
/// candidates (Holm or Bonferroni — valid because each is a p-value at any stopping time).
///
/// Looks before every variant has `minSamples` are refused as `.undecided` and not fed to the tests
/// (ignoring a look never breaks always-validity), so a tuned τ² is set from at least minSamples
/// observations per variant. `alpha` here bounds the chance of *ever* declaring a winner when no
/// variant differs, however many looks are taken.
///
/// Persist the whole value between looks (`Codable`: the rule and, per candidate, the mSPRT state).
public struct SequentialABTest: Sendable, Equatable, Hashable, Codable {
  /// The decision rule, fixed for the life of the test.
  public private(set) var rule: ABDecisionRule
  /// The mSPRT of candidate i + 1 against the control, at level alpha/m (so the m intervals hold together).
  public private(set) var tests: [MixtureSPRT]

  /// A test of `variants` variants (control included), none looked at yet.
  /// - Parameter mixing: τ² for every comparison; default `.tuned(samplesPerVariant: rule.minSamples)`,
  ///   the mixture tightest at the first look allowed to decide.
  /// - Throws: `.invalidParameter` / `.tooFewObservations` for a bad rule or fewer than 2 variants.
  public init(rule: ABDecisionRule, variants: Int, mixing: MixingVariance? = nil) throws(DriftStatisticsError) {
    try rule.validate(variants: variants)
    let level = rule.alpha / Double(variants - 1)
    let test = try MixtureSPRT(alpha: level, mixing: mixing ?? .tuned(samplesPerVariant: rule.minSamples))
    self.rule = rule
    tests = Array(repeating: test, count: variants - 1)
  }

  /// Takes one look and decides. The state is unchanged when it throws.
  /// - Throws: `DriftStatisticsError` for invalid data, a number of variants other than at creation,
  ///   data that does not match `rule.kind`, or cumulative counts smaller than at the last look.
  public mutating func update(_ data: SequentialABData) throws(DriftStatisticsError) -> ABDecision {
    var next = tests
    let sizes: [Int]
    switch (data, rule.kind) {
    case (.proportions(let counts), .twoProportion):
      try requireVariants(counts.count)
      for (i, c) in counts.enumerated() { try c.validate(name: "variant \(i)") }
      sizes = counts.map(\.trials)
      if shortOfMinimum(sizes, rule: rule) == nil {
        for i in next.indices { try next[i].update(control: counts[0], candidate: counts[i + 1]) }
      }
    case (.means(let summaries), .mannWhitney):
      try requireVariants(summaries.count)
      for (i, s) in summaries.enumerated() { try s.validate(name: "variant \(i)") }
      sizes = summaries.map(\.count)
      if shortOfMinimum(sizes, rule: rule) == nil {
        for i in next.indices { try next[i].update(control: summaries[0], candidate: summaries[i + 1]) }
      }
    default:
      throw .invalidParameter("the data does not match the test \(rule.kind.rawValue)")
    }
    tests = next
    if let reason = shortOfMinimum(sizes, rule: rule) { return .undecided(reason: reason) }
    return try decision()
  }

  /// The decision from the state as stored (no new data): what the last `update` returned once
  /// minSamples was reached.
  public func decision() throws(DriftStatisticsError) -> ABDecision {
    if tests.allSatisfy({ $0.looks == 0 }) {
      return .undecided(reason: "no look yet with \(rule.minSamples) samples in every variant")
    }
    var comparisons: [ABComparison] = []
    var directions: [Double] = []
    for (i, test) in tests.enumerated() {
      guard let effect = test.effect else {
        return .undecided(reason: "variant \(i + 1) and the control show no variance yet")
      }
      comparisons.append(ABComparison(variantIndex: i + 1, pValue: test.pValue, adjustedPValue: test.pValue,
                                      effect: effect, confidenceInterval: test.confidenceInterval))
      directions.append(effect)
    }
    return try decide(comparisons, directions: directions, rule: rule)
  }

  private func requireVariants(_ count: Int) throws(DriftStatisticsError) {
    guard count == tests.count + 1 else { throw .lengthMismatch(expected: tests.count + 1, actual: count) }
  }
}
