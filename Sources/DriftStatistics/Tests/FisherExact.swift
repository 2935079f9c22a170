/// Fisher's exact test on a 2×2 table, as `scipy.stats.fisher_exact`.
///
/// Under the null hypothesis the top-left count follows the hypergeometric distribution with the
/// table's margins fixed. The two-sided p-value sums the probabilities of all tables no more likely than
/// the observed one, with scipy's relative slack of 1e-14 for ties in probability, found (as scipy does)
/// by a binary search on the far side of the mode (scipy `stats/_stats_py.py`, `fisher_exact`, 1.17.1).
/// A zero row or column total gives p = 1 (scipy returns p = 1 with a NaN odds ratio; we report the
/// odds ratio as 1 there rather than NaN).
///
/// Counts up to 2⁵³ each are exact and cost the same time as small ones: the tails come from
/// `HypergeometricDistribution`, whose pmf keeps its precision at any size and whose sums do not
/// walk through the counts. Two places differ from scipy on purpose, both beyond ~3·10⁹: scipy's
/// mode (n+1)(n₁+1) overflows int64 there (and its two-sided p-value is then wrong, e.g. 1 for
/// [[10⁹, 2·10⁹], [3·10⁹, 10⁹]]), ours is exact; and scipy's odds ratio a·d overflows, ours is
/// computed in floating point.
///
/// - Parameters:
///   - table: [[a, b], [c, d]], counts in 0…2⁵³ (rows: reference/current, columns: event/no event).
///   - alternative: `less` / `greater` test whether the odds ratio is below / above 1.
/// - Returns: statistic = the sample odds ratio ad/(bc), which is +∞ when b·c = 0 and a·d > 0 (as
///   scipy; `edgeml stats` prints it as JSON null), the p-value, and the row totals.
/// - Throws: `DriftStatisticsError.badTableShape`, `.negativeValue` or `.countTooLarge`.
/// - Complexity: O(1) in the counts (a binary search of O(log n) pmf evaluations, and tails summed
///   term by term only while the distribution is narrow).
public func fisherExact(table: [[Int]], alternative: Alternative = .twoSided) throws(DriftStatisticsError) -> DriftTestResult {
  guard table.count == 2, table.allSatisfy({ $0.count == 2 }) else { throw .badTableShape("Fisher's exact test needs a 2×2 table") }
  let (a, b, c, d) = (table[0][0], table[0][1], table[1][0], table[1][1])
  if a < 0 || b < 0 || c < 0 || d < 0 { throw .negativeValue(name: "table") }
  if max(a, b, c, d) > maximumExactCount { throw .countTooLarge(name: "table") }
  let n1 = a + b, n2 = c + d, n = a + c
  let sizes = [n1, n2]
  if n1 == 0 || n2 == 0 || n == 0 || b + d == 0 {
    return DriftTestResult(statistic: 1, pValue: 1, sampleSizes: sizes)   // odds ratio undefined: reported as 1
  }
  let oddsRatio = (c > 0 && b > 0) ? Double(a) * Double(d) / (Double(c) * Double(b)) : .infinity
  let h = try HypergeometricDistribution(total: n1 + n2, successes: n1, draws: n)
  let p: Double
  switch alternative {
  case .less:
    p = h.cdf(a)
  case .greater:
    p = try HypergeometricDistribution(total: n1 + n2, successes: n1, draws: b + d).cdf(b)
  case .twoSided:
    let mode = h.mode
    let pExact = h.pmf(a)
    let pMode = h.pmf(mode)
    let gamma = 1 + 1e-14
    if (pExact - pMode).magnitude / max(pExact, pMode) <= 1e-14 {
      p = 1
    } else if a < mode {
      let lower = h.cdf(a)
      if h.pmf(n) > pExact * gamma {
        p = lower
      } else {
        let guess = binarySearch({ -h.pmf($0) }, target: -pExact * gamma, lo: mode, hi: n)
        p = lower + h.sf(guess)
      }
    } else {
      let upper = h.sf(a - 1)
      if h.pmf(0) > pExact * gamma {
        p = upper
      } else {
        let guess = binarySearch({ h.pmf($0) }, target: pExact * gamma, lo: 0, hi: mode)
        p = upper + h.cdf(guess)
      }
    }
  }
  return DriftTestResult(statistic: oddsRatio, pValue: min(1, p), sampleSizes: sizes)
}

/// The index i in lo…hi with f(i) ≤ target < f(i+1) for f ascending there (scipy's
/// `_binary_search_for_binom_tst`, whose off-by-one conventions the p-value depends on).
private func binarySearch(_ f: (Int) -> Double, target: Double, lo loIn: Int, hi hiIn: Int) -> Int {
  var lo = loIn, hi = hiIn
  while lo < hi {
    let mid = lo + (hi - lo) / 2
    let value = f(mid)
    if value < target { lo = mid + 1 } else if value > target { hi = mid - 1 } else { return mid }
  }
  return f(lo) <= target ? lo : lo - 1
}
