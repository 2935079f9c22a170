/// A fixed-horizon comparison of two success rates: everything a Rollout's status shows for it.
public struct ProportionComparison: Sendable, Equatable {
  /// The control's and the candidate's success rates.
  public var controlRate: Double, candidateRate: Double
  /// The pooled z statistic, positive when the candidate's rate is higher.
  public var z: Double
  /// The two-sided p-value of z.
  public var pValue: Double
  /// candidate rate − control rate.
  public var difference: Double
  /// Newcombe's hybrid score interval for the difference at `1 - alpha`.
  public var confidenceInterval: ConfidenceInterval
  /// difference / control rate, nil when the control's rate is 0.
  public var relativeLift: Double?
}

/// The two-proportion z-test of an A/B test: candidate against control, with the difference of rates,
/// its confidence interval and the relative lift.
///
/// z and the p-value are `twoProportionZTest`'s (pooled variance), with the candidate first so z has the
/// sign of the difference. When every trial of both variants agrees (no failures at all, common for
/// error rates), the pooled variance is 0; both rates are then equal, so we report z = 0, p = 1 — no
/// evidence of a difference — instead of throwing as the drift test does.
///
/// The interval is Newcombe's method 10, the hybrid score interval built from the two Wilson intervals
/// (Newcombe, "Interval estimation for the difference between independent proportions: comparison of
/// eleven methods", Stat. Med. 17(8), 1998; Wilson, JASA 22(158), 1927). We use it instead of the Wald
/// interval d ± z·SE because Wald's coverage collapses for rates near 0 or 1 — exactly where error
/// rates live — and it is defined (not zero-width) when a variant has no failures. It is the interval of
/// statsmodels' `confint_proportions_2indep(method='newcomb')`.
///
/// - Throws: `.negativeValue`, `.invalidParameter` (successes > trials, counts > 2⁵³, alpha outside
///   (0, 1)) or `.tooFewObservations` when a variant has no trials.
public func compareProportions(
  control: ProportionCounts, candidate: ProportionCounts, alpha: Double = 0.05
) throws(DriftStatisticsError) -> ProportionComparison {
  try requireAlpha(alpha)
  try control.validate(name: "control")
  try candidate.validate(name: "candidate")
  if control.trials == 0 { throw .tooFewObservations(name: "control", count: 0, minimum: 1) }
  if candidate.trials == 0 { throw .tooFewObservations(name: "candidate", count: 0, minimum: 1) }
  var z = 0.0, p = 1.0
  do {
    let test = try twoProportionZTest(
      successes1: candidate.successes, trials1: candidate.trials,
      successes2: control.successes, trials2: control.trials)
    z = test.statistic
    p = test.pValue ?? 1
  } catch .undefinedResult {
    // every trial agrees: equal rates, z = 0, p = 1 (see above)
  }
  let controlRate = control.rate, candidateRate = candidate.rate
  let difference = candidateRate - controlRate
  let critical = NormalDistribution.quantile(1 - alpha / 2)
  let (l1, u1) = wilsonInterval(candidate, critical: critical)
  let (l2, u2) = wilsonInterval(control, critical: critical)
  // Newcombe (1998) eq. for method 10: each side combines the distances from each rate to its own
  // Wilson limit on the side that moves the difference that way.
  let below = ((candidateRate - l1) * (candidateRate - l1) + (u2 - controlRate) * (u2 - controlRate)).squareRoot()
  let above = ((u1 - candidateRate) * (u1 - candidateRate) + (controlRate - l2) * (controlRate - l2)).squareRoot()
  return ProportionComparison(
    controlRate: controlRate, candidateRate: candidateRate, z: z, pValue: p, difference: difference,
    confidenceInterval: ConfidenceInterval(lower: max(-1, difference - below), upper: min(1, difference + above)),
    relativeLift: controlRate > 0 ? difference / controlRate : nil)
}

/// Wilson's score interval for one rate: the p with |p̂ - p| ≤ c·√(p(1-p)/n), solved in closed form
/// (Wilson 1927): centre (x + c²/2)/(n + c²), half-width c√n/(n + c²)·√(p̂(1-p̂) + c²/(4n)).
func wilsonInterval(_ counts: ProportionCounts, critical c: Double) -> (lower: Double, upper: Double) {
  let n = Double(counts.trials), rate = counts.rate, c2 = c * c
  let centre = (Double(counts.successes) + c2 / 2) / (n + c2)
  let half = c * n.squareRoot() / (n + c2) * (rate * (1 - rate) + c2 / (4 * n)).squareRoot()
  return (max(0, centre - half), min(1, centre + half))
}
