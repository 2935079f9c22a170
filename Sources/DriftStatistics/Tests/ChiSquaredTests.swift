/// Pearson's chi-squared goodness-of-fit test, as `scipy.stats.chisquare`.
///
/// χ² = Σ (oᵢ - eᵢ)²/eᵢ with k - 1 - ddof degrees of freedom; the expected frequencies default to the
/// mean of the observed ones. Like scipy ≥ 1.9 we require Σo = Σe (relative tolerance 1e-8) when
/// expected frequencies are given, because otherwise the statistic does not have a χ² distribution.
///
/// - Parameters:
///   - observed: observed counts (finite, non-negative, at most 2⁵³ each, not all zero).
///   - expected: expected frequencies of the same length, all positive and finite; nil means uniform.
///   - ddof: the "delta degrees of freedom" adjustment (parameters estimated from the data).
/// - Throws: `DriftStatisticsError` when a vector is empty, negative, non-finite, beyond 2⁵³, of
///   mismatched length, an expected count is zero, the sums differ, or k - 1 - ddof < 1.
public func chiSquaredGoodnessOfFit(observed: [Double], expected: [Double]? = nil, ddof: Int = 0) throws(DriftStatisticsError) -> DriftTestResult {
  let total = try requireCounts(observed, name: "observed")
  let k = observed.count
  let expectedValues: [Double]
  if let expected {
    guard expected.count == k else { throw .lengthMismatch(expected: k, actual: expected.count) }
    let expectedTotal = try requireCounts(expected, name: "expected", isCount: false)
    if (total - expectedTotal).magnitude > 1e-8 * max(total, expectedTotal) {
      throw .invalidParameter("observed and expected frequencies must have the same sum (\(total) vs \(expectedTotal))")
    }
    expectedValues = expected
  } else {
    expectedValues = [Double](repeating: total / Double(k), count: k)
  }
  if expectedValues.contains(0) { throw .zeroExpectedFrequency }
  let df = k - 1 - ddof
  guard df >= 1 else { throw .invalidParameter("degrees of freedom k - 1 - ddof = \(df) must be at least 1") }
  var statistic = 0.0
  for i in 0..<k {
    let diff = observed[i] - expectedValues[i]
    statistic += diff * diff / expectedValues[i]
  }
  let p = ChiSquaredDistribution.sf(statistic, degreesOfFreedom: Double(df))
  return DriftTestResult(statistic: statistic, pValue: p, sampleSizes: [try sampleSize(ofTotal: total, name: "observed")])
}

/// The result of a contingency-table chi-squared test: the test plus its degrees of freedom and table of
/// expected frequencies.
public struct ContingencyTestResult: Sendable, Equatable {
  /// Pearson's χ² (after Yates' correction when it applied).
  public var statistic: Double
  /// The χ² upper-tail p-value.
  public var pValue: Double
  /// (rows - 1)·(columns - 1).
  public var degreesOfFreedom: Int
  /// rowᵢ·colⱼ/N, the frequencies expected under independence.
  public var expectedFrequencies: [[Double]]
  /// The row totals (for reference/current rows, the two sample sizes).
  public var sampleSizes: [Int]

  /// The statistic, p-value and row totals in the module's common shape.
  public var driftTestResult: DriftTestResult { DriftTestResult(statistic: statistic, pValue: pValue, sampleSizes: sampleSizes) }
}

/// The chi-squared test of independence on an r×c table, as `scipy.stats.chi2_contingency`.
///
/// Expected frequencies are rowᵢ·colⱼ/N; dof = (r-1)(c-1). With `yatesCorrection` (scipy's default)
/// and dof = 1, each observed count moves by min(0.5, |e - o|) toward its expectation before the
/// Pearson statistic is taken. dof = 0 (a single row or column) gives statistic 0 and p = 1, as scipy.
///
/// - Parameters:
///   - observed: the table, rows of equal length (e.g. row 0 = reference counts per category,
///     row 1 = current counts), finite, non-negative and at most 2⁵³ each (totals may be larger).
///   - yatesCorrection: apply Yates' continuity correction when dof = 1.
/// - Throws: `DriftStatisticsError` for a ragged or empty table, negative, non-finite or too large
///   counts, or a zero expected frequency (a row or column of zeros), where scipy raises too.
public func chiSquaredContingency(observed: [[Double]], yatesCorrection: Bool = true) throws(DriftStatisticsError) -> ContingencyTestResult {
  guard let columns = observed.first?.count, columns > 0 else { throw .badTableShape("the table is empty") }
  for row in observed where row.count != columns { throw .badTableShape("rows have different lengths") }
  var rowTotals = [Double](repeating: 0, count: observed.count)
  var columnTotals = [Double](repeating: 0, count: columns)
  for (r, row) in observed.enumerated() {
    for (c, v) in row.enumerated() {
      try requireCount(v, name: "table")
      rowTotals[r] += v
      columnTotals[c] += v
    }
  }
  let total = rowTotals.reduce(0, +)
  let expected = rowTotals.map { r in columnTotals.map { c in r * c / total } }
  if total == 0 || expected.contains(where: { $0.contains(0) }) { throw .zeroExpectedFrequency }
  let dof = (observed.count - 1) * (columns - 1)
  var sizes: [Int] = []
  for (r, rowTotal) in rowTotals.enumerated() { sizes.append(try sampleSize(ofTotal: rowTotal, name: "table row \(r)")) }
  if dof == 0 {
    return ContingencyTestResult(statistic: 0, pValue: 1, degreesOfFreedom: 0, expectedFrequencies: expected, sampleSizes: sizes)
  }
  var statistic = 0.0
  for r in observed.indices {
    for c in 0..<columns {
      var o = observed[r][c]
      let e = expected[r][c]
      if dof == 1 && yatesCorrection {
        let diff = e - o
        let direction: Double = diff > 0 ? 1 : (diff < 0 ? -1 : 0)
        o += min(0.5, diff.magnitude) * direction
      }
      statistic += (o - e) * (o - e) / e
    }
  }
  let p = ChiSquaredDistribution.sf(statistic, degreesOfFreedom: Double(dof))
  return ContingencyTestResult(statistic: statistic, pValue: p, degreesOfFreedom: dof, expectedFrequencies: expected, sampleSizes: sizes)
}
