import Testing
@testable import DriftStatistics

/// One degenerate input and what it must give: a thrown `DriftStatisticsError`, or a finite result.
struct DegenerateCase: Sendable, CustomTestStringConvertible {
  enum Outcome: Sendable { case throwsError, finite(statistic: Double?, pValue: Double?) }
  let name: String
  let run: @Sendable () throws -> DriftTestResult
  let outcome: Outcome
  var testDescription: String { name }
}

private let nan = Double.nan, inf = Double.infinity
private func ks(_ a: [Double], _ b: [Double], _ m: KolmogorovSmirnovMethod = .auto) throws -> DriftTestResult {
  try kolmogorovSmirnovTwoSample(reference: a, current: b, method: m).driftTestResult
}

let degenerateCases: [DegenerateCase] = [
  .init(name: "KS: empty reference throws", run: { try ks([], [1]) }, outcome: .throwsError),
  .init(name: "KS: NaN throws", run: { try ks([1, nan], [1, 2]) }, outcome: .throwsError),
  .init(name: "KS: one value each, different: D = 1, exact p = 1", run: { try ks([1], [2]) }, outcome: .finite(statistic: 1, pValue: 1)),
  .init(name: "KS: one value each, asymptotic: defined where scipy gives NaN", run: { try ks([1], [2], .asymp) }, outcome: .finite(statistic: 1, pValue: 1)),
  .init(name: "KS: all values equal: D = 0, p = 1", run: { try ks([3, 3, 3], [3, 3]) }, outcome: .finite(statistic: 0, pValue: 1)),
  .init(name: "KS: ±infinity are ordinary extreme values", run: { try ks([-inf, 0, inf], [1, 2, inf]) }, outcome: .finite(statistic: nil, pValue: nil)),
  .init(name: "Mann–Whitney: all values equal gives p = 1", run: { try mannWhitneyU(reference: [2, 2, 2], current: [2, 2]) }, outcome: .finite(statistic: 3, pValue: 1)),
  .init(name: "Mann–Whitney: empty throws", run: { try mannWhitneyU(reference: [], current: [2]) }, outcome: .throwsError),
  .init(name: "Mann–Whitney: NaN throws", run: { try mannWhitneyU(reference: [nan], current: [2]) }, outcome: .throwsError),
  .init(name: "Mann–Whitney: one value each", run: { try mannWhitneyU(reference: [1], current: [2]) }, outcome: .finite(statistic: 0, pValue: 1)),
  .init(name: "chi²: a zero-count expected bin throws", run: { try chiSquaredGoodnessOfFit(observed: [1, 2], expected: [3, 0]) }, outcome: .throwsError),
  .init(name: "chi²: zero-count observed bins are fine", run: { try chiSquaredGoodnessOfFit(observed: [0, 0, 6]) }, outcome: .finite(statistic: 12, pValue: nil)),
  .init(name: "chi²: a single category has no degrees of freedom", run: { try chiSquaredGoodnessOfFit(observed: [5]) }, outcome: .throwsError),
  .init(name: "chi²: negative counts throw", run: { try chiSquaredGoodnessOfFit(observed: [-1, 2]) }, outcome: .throwsError),
  .init(name: "contingency: a zero column throws (zero expected frequency)", run: { try chiSquaredContingency(observed: [[1, 0], [2, 0]]).driftTestResult }, outcome: .throwsError),
  .init(name: "contingency: one row gives statistic 0, p 1", run: { try chiSquaredContingency(observed: [[1, 2, 3]]).driftTestResult }, outcome: .finite(statistic: 0, pValue: 1)),
  .init(name: "contingency: ragged rows throw", run: { try chiSquaredContingency(observed: [[1, 2], [3]]).driftTestResult }, outcome: .throwsError),
  .init(name: "Fisher: a zero row gives p = 1", run: { try fisherExact(table: [[0, 0], [3, 4]]) }, outcome: .finite(statistic: 1, pValue: 1)),
  .init(name: "Fisher: not 2×2 throws", run: { try fisherExact(table: [[1, 2, 3], [3, 4, 5]]) }, outcome: .throwsError),
  .init(name: "two-proportion: no successes at all throws", run: { try twoProportionZTest(successes1: 0, trials1: 10, successes2: 0, trials2: 20) }, outcome: .throwsError),
  .init(name: "two-proportion: successes above trials throws", run: { try twoProportionZTest(successes1: 11, trials1: 10, successes2: 0, trials2: 20) }, outcome: .throwsError),
  .init(name: "Wasserstein: identical one-point samples are 0 apart", run: { try wassersteinDistance(reference: [1], current: [1]) }, outcome: .finite(statistic: 0, pValue: nil)),
  .init(name: "Wasserstein: infinity throws", run: { try wassersteinDistance(reference: [1, inf], current: [1]) }, outcome: .throwsError),
  .init(name: "energy: empty throws", run: { try energyDistance(reference: [1], current: []) }, outcome: .throwsError),
  .init(name: "PSI: constant reference puts everything in one bin", run: { try populationStabilityIndex(reference: [1, 1, 1], current: [1, 1]) }, outcome: .finite(statistic: 0, pValue: nil)),
  .init(name: "PSI: infinite current values land in the outer bins", run: { try populationStabilityIndex(reference: [1, 2, 3, 4], current: [-inf, inf]) }, outcome: .finite(statistic: nil, pValue: nil)),
  .init(name: "PSI: zero bins throws", run: { try populationStabilityIndex(reference: [1], current: [1], bins: 0) }, outcome: .throwsError),
  .init(name: "Jensen–Shannon: zero bins are fine", run: { try jensenShannonDistance(reference: [1, 0], current: [0, 1], base: 2) }, outcome: .finite(statistic: 1, pValue: nil)),
  .init(name: "Jensen–Shannon: all-zero vector throws", run: { try jensenShannonDistance(reference: [0, 0], current: [0, 1]) }, outcome: .throwsError),
  .init(name: "Jensen–Shannon: length mismatch throws", run: { try jensenShannonDistance(reference: [1], current: [0, 1]) }, outcome: .throwsError),
  .init(name: "KL: infinite divergence throws instead of returning +∞", run: { try kullbackLeiblerDivergence(reference: [1, 1], current: [1, 0]) }, outcome: .throwsError),
  .init(name: "KL: zero reference bins contribute 0", run: { try kullbackLeiblerDivergence(reference: [1, 0], current: [1, 1]) }, outcome: .finite(statistic: nil, pValue: nil)),
  .init(name: "Hellinger: disjoint support is 1", run: { try hellingerDistance(reference: [1, 0], current: [0, 1]) }, outcome: .finite(statistic: 1, pValue: nil)),
  .init(name: "Anderson–Darling: all values equal throws", run: { try andersonDarlingKSample([[1, 1], [1, 1, 1]]) }, outcome: .throwsError),
  .init(name: "Anderson–Darling: fewer than 4 observations throws", run: { try andersonDarlingKSample([[1], [2, 3]]) }, outcome: .throwsError),
  .init(name: "Cramér–von Mises: one observation throws", run: { try cramerVonMisesTwoSample(reference: [1], current: [1, 2]) }, outcome: .throwsError),
  .init(name: "Cramér–von Mises: all values equal is defined", run: { try cramerVonMisesTwoSample(reference: [1, 1], current: [1, 1]) }, outcome: .finite(statistic: nil, pValue: nil)),
]

@Test("Degenerate input gives a defined result or a DriftStatisticsError, never NaN or a crash", arguments: degenerateCases)
func degenerateInput(_ c: DegenerateCase) throws {
  switch c.outcome {
  case .throwsError:
    #expect(throws: DriftStatisticsError.self) { _ = try c.run() }
  case .finite(let statistic, let pValue):
    let r = try c.run()
    #expect(r.statistic.isFinite)
    if let p = r.pValue { #expect(p.isFinite && (0...1).contains(p)) }
    if let statistic { #expect(r.statistic == statistic) }
    if let pValue { #expect(r.pValue == pValue) }
  }
}

@Test("Adjusting p-values rejects empty input, NaN and values outside [0, 1]")
func adjustRejectsBadInput() {
  for bad in [[], [Double.nan], [1.5], [-0.1]] {
    #expect(throws: DriftStatisticsError.self) { _ = try adjustPValues(bad, method: .holm) }
  }
}

@Test("Holm is step-down and monotone, keeping the input order")
func holmKeepsOrder() throws {
  let adjusted = try adjustPValues([0.04, 0.01, 0.03], method: .holm)
  #expect(adjusted.map { ($0 * 1e12).rounded() / 1e12 } == [0.06, 0.03, 0.06])
}

@Test("The default test follows Evidently's table by feature kind, size and unique values", arguments: [
  (DefaultDriftTest.FeatureKind.numerical, 500, 100, DefaultDriftTest.kolmogorovSmirnov),
  (.numerical, 500, 4, .chiSquared),
  (.categorical, 1000, 7, .chiSquared),
  (.categorical, 800, 2, .twoProportion),
  (.numerical, 1001, 6, .wasserstein),
  (.numerical, 5000, 5, .jensenShannon),
  (.categorical, 5000, 2, .jensenShannon),
])
func defaultTestChoice(kind: DefaultDriftTest.FeatureKind, referenceCount: Int, unique: Int, expected: DefaultDriftTest) {
  #expect(DefaultDriftTest.choose(kind: kind, referenceCount: referenceCount, uniqueValues: unique) == expected)
}

@Test("Exact methods refuse sizes whose tables would not fit, instead of exhausting memory")
func exactMethodsAreBounded() {
  let big = [Double](repeating: 1, count: 20_000)
  #expect(throws: DriftStatisticsError.self) { _ = try mannWhitneyU(reference: big, current: big, method: .exact) }
  #expect(throws: DriftStatisticsError.self) { _ = try cramerVonMisesTwoSample(reference: big, current: big, method: .exact) }
  #expect(throws: DriftStatisticsError.self) { _ = try populationStabilityIndex(reference: [1, 2], current: [1], bins: 2_000_000) }
}
