/// The Jensen–Shannon distance between two discrete distributions, as `scipy.spatial.distance.jensenshannon`.
///
/// Both vectors are normalised to sum 1; with m = (p+q)/2 the distance is
/// √((KL(p‖m) + KL(q‖m)) / 2), logarithms in `base` (natural by default; base 2 bounds it by 1).
/// Zero bins are fine (0·log 0 = 0). This is the *distance*, the square root of the divergence.
///
/// - Parameters:
///   - reference: counts or probabilities p (finite, non-negative, positive sum).
///   - current: q, the same length.
///   - base: the logarithm base (> 0, ≠ 1); nil is e.
/// - Throws: `DriftStatisticsError` for empty, negative, non-finite, zero-sum or mismatched vectors.
public func jensenShannonDistance(reference: [Double], current: [Double], base: Double? = nil) throws(DriftStatisticsError) -> DriftTestResult {
  let (p, q, sizes) = try normalisedPair(reference, current)
  var left = 0.0, right = 0.0
  for i in p.indices {
    let m = (p[i] + q[i]) / 2
    left += relativeEntropy(p[i], m)
    right += relativeEntropy(q[i], m)
  }
  var js = left + right
  if let base { js /= try logBase(base) }
  return DriftTestResult(statistic: (max(0, js) / 2).squareRoot(), pValue: nil, sampleSizes: sizes)
}

/// The Kullback–Leibler divergence KL(reference ‖ current) = Σ pᵢ log(pᵢ/qᵢ), as `scipy.stats.entropy(p, q)`.
///
/// Both vectors are normalised first. KL is asymmetric and infinite when current has a zero bin where
/// reference has mass; rather than return +∞ (which JSON cannot carry), we throw — smooth the bins
/// (as PSI does with its epsilon floor) or use Jensen–Shannon, which is always finite.
///
/// - Throws: `DriftStatisticsError.undefinedResult` for that zero bin, and the input errors above.
public func kullbackLeiblerDivergence(reference: [Double], current: [Double], base: Double? = nil) throws(DriftStatisticsError) -> DriftTestResult {
  let (p, q, sizes) = try normalisedPair(reference, current)
  var sum = 0.0
  for i in p.indices {
    if p[i] > 0 && q[i] == 0 { throw .undefinedResult("KL divergence is infinite: current bin \(i) is empty where reference has mass") }
    sum += relativeEntropy(p[i], q[i])
  }
  if let base { sum /= try logBase(base) }
  return DriftTestResult(statistic: sum, pValue: nil, sampleSizes: sizes)
}

/// The Hellinger distance H(p, q) = √(1 - Σ √(pᵢqᵢ)) in [0, 1] between two normalised discrete distributions
/// (equivalently ‖√p - √q‖₂/√2, the form Evidently's `hellinger` uses; drift threshold 0.1 there).
///
/// - Throws: as `jensenShannonDistance`.
public func hellingerDistance(reference: [Double], current: [Double]) throws(DriftStatisticsError) -> DriftTestResult {
  let (p, q, sizes) = try normalisedPair(reference, current)
  var sum = 0.0
  for i in p.indices {
    let d = p[i].squareRoot() - q[i].squareRoot()
    sum += d * d
  }
  return DriftTestResult(statistic: (sum / 2).squareRoot(), pValue: nil, sampleSizes: sizes)
}

/// x·log(x/y) with scipy's `rel_entr` conventions for x = 0 (0) and x > 0 = y (+∞).
@inline(__always) func relativeEntropy(_ x: Double, _ y: Double) -> Double {
  if x == 0 { return 0 }
  if y == 0 { return .infinity }
  return x * log(x / y)
}

private func logBase(_ base: Double) throws(DriftStatisticsError) -> Double {
  guard base > 0, base != 1, base.isFinite else { throw .invalidParameter("the logarithm base must be positive, finite and not 1") }
  return log(base)
}

private func normalisedPair(_ p: [Double], _ q: [Double]) throws(DriftStatisticsError) -> ([Double], [Double], [Int]) {
  let sp = try requireCounts(p, name: "reference")
  let sq = try requireCounts(q, name: "current")
  guard p.count == q.count else { throw .lengthMismatch(expected: p.count, actual: q.count) }
  return (p.map { $0 / sp }, q.map { $0 / sq }, [p.count, q.count])
}
