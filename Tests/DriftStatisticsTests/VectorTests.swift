import Testing
@testable import DriftStatistics

// Every function against the scipy 1.17.1 reference vectors (Fixtures/vectors.json), within 1e-9
// relative: the make_vectors.py header allows 1e-7 for special-function p-values, but every case here
// agrees to 1e-9, so we hold ourselves to that.

@Test("The fixture holds all 39 reference cases") func fixtureLoads() {
  #expect(ReferenceVectors.cases.count == 39)
}

@Test("KS two-sample matches scipy.stats.ks_2samp: statistic, p-value, location and sign",
      arguments: ReferenceVectors.of("ks_2samp"))
func kolmogorovSmirnovMatchesScipy(_ c: ReferenceCase) throws {
  let a = try #require(c.input("data1").doubles), b = try #require(c.input("data2").doubles)
  let alternative = try #require(Alternative(rawValue: c.callArgument("alternative") ?? "two-sided"))
  let method = try #require(KolmogorovSmirnovMethod(rawValue: c.callArgument("method") ?? "auto"))
  let r = try kolmogorovSmirnovTwoSample(reference: a, current: b, alternative: alternative, method: method)
  #expect(isClose(r.statistic, try c.expect("statistic").double))
  #expect(isClose(r.pValue, try c.expect("pvalue").double))
  #expect(r.statisticLocation == (try c.expect("statistic_location").double))
  #expect(Double(r.statisticSign) == (try c.expect("statistic_sign").double))
  #expect(r.sampleSizes == [a.count, b.count])
}

@Test("Chi-squared goodness of fit matches scipy.stats.chisquare", arguments: ReferenceVectors.of("chisquare"))
func chiSquaredMatchesScipy(_ c: ReferenceCase) throws {
  let observed = try #require(c.input("f_obs").doubles)
  let expected = c.inputs["f_exp"]?.doubles
  let ddof = Int(c.inputs["ddof"]?.double ?? 0)
  let r = try chiSquaredGoodnessOfFit(observed: observed, expected: expected, ddof: ddof)
  #expect(isClose(r.statistic, try c.expect("statistic").double))
  #expect(isClose(r.pValue, try c.expect("pvalue").double))
}

@Test("Chi-squared contingency matches scipy.stats.chi2_contingency, Yates' correction included",
      arguments: ReferenceVectors.of("chi2_contingency"))
func contingencyMatchesScipy(_ c: ReferenceCase) throws {
  let table = try #require(c.input("observed").table)
  let correction: Bool = if case .bool(false)? = c.inputs["correction"] { false } else { true }
  let r = try chiSquaredContingency(observed: table, yatesCorrection: correction)
  #expect(isClose(r.statistic, try c.expect("statistic").double))
  #expect(isClose(r.pValue, try c.expect("pvalue").double))
  #expect(Double(r.degreesOfFreedom) == (try c.expect("dof").double))
  let expectedFrequencies = try #require(c.expect("expected_freq").table)
  for (row, expectedRow) in zip(r.expectedFrequencies, expectedFrequencies) {
    for (value, reference) in zip(row, expectedRow) { #expect(isClose(value, reference)) }
  }
}

@Test("Wasserstein-1 matches scipy.stats.wasserstein_distance, weights and Evidently's normalisation",
      arguments: ReferenceVectors.of("wasserstein_distance"))
func wassersteinMatchesScipy(_ c: ReferenceCase) throws {
  let u = try #require(c.input("u_values").doubles), v = try #require(c.input("v_values").doubles)
  let r = try wassersteinDistance(reference: u, current: v,
                                  referenceWeights: c.inputs["u_weights"]?.doubles, currentWeights: c.inputs["v_weights"]?.doubles)
  #expect(isClose(r.statistic, try c.expect("distance").double))
  #expect(r.pValue == nil)
  if let normed = c.expected["evidently_normed"]?.double {
    let mean = u.reduce(0, +) / Double(u.count)
    let std = (u.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(u.count)).squareRoot()
    #expect(isClose(r.statistic / max(std, 0.001), normed))
  }
}

@Test("Jensen–Shannon distance matches scipy.spatial.distance.jensenshannon in base e and base 2",
      arguments: ReferenceVectors.of("jensenshannon"))
func jensenShannonMatchesScipy(_ c: ReferenceCase) throws {
  let p = try #require(c.input("p").doubles), q = try #require(c.input("q").doubles)
  let natural = try jensenShannonDistance(reference: p, current: q)
  let base2 = try jensenShannonDistance(reference: p, current: q, base: 2)
  #expect(isClose(natural.statistic, try c.expect("distance_natural").double))
  #expect(isClose(base2.statistic, try c.expect("distance_base2").double))
}

@Test("PSI matches the reference psi_quantile: edges, bin counts, terms and total",
      arguments: ReferenceVectors.of("psi"))
func psiMatchesReference(_ c: ReferenceCase) throws {
  let eps = try #require(c.input("eps").double)
  if let reference = c.inputs["reference"]?.doubles, let current = c.inputs["current"]?.doubles {
    let bins = Int(try #require(c.input("n_bins").double))
    let r = try populationStabilityIndex(reference: reference, current: current, bins: bins, epsilon: eps)
    #expect(isClose(r.statistic, try c.expect("psi").double))
    let histogram = try quantileHistograms(reference: reference, current: current, bins: bins)
    #expect(histogram.edges == (try #require(c.expect("interior_edges").doubles)))
    #expect(histogram.reference == (try #require(c.expect("reference_counts").doubles)))
    #expect(histogram.current == (try #require(c.expect("current_counts").doubles)))
  } else {
    let referenceCounts = try #require(c.input("reference_counts").object)
    let currentCounts = try #require(c.input("current_counts").object)
    let keys = referenceCounts.keys.sorted()
    let psi = populationStabilityIndex(referenceCounts: keys.compactMap { referenceCounts[$0]?.double },
                                       currentCounts: keys.compactMap { currentCounts[$0]?.double }, epsilon: eps)
    #expect(isClose(psi, try c.expect("psi").double))
  }
}

@Test("Mann–Whitney U matches scipy.stats.mannwhitneyu, exact and asymptotic, with ties",
      arguments: ReferenceVectors.of("mannwhitneyu"))
func mannWhitneyMatchesScipy(_ c: ReferenceCase) throws {
  let x = try #require(c.input("x").doubles), y = try #require(c.input("y").doubles)
  let method: MannWhitneyMethod = switch c.callArgument("method") {
  case "exact": .exact
  case "asymptotic": .asymptotic
  default: .auto
  }
  let r = try mannWhitneyU(reference: x, current: y, method: method)
  #expect(isClose(r.statistic, try c.expect("statistic").double))
  #expect(isClose(r.pValue, try c.expect("pvalue").double))
}

@Test("The pooled two-proportion z-test matches its scipy reference", arguments: ReferenceVectors.of("two_proportion_z"))
func twoProportionMatchesReference(_ c: ReferenceCase) throws {
  let x1 = Int(try #require(c.input("x1").double)), n1 = Int(try #require(c.input("n1").double))
  let x2 = Int(try #require(c.input("x2").double)), n2 = Int(try #require(c.input("n2").double))
  let r = try twoProportionZTest(successes1: x1, trials1: n1, successes2: x2, trials2: n2)
  #expect(isClose(r.statistic, try c.expect("z").double))
  #expect(isClose(r.pValue, try c.expect("pvalue_two_sided").double))
}

@Test("Bonferroni and Benjamini–Hochberg match scipy, in input order", arguments: ReferenceVectors.of("multiple_testing"))
func correctionsMatchScipy(_ c: ReferenceCase) throws {
  let p = try #require(c.input("pvalues").doubles)
  let bh = try adjustPValues(p, method: .bh)
  let bonferroni = try adjustPValues(p, method: .bonferroni)
  for (ours, theirs) in zip(bh, try #require(c.expect("bh_adjusted").doubles)) { #expect(isClose(ours, theirs)) }
  for (ours, theirs) in zip(bonferroni, try #require(c.expect("bonferroni_adjusted").doubles)) { #expect(isClose(ours, theirs)) }
}
