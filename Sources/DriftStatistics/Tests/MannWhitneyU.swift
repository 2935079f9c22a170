/// How `mannWhitneyU` computes its p-value (scipy's `method`).
public enum MannWhitneyMethod: String, Sendable, CaseIterable {
  /// Exact when either sample has at most 8 values and there are no ties, asymptotic otherwise
  /// (scipy's `_mwu_choose_method`).
  case auto
  /// The exact null distribution of U (valid without ties).
  case exact
  /// The normal approximation with tie-corrected variance and continuity correction.
  case asymptotic
}

/// The Mann–Whitney U test, as `scipy.stats.mannwhitneyu` (use_continuity=True by default).
///
/// U₁ = R₁ - n₁(n₁+1)/2 from average ranks of the pooled sample (Mann & Whitney, Ann. Math. Statist.
/// 18(1), 1947). Asymptotic: z = (U - n₁n₂/2 - ½)/σ with σ² = n₁n₂/12·((n+1) - Σ(t³-t)/(n(n-1)))
/// (the tie correction), p = sf(z), doubled for two-sided with U = max(U₁, U₂). Exact: the null
/// distribution of U as the coefficients of the Gaussian binomial [n₁+n₂ choose n₁]_q
/// (Andrews, *The Theory of Partitions*, 1976, §3.3), with P(U ≥ u) from its symmetric lower tail.
/// All observations equal gives σ = 0, z = -∞ and p = 1, as scipy.
///
/// - Returns: statistic U₁ (for the reference sample, as scipy), the p-value and [n₁, n₂].
/// - Throws: `DriftStatisticsError.emptySample`, `.notANumber`, or `.invalidParameter` for an exact
///   method on more than 10⁸ (n₁·n₂) outcomes.
public func mannWhitneyU(
  reference x: [Double], current y: [Double], alternative: Alternative = .twoSided,
  method: MannWhitneyMethod = .auto, useContinuity: Bool = true
) throws(DriftStatisticsError) -> DriftTestResult {
  try requireSample(x, name: "reference")
  try requireSample(y, name: "current")
  let n1 = x.count, n2 = y.count
  let (ranks, ties) = averageRanks(x + y)
  var r1 = 0.0
  for i in 0..<n1 { r1 += ranks[i] }
  let u1 = r1 - Double(n1 * (n1 + 1)) / 2
  let u2 = Double(n1) * Double(n2) - u1
  let (u, factor): (Double, Double)
  switch alternative {
  case .greater: (u, factor) = (u1, 1)
  case .less: (u, factor) = (u2, 1)
  case .twoSided: (u, factor) = (max(u1, u2), 2)
  }
  var chosen = method
  if chosen == .auto {
    chosen = (n1 > 8 && n2 > 8) || ties.contains(where: { $0 > 1 }) ? .asymptotic : .exact
  }
  var p: Double
  if chosen == .exact {
    // The exact distribution has n₁n₂ + 1 points; beyond 10⁸ the table would not fit in memory.
    guard Double(n1) * Double(n2) <= 1e8 else {
      throw .invalidParameter("exact Mann–Whitney needs n1·n2 ≤ 10^8; use the asymptotic method")
    }
    p = exactMannWhitneySurvival(Int(u), n1: n1, n2: n2)
  } else {
    let mu = Double(n1) * Double(n2) / 2
    let n = Double(n1 + n2)
    let tieTerm = ties.reduce(0.0) { $0 + Double($1) * Double($1) * Double($1) - Double($1) }
    let s = (Double(n1) * Double(n2) / 12 * ((n + 1) - tieTerm / (n * (n - 1)))).squareRoot()
    var numerator = u - mu
    if useContinuity { numerator -= 0.5 }
    let z = s > 0 ? numerator / s : (numerator > 0 ? Double.infinity : (numerator < 0 ? -Double.infinity : 0))
    p = NormalDistribution.sf(z)
  }
  p *= factor
  return DriftTestResult(statistic: u1, pValue: clampProbability(p), sampleSizes: [n1, n2])
}

/// P(U ≥ k) under the null for sizes m, n without ties.
func exactMannWhitneySurvival(_ k: Int, n1: Int, n2: Int) -> Double {
  let probabilities = exactMannWhitneyDistribution(n1: n1, n2: n2)
  let maxU = probabilities.count - 1
  let complement = maxU - k
  if k < complement {
    // P(U ≥ k) = 1 - P(U ≤ k) + P(U = k)
    var cdf = 0.0
    for u in 0...k { cdf += probabilities[u] }
    return 1 - cdf + probabilities[k]
  }
  if complement < 0 { return 0 }
  var cdf = 0.0
  for u in 0...complement { cdf += probabilities[u] }
  return cdf
}

/// P(U = u) for u = 0…n₁n₂ under the null for sizes n₁, n₂ without ties (symmetric about n₁n₂/2).
///
/// Shared by the exact p-value and the exact Hodges–Lehmann interval (`compareLocations`).
/// - Complexity: O(min(n₁, n₂)·n₁n₂) time, O(n₁n₂) memory.
func exactMannWhitneyDistribution(n1: Int, n2: Int) -> [Double] {
  let m = min(n1, n2), n = max(n1, n2)
  let maxU = m * n
  // Coefficients of ∏_{i=1}^{m} (1 - q^{n+i}) / (1 - q^i): counts of U = 0…mn, scaled by 1/C(m+n, m)
  // as we go so the largest sizes stay in range.
  var counts = [Double](repeating: 0, count: maxU + 1)
  counts[0] = 1
  guard m > 0 else { return counts }
  for i in 1...m {
    // multiply by (1 - q^{n+i}), high coefficients first so each reads an old value
    let shift = n + i
    if shift <= maxU {
      for u in stride(from: maxU, through: shift, by: -1) { counts[u] -= counts[u - shift] }
    }
    // divide by (1 - q^i), exact because every partial product is a Gaussian binomial polynomial
    if i <= maxU {
      for u in i...maxU { counts[u] += counts[u - i] }
    }
    // scale by i/(n+i): after m steps the total mass is 1, since C(m+n, m) = ∏ (n+i)/i
    let scale = Double(i) / Double(n + i)
    for u in 0...maxU { counts[u] *= scale }
  }
  return counts
}

/// The pooled two-proportion z-test (A/B conversion rates), as Evidently's `z_stattest`.
///
/// z = (p₁ - p₂)/√(P(1-P)(1/n₁ + 1/n₂)) with P = (x₁+x₂)/(n₁+n₂); p = 2·sf(|z|) two-sided, sf(z)
/// for `greater`, cdf(z) for `less`.
///
/// - Throws: `.invalidParameter` when a count is outside 0…n or n = 0, `.countTooLarge` when n
///   exceeds 2⁵³, and `.undefinedResult` when P is 0 or 1 (no successes or no failures at all: the
///   standard error is 0 and z is undefined).
public func twoProportionZTest(
  successes1 x1: Int, trials1 n1: Int, successes2 x2: Int, trials2 n2: Int, alternative: Alternative = .twoSided
) throws(DriftStatisticsError) -> DriftTestResult {
  guard n1 > 0, n2 > 0, (0...n1).contains(x1), (0...n2).contains(x2) else {
    throw .invalidParameter("two-proportion test needs 0 ≤ successes ≤ trials and trials > 0")
  }
  if n1 > maximumExactCount || n2 > maximumExactCount { throw .countTooLarge(name: "trials") }
  let p1 = Double(x1) / Double(n1), p2 = Double(x2) / Double(n2)
  let pooled = Double(x1 + x2) / Double(n1 + n2)
  let se = (pooled * (1 - pooled) * (1 / Double(n1) + 1 / Double(n2))).squareRoot()
  guard se > 0 else { throw .undefinedResult("the pooled proportion is \(pooled): z is undefined when all trials agree") }
  let z = (p1 - p2) / se
  let p: Double
  switch alternative {
  case .twoSided: p = 2 * NormalDistribution.sf(z.magnitude)
  case .greater: p = NormalDistribution.sf(z)
  case .less: p = NormalDistribution.cdf(z)
  }
  return DriftTestResult(statistic: z, pValue: clampProbability(p), sampleSizes: [n1, n2])
}
