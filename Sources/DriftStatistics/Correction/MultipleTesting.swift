/// A family-wise or false-discovery-rate correction for many p-values (one per feature).
public enum PValueCorrection: String, Sendable, CaseIterable {
  /// min(1, m·p): controls the family-wise error rate, conservative.
  case bonferroni
  /// Holm's step-down (Scand. J. Statist. 6(2), 1979): sorted ascending, p₍ᵢ₎·(m - i + 1), made
  /// monotone by a running maximum, capped at 1. Uniformly more powerful than Bonferroni.
  case holm
  /// Benjamini–Hochberg (JRSS B 57(1), 1995), as `scipy.stats.false_discovery_control(method='bh')`:
  /// p₍ᵢ₎·m/i, made monotone by a running minimum from the largest, capped at 1. Controls the FDR.
  case bh
}

/// Adjusts p-values for multiple testing; the output keeps the input order.
///
/// - Parameters:
///   - pValues: p-values in [0, 1].
///   - method: see `PValueCorrection`.
/// - Returns: adjusted p-values in [0, 1]; reject hypothesis i at level α when adjusted[i] ≤ α.
/// - Throws: `DriftStatisticsError.emptySample`, `.notANumber` or `.invalidParameter` for values outside [0, 1].
/// - Complexity: O(m log m).
public func adjustPValues(_ pValues: [Double], method: PValueCorrection) throws(DriftStatisticsError) -> [Double] {
  try requireSample(pValues, name: "p-values")
  for p in pValues where !(0...1).contains(p) { throw .invalidParameter("p-values must lie in [0, 1]; got \(p)") }
  let m = pValues.count
  let md = Double(m)
  switch method {
  case .bonferroni:
    return pValues.map { min(1, $0 * md) }
  case .holm:
    let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
    var adjusted = [Double](repeating: 0, count: m)
    var running = 0.0
    for (rank, index) in order.enumerated() {
      running = max(running, min(1, Double(m - rank) * pValues[index]))
      adjusted[index] = running
    }
    return adjusted
  case .bh:
    let order = pValues.indices.sorted { pValues[$0] < pValues[$1] }
    var adjusted = [Double](repeating: 0, count: m)
    var running = Double.infinity
    for rank in stride(from: m - 1, through: 0, by: -1) {
      let index = order[rank]
      running = min(running, pValues[index] * (md / Double(rank + 1)))
      adjusted[index] = min(1, max(0, running))
    }
    return adjusted
  }
}
