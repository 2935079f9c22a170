import Testing
@testable import DriftStatistics

/// A distribution value and scipy 1.17.1's answer for it (printed with repr, so exact to the last bit).
struct DistributionCase: Sendable, CustomTestStringConvertible {
  let name: String
  let ours: @Sendable () -> Double
  let scipy: Double
  var testDescription: String { name }
}

// Each row exercises one branch of the algorithm: the normal's erfc tail, chi² series and continued
// fraction, Kolmogorov's two series, Smirnov's lower and upper sums, and kstwo's Durbin-matrix,
// Pomeranz, Pelz–Good and 2·Smirnov branches.
let distributionCases: [DistributionCase] = [
  .init(name: "norm.sf(10) keeps its tail", ours: { NormalDistribution.sf(10) }, scipy: 7.61985302416047e-24),
  .init(name: "norm.cdf(-3)", ours: { NormalDistribution.cdf(-3) }, scipy: 0.0013498980316300933),
  .init(name: "norm.cdf(0.5)", ours: { NormalDistribution.cdf(0.5) }, scipy: 0.6914624612740131),
  .init(name: "chi2.sf(3, 2)", ours: { ChiSquaredDistribution.sf(3, degreesOfFreedom: 2) }, scipy: 0.22313016014842982),
  .init(name: "chi2.sf(100, 50)", ours: { ChiSquaredDistribution.sf(100, degreesOfFreedom: 50) }, scipy: 3.454931382984871e-05),
  .init(name: "chi2.sf(1000, 10) far tail", ours: { ChiSquaredDistribution.sf(1000, degreesOfFreedom: 10) }, scipy: 1.870290720915977e-208),
  .init(name: "chi2.sf(0.1, 7)", ours: { ChiSquaredDistribution.sf(0.1, degreesOfFreedom: 7) }, scipy: 0.9999976885812014),
  .init(name: "kolmogorov(0.5)", ours: { LimitingKolmogorovDistribution.sf(0.5) }, scipy: 0.9639452436648751),
  .init(name: "kolmogorov(1)", ours: { LimitingKolmogorovDistribution.sf(1) }, scipy: 0.26999967167735456),
  .init(name: "kolmogorov(2)", ours: { LimitingKolmogorovDistribution.sf(2) }, scipy: 0.0006709252557796953),
  .init(name: "smirnov(100, 0.1)", ours: { SmirnovDistribution.sf(n: 100, x: 0.1) }, scipy: 0.1265906584562817),
  .init(name: "smirnov(1000, 0.05)", ours: { SmirnovDistribution.sf(n: 1000, x: 0.05) }, scipy: 0.006506037390545166),
  .init(name: "smirnov(20, 0.01) upper sum", ours: { SmirnovDistribution.sf(n: 20, x: 0.01) }, scipy: 0.9879189104955647),
  .init(name: "smirnov(5, 0.9) x ≥ 1-1/n", ours: { SmirnovDistribution.sf(n: 5, x: 0.9) }, scipy: 9.999999999999989e-06),
  .init(name: "kstwo.sf(0.1, 50) Durbin matrix", ours: { KolmogorovDistribution.sf(0.1, n: 50) }, scipy: 0.6623112704658186),
  .init(name: "kstwo.sf(0.15, 50) Pomeranz", ours: { KolmogorovDistribution.sf(0.15, n: 50) }, scipy: 0.19026366518248072),
  .init(name: "kstwo.sf(0.3, 50) 2·smirnov", ours: { KolmogorovDistribution.sf(0.3, n: 50) }, scipy: 0.00017353260202718738),
  .init(name: "kstwo.sf(0.6, 10) x ≥ 0.5", ours: { KolmogorovDistribution.sf(0.6, n: 10) }, scipy: 0.0005681672000000003),
  .init(name: "kstwo.sf(0.02, 1000) Durbin matrix", ours: { KolmogorovDistribution.sf(0.02, n: 1000) }, scipy: 0.8108971656895577),
  .init(name: "kstwo.sf(0.001, 500000) Pelz–Good", ours: { KolmogorovDistribution.sf(0.001, n: 500_000) }, scipy: 0.6989801443663661),
  .init(name: "kstwo.sf(0.002, 500000) Pelz–Good", ours: { KolmogorovDistribution.sf(0.002, n: 500_000) }, scipy: 0.036582179671620585),
  .init(name: "kstwo.sf(0.003, 500000) 2·smirnov, n = 5·10⁵", ours: { KolmogorovDistribution.sf(0.003, n: 500_000) }, scipy: 0.00024632301239186754),
  .init(name: "kstwo.sf(0.005, 200000) 2·smirnov", ours: { KolmogorovDistribution.sf(0.005, n: 200_000) }, scipy: 9.049367287273853e-05),
]

@Test("Distribution tails agree with scipy to 1e-9 relative", arguments: distributionCases)
func distributionMatchesScipy(_ c: DistributionCase) {
  #expect(isClose(c.ours(), c.scipy), "\(c.ours()) vs \(c.scipy)")
}
