import Testing
@testable import DriftStatistics

// Counts merged from many devices: every test takes counts up to 2⁵³ exactly, and refuses larger,
// infinite or NaN counts with an error instead of trapping (issue 18, item 0).

private let max53 = maximumExactCount           // 9_007_199_254_740_992
private let max53d = Double(maximumExactCount)

/// Records an issue unless `body` throws `expected`.
private func expectError(_ expected: DriftStatisticsError, _ body: () throws -> Void) {
  do {
    try body()
    Issue.record("expected \(expected), got a result")
  } catch {
    #expect((error as? DriftStatisticsError) == expected)
  }
}

private func relativeDifference(_ a: Double, _ b: Double) -> Double { a == b ? 0 : (a - b).magnitude / max(a.magnitude, b.magnitude) }

// MARK: - Fisher

struct FisherCase: Sendable, CustomTestStringConvertible {
  let table: [[Int]], alternative: Alternative, pValue: Double
  var testDescription: String { "\(table) \(alternative.rawValue)" }
}

/// Reference p-values: 30-digit mpmath sums of the hypergeometric pmf (loggamma for the first term,
/// the ratio recurrence after it, stopped below 1e-25 of the sum; two-sided by scipy's rule, tables
/// no more likely than the observed one times 1 + 1e-14), except the small table, which is scipy
/// 1.17.1's fisher_exact. scipy is not the reference for the large ones: its hypergeom (Boost) is
/// 3e-8 to 5e-7 off at these sizes (0.3240456869025506 for the `less` row below), and its int64 mode
/// overflows past ~3·10⁹ (fisher_exact gives 1.0 for the first row and 0.676 for the third).
let largeFisherCases: [FisherCase] = [
  .init(table: [[1_000_000_000, 2_000_000_000], [3_000_000_007, 1_000_000_000]], alternative: .twoSided, pValue: 0),
  .init(table: [[1_000_000_000, 2_000_000_000], [3_000_000_007, 1_000_000_000]], alternative: .greater, pValue: 1),
  .init(table: [[3_000_000_000, 3_000_000_000], [3_000_050_000, 3_000_000_000]], alternative: .twoSided, pValue: 0.648090678067936406),
  .init(table: [[3_000_000_000, 3_000_000_000], [3_000_050_000, 3_000_000_000]], alternative: .less, pValue: 0.324046022694156153),
  .init(table: [[1_000_000_000, 1_000_000_000], [1_000_060_000, 1_000_000_000]], alternative: .twoSided, pValue: 0.342801419338934855),
  .init(table: [[123_456_789, 987_654_321], [123_470_000, 987_650_000]], alternative: .twoSided, pValue: 0.409352865129724051),
  .init(table: [[123_456_789, 987_654_321], [123_470_000, 987_650_000]], alternative: .less, pValue: 0.20469227155589659113),
  .init(table: [[30, 20], [15, 35]], alternative: .twoSided, pValue: 0.004635020180798911),
]

@Test("Fisher's exact test on counts of 10⁸–3·10⁹ is exact to 1e-12 (30-digit sums), where scipy's int64 mode overflows",
      arguments: largeFisherCases)
func fisherOnLargeCounts(_ c: FisherCase) throws {
  let p = try #require(try fisherExact(table: c.table, alternative: c.alternative).pValue)
  #expect(relativeDifference(p, c.pValue) <= 1e-12 || (p - c.pValue).magnitude <= 1e-15, "got \(p)")
}

@Test("Fisher's exact test on counts of 2⁵³ gives the normal-limit p-value (Yates' chi-squared) and consistent tails")
func fisherAt2To53() throws {
  let table = [[max53, max53], [max53 - 100_000_000, max53]]
  let twoSided = try #require(try fisherExact(table: table).pValue)
  let yates = try chiSquaredContingency(observed: table.map { $0.map(Double.init) }).pValue
  // σ ≈ 4.7·10⁷ here: the hypergeometric is normal to O(1/σ), so both p-values agree far beyond 1e-5.
  #expect(relativeDifference(twoSided, yates) <= 1e-5, "Fisher \(twoSided), Yates \(yates)")
  #expect(twoSided > 0.01 && twoSided < 0.9)
  // P(X ≤ a) + P(X ≥ a) = 1 + P(X = a)
  let less = try #require(try fisherExact(table: table, alternative: .less).pValue)
  let greater = try #require(try fisherExact(table: table, alternative: .greater).pValue)
  let h = try HypergeometricDistribution(total: 4 * max53 - 100_000_000, successes: 2 * max53, draws: 2 * max53 - 100_000_000)
  #expect((less + greater - 1 - h.pmf(max53)).magnitude <= 1e-12)
  #expect(relativeDifference(twoSided, 2 * min(less, greater)) <= 1e-6)
}

@Test("Fisher refuses counts beyond 2⁵³ and negative counts with an error")
func fisherRefusesBadCounts() {
  expectError(.countTooLarge(name: "table")) { _ = try fisherExact(table: [[max53 + 1, 1], [1, 1]]) }
  expectError(.countTooLarge(name: "table")) { _ = try fisherExact(table: [[1, 1], [1, Int.max]]) }
  expectError(.negativeValue(name: "table")) { _ = try fisherExact(table: [[1, -1], [1, 1]]) }
}

struct PMFCase: Sendable, CustomTestStringConvertible {
  let k: Int, total: Int, successes: Int, draws: Int, logPMF: Double
  var testDescription: String { "k=\(k) N=\(total) K=\(successes) n=\(draws)" }
}

/// ln pmf from mpmath at 60 digits: mpmath.loggamma differences (one-liner in the test's comment).
let hypergeometricPMFCases: [PMFCase] = [
  .init(k: 9_007_199_264_740_992, total: 36_028_797_018_963_968, successes: 18_014_398_509_481_984, draws: 18_014_398_509_481_984, logPMF: -18.61639609797578128231687),
  .init(k: 9_007_198_954_740_992, total: 36_028_797_018_963_968, successes: 18_014_398_509_481_984, draws: 18_014_398_509_481_984, logPMF: -38.57820608073609846585609),
  .init(k: 4_503_599_627_370_496, total: 36_028_797_018_951_623, successes: 9_007_199_254_740_992, draws: 18_014_398_509_482_983, logPMF: -18.45035060220898438860451),
  .init(k: 1_000_000_000, total: 4_000_000_007, successes: 3_000_000_000, draws: 1_000_000_007, logPMF: -339797946.6982644092593732),
  .init(k: 7, total: 50, successes: 20, draws: 25, logPMF: -2.936688614112119685269317),
]

// mpmath: lg = mp.loggamma; lg(K+1)-lg(k+1)-lg(K-k+1)+lg(N-K+1)-lg(n-k+1)-lg(N-K-n+k+1)-(lg(N+1)-lg(n+1)-lg(N-n+1))
@Test("The hypergeometric pmf keeps its precision at margins up to 4·2⁵³ (log-gamma differences would lose it all)",
      arguments: hypergeometricPMFCases)
func hypergeometricPMFPrecision(_ c: PMFCase) throws {
  let h = try HypergeometricDistribution(total: c.total, successes: c.successes, draws: c.draws)
  // An absolute error in ln pmf is the relative error of the pmf.
  #expect((h.logPMF(c.k) - c.logPMF).magnitude <= 1e-12 * max(1, c.logPMF.magnitude), "got \(h.logPMF(c.k))")
}

@Test("The hypergeometric tails sum to one on both sides of the term-by-term / Euler–Maclaurin switch")
func hypergeometricTailsAreComplementary() throws {
  for total in [2_000, 200_000_000, 40_000_000_000, 4 * max53] {
    let h = try HypergeometricDistribution(total: total, successes: total / 3, draws: total / 2)
    for offset in [-3.0, -0.5, 0, 0.7, 2.5] {
      let k = h.mode + Int(offset * h.standardDeviation)
      #expect((h.cdf(k) + h.sf(k) - 1).magnitude <= 1e-13, "N=\(total) k=\(k)")
      #expect((h.cdf(k) - h.cdf(k - 1) - h.pmf(k)).magnitude <= 1e-13, "N=\(total) k=\(k)")
    }
  }
}

// MARK: - Chi-squared, two-proportion

@Test("Chi-squared contingency takes counts of 2⁵³ and refuses 1e19, infinity and NaN with an error")
func contingencyAtTheLimit() throws {
  let result = try chiSquaredContingency(observed: [[max53d, max53d], [max53d - 1e9, max53d]], yatesCorrection: false)
  #expect(result.sampleSizes == [2 * max53, 2 * max53 - 1_000_000_000])
  // Pearson's statistic of this table, N(ad-bc)²/(r₁r₂c₁c₂) with ad-bc = 1e9·2⁵³, in closed form.
  let n = 4 * max53d - 1e9
  let expected = n * (1e9 * max53d) * (1e9 * max53d) / ((2 * max53d) * (2 * max53d - 1e9) * (2 * max53d - 1e9) * (2 * max53d))
  // Each expected frequency near 2⁵³ is rounded to a double (ulp 2), and o - e ≈ 2.5·10⁸ keeps that
  // error: ~10⁻⁸ relative, as in scipy, which computes the same way.
  #expect(relativeDifference(result.statistic, expected) <= 1e-6)
  expectError(.countTooLarge(name: "table")) { _ = try chiSquaredContingency(observed: [[1e19, 1], [1, 1]]) }
  expectError(.infiniteValue(name: "table")) { _ = try chiSquaredContingency(observed: [[.infinity, 1], [1, 1]]) }
  expectError(.notANumber(name: "table")) { _ = try chiSquaredContingency(observed: [[.nan, 1], [1, 1]]) }
}

@Test("Chi-squared goodness of fit and the two-proportion test take 2⁵³ and refuse more")
func goodnessOfFitAndProportionsAtTheLimit() throws {
  let gof = try chiSquaredGoodnessOfFit(observed: [max53d, max53d, max53d])
  #expect(gof.statistic == 0 && gof.pValue == 1 && gof.sampleSizes == [3 * max53])
  expectError(.countTooLarge(name: "observed")) { _ = try chiSquaredGoodnessOfFit(observed: [2 * max53d, 1]) }
  // Expected frequencies are scaled, not counted: they may pass 2⁵³ when the total does.
  let scaled = try chiSquaredGoodnessOfFit(observed: [max53d, max53d, max53d], expected: [1.5 * max53d, 0.75 * max53d, 0.75 * max53d])
  #expect(relativeDifference(scaled.statistic, max53d / 3) <= 1e-12)

  let z = try twoProportionZTest(successes1: max53 / 2, trials1: max53, successes2: max53 / 2 - 1_000_000, trials2: max53)
  #expect(z.sampleSizes == [max53, max53])
  // z = (p₁ - p₂)/√(P(1-P)·2/n) with p₁ - p₂ = 10⁶/2⁵³ and P ≈ ½.
  #expect(relativeDifference(z.statistic, (1e6 / max53d) / (0.25 * 2 / max53d).squareRoot()) <= 1e-6)
  expectError(.countTooLarge(name: "trials")) { _ = try twoProportionZTest(successes1: 1, trials1: max53 + 1, successes2: 1, trials2: 2) }
}

// MARK: - Summaries merged from devices

@Test("Histograms and categorical counts merge up to 2⁵³ per bin and refuse to pass it, unchanged")
func summariesRefuseToOverflow() throws {
  var histogram = try FixedBinHistogram(edges: [0, 1], counts: [max53d - 5, 1, 0])
  let other = try FixedBinHistogram(edges: [0, 1], counts: [5, 2, 3])
  try histogram.merge(other)
  #expect(histogram.counts == [max53d, 3, 3])
  expectError(.countTooLarge(name: "histogram bin")) { try histogram.merge(other) }
  #expect(histogram.counts == [max53d, 3, 3])
  expectError(.countTooLarge(name: "histogram bin")) { try histogram.insert(contentsOf: [-1]) }
  expectError(.infiniteValue(name: "histogram bin")) { _ = try FixedBinHistogram(edges: [0], counts: [.infinity, 1]) }
  expectError(.countTooLarge(name: "histogram bin")) { _ = try FixedBinHistogram(edges: [0], counts: [1e19, 1]) }

  var categories = try CategoricalCounts(counts: ["a": max53d, "b": 1])
  let more = try CategoricalCounts(counts: ["a": 1])
  expectError(.countTooLarge(name: "category")) { try categories.merge(more) }
  #expect(categories.counts == ["a": max53d, "b": 1])
  expectError(.countTooLarge(name: "category")) { try categories.insert(contentsOf: ["a"]) }
  expectError(.notANumber(name: "category")) { _ = try CategoricalCounts(counts: ["a": .nan]) }
}

/// A serialized KLL sketch (layout in `KLLSketch.serialized()`) of `count` values: one item of
/// weight 2^level (count must be 2^level).
private func kllBytes(count: UInt64, level: Int, value: Double) -> [UInt8] {
  var out: [UInt8] = Array("KLL1".utf8)
  func append<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
  append(UInt32(400)); append(count); append(value.bitPattern); append(value.bitPattern); append(UInt64(1))
  append(UInt32(level + 1))
  for h in 0...level {
    append(UInt32(h == level ? 1 : 0))
    if h == level { append(value.bitPattern) }
  }
  return out
}

@Test("KLL sketches of 2⁵³ values merge and compare without trapping; more is refused")
func sketchesAtTheLimit() throws {
  let big = try KLLSketch(serialized: kllBytes(count: UInt64(max53), level: 53, value: 1))
  #expect(big.count == max53)
  let other = try KLLSketch(serialized: kllBytes(count: UInt64(max53), level: 53, value: 2))
  let ks = try kolmogorovSmirnovTwoSample(reference: big, current: other)
  #expect(ks.statistic == 1 && ks.pValue == 0 && ks.sampleSizes == [max53, max53])
  var merged = big
  var small = KLLSketch()
  try small.insert(3)
  expectError(.countTooLarge(name: "merged sketch")) { try merged.merge(small) }
  #expect(merged == big)
  expectError(.countTooLarge(name: "sketch")) { try merged.insert(3) }
  // A sketch claiming 2⁶³ values (weight 2⁶³ at level 63) is refused, not read into a trapping Int.
  expectError(.countTooLarge(name: "sketch")) { _ = try KLLSketch(serialized: kllBytes(count: 1 << 63, level: 63, value: 1)) }
}
