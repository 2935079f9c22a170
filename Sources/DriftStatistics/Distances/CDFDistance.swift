/// The first Wasserstein distance between two one-dimensional empirical distributions, as
/// `scipy.stats.wasserstein_distance`: ∫|F_u - F_v| dx over the pooled support.
///
/// Evidently's `wasserstein` drift method divides this by max(σ_reference, 0.001) (population σ)
/// and flags drift at 0.1; that normalisation is left to the caller.
///
/// - Parameters:
///   - reference: the u values (finite).
///   - current: the v values (finite).
///   - referenceWeights, currentWeights: optional non-negative weights (normalised internally).
/// - Throws: `DriftStatisticsError` for empty samples, NaN/±∞ values, or bad weights.
/// - Complexity: O(n log n): two sorts and one merge pass.
public func wassersteinDistance(
  reference: [Double], current: [Double], referenceWeights: [Double]? = nil, currentWeights: [Double]? = nil
) throws(DriftStatisticsError) -> DriftTestResult {
  let d = try cdfDistance(power: 1, reference, current, referenceWeights, currentWeights)
  return DriftTestResult(statistic: d, pValue: nil, sampleSizes: [reference.count, current.count])
}

/// The energy distance between two one-dimensional empirical distributions, as
/// `scipy.stats.energy_distance`: √2 · (∫(F_u - F_v)² dx)^{1/2} (Székely & Rizzo, 2013).
///
/// - Throws: as `wassersteinDistance`.
public func energyDistance(
  reference: [Double], current: [Double], referenceWeights: [Double]? = nil, currentWeights: [Double]? = nil
) throws(DriftStatisticsError) -> DriftTestResult {
  let d = try cdfDistance(power: 2, reference, current, referenceWeights, currentWeights)
  return DriftTestResult(statistic: 2.0.squareRoot() * d, pValue: nil, sampleSizes: [reference.count, current.count])
}

/// (∫|F_u - F_v|^p dx)^{1/p} for p = 1 or 2, by a merge over the two sorted samples.
private func cdfDistance(
  power: Int, _ u: [Double], _ v: [Double], _ uw: [Double]?, _ vw: [Double]?
) throws(DriftStatisticsError) -> Double {
  let su = try sortedWithCumulativeWeights(u, uw, name: "reference")
  let sv = try sortedWithCumulativeWeights(v, vw, name: "current")
  let nu = su.values.count, nv = sv.values.count
  let totalU = su.cumulative.last ?? 1, totalV = sv.cumulative.last ?? 1
  var i = 0, j = 0
  var sum = 0.0
  var previous = min(su.values[0], sv.values[0])
  // At each distinct pooled value x (ascending), both CDFs are right-continuous step functions;
  // the integrand is constant up to the next pooled value.
  while i < nu || j < nv {
    let x = (j >= nv || (i < nu && su.values[i] <= sv.values[j])) ? su.values[i] : sv.values[j]
    if i > 0 || j > 0 {
      let fu = su.weighted ? su.cumulative[i] / totalU : Double(i) / Double(nu)
      let fv = sv.weighted ? sv.cumulative[j] / totalV : Double(j) / Double(nv)
      let gap = (fu - fv).magnitude
      sum += (power == 1 ? gap : gap * gap) * (x - previous)
    }
    while i < nu && su.values[i] == x { i += 1 }
    while j < nv && sv.values[j] == x { j += 1 }
    previous = x
  }
  return power == 1 ? sum : sum.squareRoot()
}

private struct SortedSample {
  var values: ContiguousArray<Double>
  var cumulative: ContiguousArray<Double>   // cumulative[k] = weight of the k smallest values
  var weighted: Bool
}

private func sortedWithCumulativeWeights(_ values: [Double], _ weights: [Double]?, name: String) throws(DriftStatisticsError) -> SortedSample {
  try requireSample(values, name: name)
  for x in values where x.isInfinite { throw .infiniteValue(name: name) }
  guard let weights else {
    // Integer order keys sort faster than doubles (see `sortedOrderKeys`); -0 becomes +0, harmless here.
    let sorted = ContiguousArray(try sortedOrderKeys(ContiguousArray(values), name: name).lazy.map(doubleFromOrderKey))
    return SortedSample(values: sorted, cumulative: [0, Double(values.count)], weighted: false)
  }
  guard weights.count == values.count else { throw .lengthMismatch(expected: values.count, actual: weights.count) }
  try requireCounts(weights, name: "\(name) weights")
  let order = values.indices.sorted { values[$0] < values[$1] }
  var sorted = ContiguousArray<Double>()
  var cumulative = ContiguousArray<Double>([0])
  sorted.reserveCapacity(values.count)
  cumulative.reserveCapacity(values.count + 1)
  var running = 0.0
  for k in order {
    sorted.append(values[k])
    running += weights[k]
    cumulative.append(running)
  }
  return SortedSample(values: sorted, cumulative: cumulative, weighted: true)
}
