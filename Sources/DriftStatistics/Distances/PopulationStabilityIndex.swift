/// The Population Stability Index with bins at the reference sample's quantiles.
///
/// Formula: PSI = Σᵢ (cᵢ - rᵢ)·ln(cᵢ/rᵢ), where rᵢ and cᵢ are the shares of the reference and current
/// samples in bin i. Bins: the `bins`+1 reference quantiles at i/bins by numpy's default ("linear",
/// Hyndman–Fan type 7) interpolation; only the interior edges are used, so the outer bins are open to
/// ±∞ and no current value falls outside; bin i is [eᵢ, eᵢ₊₁) (a value equal to an edge goes right,
/// `np.searchsorted(side='right')`). Epsilon: every share below `epsilon` (1e-4 by default) is raised
/// to `epsilon`, without renormalising, so an empty bin contributes a large but finite term.
/// This is `psi_quantile` of the reference vectors (`make_vectors.py`).
///
/// Compared with Evidently's `psi` stat test (evidently `src/evidently/legacy/calculations/stattests/psi.py`
/// and `utils.get_binned_data`, read at commit 05d85bb): for a numerical feature with more than 20
/// distinct reference values Evidently bins by `np.histogram_bin_edges(reference ∪ current,
/// bins="sturges")` — equal-width bins over both samples, ⌈log₂ n⌉ + 1 of them — instead of
/// reference quantiles (its `n_bins=30` argument is unused there); otherwise one bin per category.
/// It replaces zero shares by 1e-4, or by (smallest non-zero share)/10⁶ when that share is ≤ 1e-4,
/// where we floor every share below ε at ε; and flags drift at PSI ≥ 0.1. The formula is the same,
/// so on identical bins the two agree except for bins with shares below 1e-4. We keep quantile
/// bins: each reference bin holds ~1/bins of the mass, the credit-scoring convention (Siddiqi,
/// *Credit Risk Scorecards*, 2006) behind the rule of thumb < 0.1 no shift, 0.1–0.25 moderate,
/// > 0.25 significant, and a bin layout that does not depend on the current sample. Tied reference
/// values can make edges coincide; the empty bins between them contribute (ε - ε)·ln 1 = 0.
///
/// - Parameters:
///   - reference: the reference sample (finite values; ±∞ would make the quantile edges infinite).
///   - current: the current sample (±∞ allowed: it lands in an outer bin).
///   - bins: the number of quantile bins, ≥ 1.
///   - epsilon: the floor for a bin's share, > 0.
/// - Returns: statistic = PSI, no p-value, sizes [n_reference, n_current].
/// - Throws: `DriftStatisticsError` for empty or NaN samples, infinite reference values, bad parameters.
/// - Complexity: O(n log bins) expected to select the reference quantiles and bin both samples.
public func populationStabilityIndex(
  reference: [Double], current: [Double], bins: Int = 10, epsilon: Double = 1e-4
) throws(DriftStatisticsError) -> DriftTestResult {
  guard bins >= 1 else { throw .invalidParameter("--bins must be at least 1") }
  guard epsilon > 0, epsilon.isFinite else { throw .invalidParameter("epsilon must be positive") }
  let histogram = try quantileHistograms(reference: reference, current: current, bins: bins)
  let psi = populationStabilityIndex(referenceCounts: histogram.reference, currentCounts: histogram.current, epsilon: epsilon)
  return DriftTestResult(statistic: psi, pValue: nil, sampleSizes: [reference.count, current.count])
}

/// Histograms of two samples over `bins` bins at the reference quantiles (the binning of
/// `populationStabilityIndex(reference:current:bins:epsilon:)`, also used for JS/KL/Hellinger on raw samples).
///
/// - Returns: the interior edges and the counts per bin of each sample.
/// - Throws: `DriftStatisticsError` for empty or NaN samples, infinite reference values, or bins < 1.
public func quantileHistograms(reference: [Double], current: [Double], bins: Int) throws(DriftStatisticsError) -> (edges: [Double], reference: [Double], current: [Double]) {
  guard bins >= 1, bins <= 1_000_000 else { throw .invalidParameter("--bins must be between 1 and 1000000") }
  try requireSample(reference, name: "reference")
  try requireSample(current, name: "current")
  for x in reference where x.isInfinite { throw .infiniteValue(name: "reference") }
  var values = ContiguousArray(reference)
  // Only the order statistics around each quantile are needed: select them instead of sorting.
  var positions: [Int] = []
  for i in 1..<max(bins, 1) {
    let virtualIndex = Double(values.count - 1) * (Double(i) * (1.0 / Double(bins)))
    let below = Int(virtualIndex.rounded(.down))
    positions += [below, below + 1]
  }
  selectOrderStatistics(&values, positions: positions)
  let edges = interiorQuantileEdges(selected: values, bins: bins)
  return (edges, binCounts(values, edges: edges), binCounts(current, edges: edges))
}

/// PSI from two vectors of bin (or category) counts, with the same epsilon floor on the shares.
///
/// Use it for categorical features (one bin per category, zero counts allowed) and for merged
/// histograms from inference pods.
public func populationStabilityIndex(referenceCounts: [Double], currentCounts: [Double], epsilon: Double = 1e-4) -> Double {
  let nr = referenceCounts.reduce(0, +), nc = currentCounts.reduce(0, +)
  var psi = 0.0
  for i in referenceCounts.indices {
    let r = max(referenceCounts[i] / nr, epsilon)
    let c = max(currentCounts[i] / nc, epsilon)
    psi += (c - r) * log(c / r)
  }
  return psi
}

/// The interior edges (quantiles 1/bins … (bins-1)/bins) of a sample whose needed order statistics are in
/// place (`selectOrderStatistics`), computed exactly as numpy's `np.quantile(a, np.linspace(0, 1, bins+1))`
/// with linear interpolation, so bin membership matches numpy.
func interiorQuantileEdges(selected sorted: ContiguousArray<Double>, bins: Int) -> [Double] {
  let n = sorted.count
  let step = 1.0 / Double(bins)
  var edges: [Double] = []
  edges.reserveCapacity(max(bins - 1, 0))
  for i in stride(from: 1, to: bins, by: 1) {
    let q = Double(i) * step
    let virtualIndex = Double(n - 1) * q
    let below = min(max(virtualIndex.rounded(.down), 0), Double(n - 1))
    let lo = Int(below)
    let hi = min(lo + 1, n - 1)
    let gamma = virtualIndex - below
    let a = sorted[lo], b = sorted[hi]
    let diff = b - a
    // numpy's _lerp: a + diff·t, but b - diff·(1-t) for t ≥ 0.5 (monotone and exact at both ends)
    edges.append(gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma)
  }
  return edges
}

/// Counts per bin, bin k = number of edges ≤ x (`np.searchsorted(edges, x, side='right')`).
func binCounts(_ values: some Sequence<Double>, edges: [Double]) -> [Double] {
  var counts = [Double](repeating: 0, count: edges.count + 1)
  for x in values {
    var lo = 0, hi = edges.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if edges[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    counts[lo] += 1
  }
  return counts
}
