/// A fixed-horizon comparison of a continuous metric (latency, score) between two variants:
/// Mann–Whitney U with its effect size and a distribution-free interval for the shift.
public struct LocationShiftComparison: Sendable, Equatable {
  /// The candidate's U: #(candidate > control) + ½#(ties) over all n₁n₂ pairs.
  public var u: Double
  /// The two-sided Mann–Whitney p-value (`mannWhitneyU`, as scipy).
  public var pValue: Double
  /// How the p-value and the interval were computed: `.exact` or `.asymptotic` (scipy's `auto` rule).
  public var method: MannWhitneyMethod
  /// The common-language effect size P(candidate > control) + ½P(tie) = U/(n₁n₂) (McGraw & Wong,
  /// Psychol. Bull. 111(2), 1992): 0.5 when neither tends to be larger.
  public var probabilityCandidateGreater: Double
  /// The rank-biserial correlation 2·P(candidate > control) - 1 in [-1, 1] (Kerby, "The simple
  /// difference formula", Compr. Psychol. 3, 2014): positive when the candidate tends to be larger.
  public var rankBiserialCorrelation: Double
  /// The Hodges–Lehmann shift: the median of all differences candidate_j - control_i (Hodges &
  /// Lehmann, Ann. Math. Statist. 34(2), 1963).
  public var shift: Double
  /// The distribution-free (1 - alpha) interval for the shift; a bound is ±∞ when the samples are too
  /// small for the level (the exact null distribution never puts α/2 in one tail).
  public var confidenceInterval: ConfidenceInterval
}

/// Mann–Whitney U of candidate against control, with the effect size and the Hodges–Lehmann shift and
/// its confidence interval.
///
/// The interval is the one that inverts the Mann–Whitney test (Lehmann, *Nonparametrics*, 1975;
/// Bauer, JASA 67(339), 1972; Hollander, Wolfe & Chicken, *Nonparametric Statistical Methods*, 3rd ed.,
/// 2014, ch. 4): with the n₁n₂ differences D sorted, [D₍ₖ₎, D₍ₙ₁ₙ₂₊₁₋ₖ₎] where k is the largest integer
/// with P(U ≤ k - 1) ≤ α/2 under the exact null distribution (coverage ≥ 1 - α, valid for any
/// continuous shift model), or, in the asymptotic case, k = round(n₁n₂/2 - z₁₋α/₂·σ_U) with the
/// tie-corrected σ_U of the test (the large-sample approximation in Hollander–Wolfe). The exact/asymptotic choice is the test's.
///
/// The differences are never materialised (10⁴ latencies per variant would be 10⁸ of them): the k-th
/// smallest is found by bisection over the ordered doubles, counting #{D ≤ d} with two pointers over
/// the sorted samples, O((n₁ + n₂)·64) per order statistic, exact to the bit.
///
/// - Throws: `.emptySample`, `.notANumber`, `.infiniteValue` (a shift is undefined against ±∞) or
///   `.invalidParameter` for alpha outside (0, 1).
public func compareLocations(
  control: [Double], candidate: [Double], alpha: Double = 0.05
) throws(DriftStatisticsError) -> LocationShiftComparison {
  try requireAlpha(alpha)
  try requireSample(control, name: "control")
  try requireSample(candidate, name: "candidate")
  for v in control where v.isInfinite { throw .infiniteValue(name: "control") }
  for v in candidate where v.isInfinite { throw .infiniteValue(name: "candidate") }
  let test = try mannWhitneyU(reference: control, current: candidate)
  let x = control.sorted(), y = candidate.sorted()
  let m = x.count, n = y.count
  let pairs = Double(m) * Double(n)
  let uCandidate = pairs - test.statistic
  let probability = uCandidate / pairs

  // scipy's `auto`: exact when a sample has at most 8 values and nothing is tied
  let pooled = (x + y).sorted()
  var hasTies = false
  for i in 1..<pooled.count where pooled[i] == pooled[i - 1] { hasTies = true; break }
  let method: MannWhitneyMethod = (m > 8 && n > 8) || hasTies ? .asymptotic : .exact

  let total = m * n
  var k: Int
  if method == .exact {
    let probabilities = exactMannWhitneyDistribution(n1: m, n2: n)
    var cdf = 0.0
    k = 0
    while k < total, cdf + probabilities[k] <= alpha / 2 {   // cdf after the loop: P(U ≤ k - 1)
      cdf += probabilities[k]
      k += 1
    }
  } else {
    let (_, ties) = averageRanks(pooled)
    let tieTerm = ties.reduce(0.0) { $0 + Double($1) * Double($1) * Double($1) - Double($1) }
    let size = Double(m + n)
    let sigma = (pairs / 12 * ((size + 1) - tieTerm / (size * (size - 1)))).squareRoot()
    let estimate = (pairs / 2 - NormalDistribution.quantile(1 - alpha / 2) * sigma).rounded()
    k = estimate < 1 ? 0 : Int(estimate)
  }
  let interval = k >= 1
    ? ConfidenceInterval(lower: orderedDifference(k, control: x, candidate: y),
                         upper: orderedDifference(total + 1 - k, control: x, candidate: y))
    : ConfidenceInterval(lower: -.infinity, upper: .infinity)
  let shift = total % 2 == 1
    ? orderedDifference((total + 1) / 2, control: x, candidate: y)
    : (orderedDifference(total / 2, control: x, candidate: y) + orderedDifference(total / 2 + 1, control: x, candidate: y)) / 2
  return LocationShiftComparison(
    u: uCandidate, pValue: test.pValue ?? 1, method: method, probabilityCandidateGreater: probability,
    rankBiserialCorrelation: 2 * probability - 1, shift: shift, confidenceInterval: interval)
}

/// The k-th smallest (1-based) of the differences candidate_j - control_i, both samples sorted and finite.
///
/// Floating-point subtraction is monotone in each argument, so for each candidate value the differences
/// at most d are a suffix of the control sample, and that suffix only shrinks as the candidate value
/// grows: one pass counts them. The answer is the smallest double d with #{D ≤ d} ≥ k, found by
/// bisection over `orderKey` (KolmogorovSmirnov.swift), so it is one of the computed differences.
func orderedDifference(_ k: Int, control x: [Double], candidate y: [Double]) -> Double {
  func countAtMost(_ d: Double) -> Int {
    var start = 0, count = 0
    for value in y {
      while start < x.count && value - x[start] > d { start += 1 }
      count += x.count - start
    }
    return count
  }
  var low = orderKey(y[0] - x[x.count - 1]), high = orderKey(y[y.count - 1] - x[0])
  while low < high {
    let middle = low + (high - low) / 2
    if countAtMost(doubleFromOrderKey(middle)) >= k { high = middle } else { low = middle + 1 }
  }
  return doubleFromOrderKey(low) + 0.0   // -0.0 and +0.0 count alike; report +0.0
}
