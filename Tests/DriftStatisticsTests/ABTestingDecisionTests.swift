import Foundation
import Testing
@testable import DriftStatistics

/// Draws cumulative A/B data: Bernoulli successes and log-normal latencies, from a seeded stream.
private struct Simulator {
  var stream: TestStream   // SplitMix64 + Box–Muller, SketchTests.swift
  init(seed: UInt64) { stream = TestStream(state: seed) }
  mutating func successes(_ trials: Int, rate: Double) -> Int {
    var count = 0
    for _ in 0..<trials where stream.uniform() < rate { count += 1 }
    return count
  }
  /// Latencies in ms: log-normal around `median` (σ = 0.5 on the log scale), skewed like real request
  /// latencies. Box–Muller with both of its normals used, for speed in debug builds.
  mutating func latencies(_ n: Int, median: Double) -> [Double] {
    var values: [Double] = []
    values.reserveCapacity(n + 1)
    while values.count < n {
      let radius = (-2 * Foundation.log(max(stream.uniform(), 1e-300))).squareRoot(), angle = 2 * Double.pi * stream.uniform()
      values.append(median * Foundation.exp(0.5 * radius * Foundation.cos(angle)))
      values.append(median * Foundation.exp(0.5 * radius * Foundation.sin(angle)))
    }
    return Array(values.prefix(n))
  }
}

/// Adds a batch to a running mean summary (Chan et al.'s pairwise update), as a controller would from
/// per-interval counters.
private func merge(_ a: MeanSummary, _ batch: [Double]) throws -> MeanSummary {
  let b = try MeanSummary(batch)
  guard a.count > 0 else { return b }
  let n = Double(a.count + b.count), delta = b.mean - a.mean
  let squares = a.variance * Double(a.count - 1) + b.variance * Double(b.count - 1) + delta * delta * Double(a.count) * Double(b.count) / n
  return MeanSummary(count: a.count + b.count, mean: a.mean + delta * Double(b.count) / n, variance: squares / (n - 1))
}

/// The chance of a false positive, with the 4-sigma binomial tolerance the assertions use.
private func report(_ name: String, _ positives: Int, of experiments: Int, alpha: Double) -> Double {
  let rate = Double(positives) / Double(experiments)
  print("FPR \(name): \(positives)/\(experiments) = \(rate) (alpha \(alpha))")
  return rate
}

@Suite struct ABTestingDecisionTests {
  static let experiments = 2000, looks = 50, alpha = 0.05
  /// 4 standard deviations of a binomial proportion at alpha over 2,000 experiments: ±0.0195. A correct
  /// test falls outside with probability about 6·10⁻⁵; the seed is fixed, so the run is reproducible.
  static let tolerance = 4 * (alpha * (1 - alpha) / Double(experiments)).squareRoot()

  @Test("Known effect on success rate: the better variant wins, with its difference and interval")
  func knownEffectProportions() throws {
    let rule = ABDecisionRule(kind: .twoProportion, minSamples: 1000, better: .higher)
    let better = try decideABTest(.proportions([.init(successes: 2700, trials: 3000), .init(successes: 2790, trials: 3000)]), rule: rule)
    guard case .winner(1, let comparisons) = better else { Issue.record("expected variant 1 to win: \(better)"); return }
    #expect(isClose(comparisons[0].effect, 0.03, rel: 1e-12) && comparisons[0].confidenceInterval?.contains(0) == false)
    // the same data with "lower is better" (an error rate): the control wins
    let lower = ABDecisionRule(kind: .twoProportion, minSamples: 1000, better: .lower)
    #expect(try decideABTest(.proportions([.init(successes: 2700, trials: 3000), .init(successes: 2790, trials: 3000)]), rule: lower)
            .isWinner(0))
  }

  @Test("Three variants: each candidate against the control with Holm; the significantly better one wins")
  func threeVariantsHolm() throws {
    let counts: [ProportionCounts] = [.init(successes: 900, trials: 1000), .init(successes: 905, trials: 1000), .init(successes: 940, trials: 1000)]
    let decision = try decideABTest(.proportions(counts), rule: ABDecisionRule(kind: .twoProportion, minSamples: 1000, better: .higher))
    #expect(decision.isWinner(2))
    let raw = decision.comparisons.map(\.pValue)
    #expect(decision.comparisons.map(\.adjustedPValue) == (try adjustPValues(raw, method: .holm)))
    // intervals at 1 - alpha/2 (Bonferroni over two candidates)
    let alone = try compareProportions(control: counts[0], candidate: counts[2], alpha: 0.025)
    #expect(decision.comparisons[1].confidenceInterval == alone.confidenceInterval)
  }

  @Test("Known effect on latency: Mann–Whitney picks the faster variant; the interval holds the true shift")
  func knownEffectLatency() throws {
    var sim = Simulator(seed: 11)
    let control = (0..<400).map { _ in 50 + 5 * sim.stream.normal() }
    let candidate = (0..<400).map { _ in 47 + 5 * sim.stream.normal() }
    let decision = try decideABTest(.samples([control, candidate]), rule: ABDecisionRule(kind: .mannWhitney, minSamples: 300, better: .lower))
    #expect(decision.isWinner(1))
    let c = try #require(decision.comparisons.first)
    #expect(c.confidenceInterval?.contains(-3) == true && c.confidenceInterval?.contains(0) == false)
    #expect((c.rankBiserialCorrelation ?? 0) < 0)
  }

  @Test("Sequential: a known effect is found within the looks, rates and latencies")
  func sequentialKnownEffect() throws {
    var sim = Simulator(seed: 3)
    var rates = try SequentialABTest(rule: ABDecisionRule(kind: .twoProportion, minSamples: 400, better: .higher), variants: 2)
    var latency = try SequentialABTest(rule: ABDecisionRule(kind: .mannWhitney, minSamples: 200, better: .lower), variants: 2)
    var counts = [ProportionCounts(successes: 0, trials: 0), ProportionCounts(successes: 0, trials: 0)]
    var summaries = [MeanSummary(count: 0, mean: 0, variance: 0), MeanSummary(count: 0, mean: 0, variance: 0)]
    var rateLook: Int?, latencyLook: Int?
    for look in 1...Self.looks {
      counts[0] = .init(successes: counts[0].successes + sim.successes(200, rate: 0.10), trials: counts[0].trials + 200)
      counts[1] = .init(successes: counts[1].successes + sim.successes(200, rate: 0.13), trials: counts[1].trials + 200)
      summaries[0] = try merge(summaries[0], sim.latencies(40, median: 40))
      summaries[1] = try merge(summaries[1], sim.latencies(40, median: 36))
      if rateLook == nil, try rates.update(.proportions(counts)).isWinner(1) { rateLook = look }
      if latencyLook == nil, try latency.update(.means(summaries)).isWinner(1) { latencyLook = look }
    }
    #expect(rateLook != nil && latencyLook != nil)
    print("sequential known effect decided at look \(rateLook ?? -1) (rates), \(latencyLook ?? -1) (latency means)")
  }

  @Test("No effect, proportions: fixed horizon near alpha, peeking far above, sequential at most alpha")
  func falsePositivesProportions() throws {
    let rule = ABDecisionRule(kind: .twoProportion, alpha: Self.alpha, minSamples: 200, better: .higher)
    var sim = Simulator(seed: 2026)
    var fixed = 0, peeking = 0, sequential = 0
    for _ in 0..<Self.experiments {
      var counts = [ProportionCounts(successes: 0, trials: 0), ProportionCounts(successes: 0, trials: 0)]
      var test = try SequentialABTest(rule: rule, variants: 2)
      var peeked = false, stopped = false
      var last = ABDecision.undecided(reason: "")
      for _ in 0..<Self.looks {
        for v in 0..<2 { counts[v] = .init(successes: counts[v].successes + sim.successes(40, rate: 0.2), trials: counts[v].trials + 40) }
        last = try decideABTest(.proportions(counts), rule: rule)
        if case .winner = last { peeked = true }
        if case .winner = try test.update(.proportions(counts)) { stopped = true }
      }
      if case .winner = last { fixed += 1 }
      if peeked { peeking += 1 }
      if stopped { sequential += 1 }
    }
    let fixedRate = report("two-proportion fixed horizon (1 look)", fixed, of: Self.experiments, alpha: Self.alpha)
    let peekingRate = report("two-proportion fixed horizon peeked at \(Self.looks) looks", peeking, of: Self.experiments, alpha: Self.alpha)
    let sequentialRate = report("two-proportion mSPRT at \(Self.looks) looks", sequential, of: Self.experiments, alpha: Self.alpha)
    #expect((fixedRate - Self.alpha).magnitude <= Self.tolerance)
    #expect(peekingRate > 2 * Self.alpha)   // why the sequential mode exists
    #expect(sequentialRate <= Self.alpha)
  }

  @Test("No effect, latency: Mann–Whitney near alpha at its horizon; sequential means at most alpha at every look")
  func falsePositivesLatency() throws {
    var sim = Simulator(seed: 7)
    // the fixed test at 30 per variant: its Hodges–Lehmann interval costs O((n₁+n₂)·64) per bound,
    // which a debug build feels 2,000 times over
    let fixedRule = ABDecisionRule(kind: .mannWhitney, alpha: Self.alpha, minSamples: 30, better: .lower)
    let rule = ABDecisionRule(kind: .mannWhitney, alpha: Self.alpha, minSamples: 50, better: .lower)
    var fixed = 0, sequential = 0
    for _ in 0..<Self.experiments {
      var all: [[Double]] = [[], []]
      var summaries = [MeanSummary(count: 0, mean: 0, variance: 0), MeanSummary(count: 0, mean: 0, variance: 0)]
      var test = try SequentialABTest(rule: rule, variants: 2)
      var stopped = false
      for look in 0..<Self.looks {
        for v in 0..<2 {
          let batch = sim.latencies(10, median: 40)
          summaries[v] = try merge(summaries[v], batch)
          if look < 3 { all[v] += batch }   // the fixed-horizon test: 30 per variant, once
        }
        if case .winner = try test.update(.means(summaries)) { stopped = true }
      }
      if case .winner = try decideABTest(.samples(all), rule: fixedRule) { fixed += 1 }
      if stopped { sequential += 1 }
    }
    let fixedRate = report("Mann–Whitney fixed horizon (1 look, 30 per variant)", fixed, of: Self.experiments, alpha: Self.alpha)
    let sequentialRate = report("mean-difference mSPRT at \(Self.looks) looks, log-normal latencies", sequential, of: Self.experiments, alpha: Self.alpha)
    #expect((fixedRate - Self.alpha).magnitude <= Self.tolerance)
    #expect(sequentialRate <= Self.alpha)
  }

  @Test("No decision before minSamples, however large the effect, fixed and sequential")
  func noDecisionBeforeMinSamples() throws {
    let rule = ABDecisionRule(kind: .twoProportion, minSamples: 1000, better: .higher)
    let counts: [ProportionCounts] = [.init(successes: 0, trials: 999), .init(successes: 999, trials: 999)]
    #expect(try decideABTest(.proportions(counts), rule: rule) == .undecided(reason: "variant 0 has 999 of the 1000 samples needed before a decision"))
    var test = try SequentialABTest(rule: rule, variants: 2)
    #expect(try test.update(.proportions(counts)).isUndecided)
    #expect(test.tests[0].looks == 0)   // a look before minSamples is not fed to the mSPRT
    #expect(try test.decision() == .undecided(reason: "no look yet with 1000 samples in every variant"))
    #expect(try test.update(.proportions([.init(successes: 100, trials: 1000), .init(successes: 900, trials: 1000)])).isWinner(1))
  }

  @Test("The sequential state survives a restart at every look: encode, decode, continue — same decisions")
  func sequentialResumesFromStatus() throws {
    let rule = ABDecisionRule(kind: .twoProportion, minSamples: 200, better: .higher)
    var sim = Simulator(seed: 99)
    var uninterrupted = try SequentialABTest(rule: rule, variants: 3)
    var restarted = uninterrupted
    var counts = Array(repeating: ProportionCounts(successes: 0, trials: 0), count: 3)
    for _ in 0..<20 {
      for (v, rate) in [0.2, 0.2, 0.24].enumerated() {
        counts[v] = .init(successes: counts[v].successes + sim.successes(100, rate: rate), trials: counts[v].trials + 100)
      }
      let expected = try uninterrupted.update(.proportions(counts))
      restarted = try JSONDecoder().decode(SequentialABTest.self, from: JSONEncoder().encode(restarted))   // what status held
      #expect(try restarted.update(.proportions(counts)) == expected)
      #expect(restarted == uninterrupted)
    }
  }

  @Test("Invalid input is an error, never a crash, and leaves the sequential state as it was")
  func invalidInput() throws {
    let rule = ABDecisionRule(kind: .twoProportion, minSamples: 10, better: .higher)
    let bad: [[ProportionCounts]] = [
      [.init(successes: -1, trials: 10), .init(successes: 1, trials: 10)],
      [.init(successes: 11, trials: 10), .init(successes: 1, trials: 10)],
      [.init(successes: 1, trials: -10), .init(successes: 1, trials: 10)],
      [.init(successes: 1, trials: maximumExactCount + 1), .init(successes: 1, trials: 10)],
      [.init(successes: Int.max, trials: Int.max), .init(successes: 1, trials: 10)],
      [.init(successes: 1, trials: 10)],
    ]
    for counts in bad { #expect(throws: DriftStatisticsError.self) { try decideABTest(.proportions(counts), rule: rule) } }
    #expect(throws: DriftStatisticsError.self) { try decideABTest(.samples([[1, .nan], [2, 3]]), rule: ABDecisionRule(kind: .mannWhitney, minSamples: 1, better: .lower)) }
    #expect(throws: DriftStatisticsError.self) { try decideABTest(.samples([[1, .infinity], [2, 3]]), rule: ABDecisionRule(kind: .mannWhitney, minSamples: 1, better: .lower)) }
    #expect(throws: DriftStatisticsError.self) { try decideABTest(.samples([[1], [2]]), rule: rule) }   // kind mismatch
    #expect(throws: DriftStatisticsError.self) { try decideABTest(.proportions([.init(successes: 1, trials: 10), .init(successes: 1, trials: 10)]), rule: ABDecisionRule(kind: .twoProportion, alpha: .nan, minSamples: 1, better: .higher)) }
    #expect(throws: DriftStatisticsError.self) { try decideABTest(.proportions([.init(successes: 1, trials: 10), .init(successes: 1, trials: 10)]), rule: ABDecisionRule(kind: .twoProportion, minSamples: 1, better: .higher, correction: .bh)) }
    #expect(throws: DriftStatisticsError.self) { try MixtureSPRT(mixing: .fixed(.nan)) }
    #expect(throws: DriftStatisticsError.self) { try compareLocations(control: [], candidate: [1]) }

    var test = try SequentialABTest(rule: rule, variants: 2)
    _ = try test.update(.proportions([.init(successes: 5, trials: 50), .init(successes: 9, trials: 50)]))
    let saved = test
    #expect(throws: DriftStatisticsError.self) { try test.update(.proportions([.init(successes: 5, trials: 40), .init(successes: 9, trials: 60)])) }   // a counter reset
    #expect(throws: DriftStatisticsError.self) { try test.update(.means([MeanSummary(count: 60, mean: 1, variance: 1), MeanSummary(count: 60, mean: 1, variance: 1)])) }
    #expect(throws: DriftStatisticsError.self) { try test.update(.proportions([.init(successes: 5, trials: 60), .init(successes: 9, trials: 60), .init(successes: 1, trials: 60)])) }
    var means = try SequentialABTest(rule: ABDecisionRule(kind: .mannWhitney, minSamples: 2, better: .lower), variants: 2)
    #expect(throws: DriftStatisticsError.self) { try means.update(.means([MeanSummary(count: 5, mean: .nan, variance: 1), MeanSummary(count: 5, mean: 1, variance: 1)])) }
    #expect(throws: DriftStatisticsError.self) { try means.update(.means([MeanSummary(count: 5, mean: 1, variance: -1), MeanSummary(count: 5, mean: 1, variance: 1)])) }
    #expect(throws: DriftStatisticsError.self) { try MeanSummary([1, .infinity]) }
    #expect(test == saved)
  }

  @Test("Counts up to 2^53 give finite results: nothing overflows or rounds")
  func hugeCounts() throws {
    let n = maximumExactCount
    let counts: [ProportionCounts] = [.init(successes: n / 2, trials: n), .init(successes: n / 2 + (1 << 40), trials: n)]
    let fixed = try compareProportions(control: counts[0], candidate: counts[1])
    #expect(fixed.z.isFinite && fixed.pValue < 1e-6 && fixed.difference == Double(1 << 40) / Double(n))
    var sequential = try MixtureSPRT(mixing: .tuned(samplesPerVariant: 1000))
    try sequential.update(control: counts[0], candidate: counts[1])
    #expect(sequential.pValue.isFinite && sequential.isSignificant)
    #expect(try decideABTest(.proportions(counts), rule: ABDecisionRule(kind: .twoProportion, minSamples: n, better: .higher)).isWinner(1))
  }
}

extension ABDecision {
  func isWinner(_ index: Int) -> Bool { if case .winner(index, _) = self { true } else { false } }
  var isUndecided: Bool { if case .undecided = self { true } else { false } }
  var isNoDifference: Bool { if case .noDifference = self { true } else { false } }
}
