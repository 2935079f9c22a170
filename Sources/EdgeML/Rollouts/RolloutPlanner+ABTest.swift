import DriftStatistics
import KubeCore

/// The `abTest` strategy: the stable model (the first variant) and the candidate (the second) serve
/// side by side at the variants' weights — requests carrying the match header with the candidate's
/// name go to the candidate — and a statistical test on their success rates, or on a continuous
/// metric such as latency, decides (docs/ab-testing.md). Counts come from the pods' own counters
/// (Triton's `nv_inference_request_success` and `_failure`, or `nv_inference_request_duration_us`),
/// read every `analysis.interval`.
///
/// - Fixed horizon (`sequential: false`): one test, at the first look where both variants have
///   `minSamples` requests (looking again and again at a fixed-horizon test inflates its
///   false-positive rate far past `alpha`: 26 % over 50 looks at α = 0.05, measured in
///   `ABTestingDecisionTests`).
/// - Sequential (`sequential: true`): an always-valid mSPRT updated at every look from
///   `minSamples` on; its state (running minimum p-value, mixing variance) lives in status, so a
///   restarted controller continues the same test.
extension RolloutPlanner.Planning {
  var abVariants: (stable: ABVariant, candidate: ABVariant)? {
    guard let v = spec.strategy.abTest?.variants, v.count == 2 else { return nil }
    return (v[0], v[1])
  }

  mutating func runABTest(_ model: EdgeModel) {
    guard let ab = spec.strategy.abTest else { return }
    guard let variants = abVariants else {
      degrade("UnsupportedVariants", "an A/B test compares the stable model with one candidate: exactly 2 variants, the first is the stable model")
      return
    }
    if ab.metric.kind != "proportion", ab.decision?.sequential != true, (ab.decision?.minSamples ?? 1000) > Self.sampleLimit {
      degrade("UnsupportedMinSamples", "a continuous metric's fixed-horizon test keeps at most \(Self.sampleLimit) samples per variant in status: "
        + "set decision.minSamples to \(Self.sampleLimit) or less, or decision.sequential: true")
      return
    }
    var ab_ = status.abTest ?? ABTestStatus()
    defer { status.abTest = ab_ }
    // The split starts once the candidate's pods are Ready (their engines built).
    if ab_.startedAt == nil {
      guard candidateReady(model, weight: variants.candidate.weight) else {
        waiting("CandidateScaling", "waiting for the candidate's pods to be Ready (engines built) before the experiment starts")
        return
      }
      ab_.startedAt = now
      ab_.decision = "Undecided"
      event("Normal", "ABTestStarted", "\(variants.stable.name) (stable) \(variants.stable.weight)% · \(variants.candidate.name) (candidate) \(variants.candidate.weight)%"
        + (ab.match?.header.map { ", header \($0): \(variants.candidate.name) → \(variants.candidate.name)" } ?? ""))
    }
    status.candidateWeight = variants.candidate.weight
    status.stableWeight = 100 - variants.candidate.weight

    if ab_.decision == "Undecided" || ab_.decision == nil {
      look(&ab_, ab: ab, variants: variants)
    }
    act(on: &ab_, ab: ab, variants: variants, model: model)
  }

  /// Reads the counts when a look is due, and tests.
  mutating func look(_ ab_: inout ABTestStatus, ab: ABTestStrategy, variants: (stable: ABVariant, candidate: ABVariant)) {
    let interval = (try? GoDuration(parsing: spec.analysis?.interval ?? "1m")).map { $0.nanoseconds / 1_000_000_000 } ?? 60
    let last = ab_.lastLookAt.flatMap { try? Timestamp(rfc3339: $0) }
    let due = last.map { $0.secondsSinceEpoch + interval } ?? input.now.secondsSinceEpoch
    guard input.now.secondsSinceEpoch >= due else {
      requeueAt(.seconds(due - input.now.secondsSinceEpoch))
      waiting("Experimenting", experimentMessage(ab_, variants: variants))
      return
    }
    guard let counts = input.abCounts else {
      measure.append(RolloutPlanner.abTestMeasurement)
      requeueAt(.seconds(interval))
      waiting("Experimenting", experimentMessage(ab_, variants: variants))
      return
    }
    ab_.lastLookAt = now
    ab_.looks = (ab_.looks ?? 0) + 1
    let continuous = ab.metric.kind != "proportion"
    let rule = ABDecisionRule(kind: continuous ? .mannWhitney : .twoProportion, alpha: ab.decision?.alpha ?? 0.05,
                              minSamples: ab.decision?.minSamples ?? 1000,
                              better: continuous && ab.metric.better != "higher" ? .lower : .higher)
    let decision: DriftStatistics.ABDecision
    do {
      decision = continuous ? try lookContinuous(&ab_, counts: counts, ab: ab, variants: variants, rule: rule)
        : try lookProportions(&ab_, counts: counts, ab: ab, variants: variants, rule: rule)
    } catch {
      pause("ABTestInvalid", "the A/B counts cannot be tested: \(error)")
      return
    }
    if let c = decision.comparisons.first {
      ab_.pValue = finite(c.pValue)
      ab_.effect = finite(c.effect)
      ab_.confidenceInterval = c.confidenceInterval.map { ABInterval(lower: finite($0.lower), upper: finite($0.upper)) }
      ab_.relativeLift = c.relativeLift.flatMap(finite)
    }
    let effect = continuous ? "candidate − stable \(ab.metric.name) per request" : "candidate − stable success rate"
    switch decision {
    case .undecided(let reason):
      ab_.reason = reason
    case .noDifference where ab.decision?.sequential == true:
      // Not final for an always-valid test: it looks again until it decides or the time is up.
      ab_.reason = "no difference yet at alpha \(rule.alpha) (always-valid p = \(format(ab_.pValue)))"
    case .noDifference:
      ab_.decision = "NoDifference"
      ab_.reason = "no difference at alpha \(rule.alpha) (p = \(format(ab_.pValue)))"
    case .winner(let index, _):
      ab_.decision = "Winner"
      ab_.winner = index == 0 ? variants.stable.name : variants.candidate.name
      ab_.reason = "\(ab_.winner ?? "?") wins: p = \(format(ab_.pValue)), effect \(format(ab_.effect)) (\(effect))"
    }
    // The experiment's time is up without a decision: no difference shown.
    if ab_.decision == "Undecided", let started = ab_.startedAt.flatMap({ try? Timestamp(rfc3339: $0) }),
       let limit = try? GoDuration(parsing: ab.duration ?? "24h"),
       input.now.secondsSinceEpoch >= started.secondsSinceEpoch + limit.nanoseconds / 1_000_000_000 {
      ab_.decision = "NoDifference"
      ab_.reason = "the experiment ran its \(ab.duration ?? "24h") without a decision (\(ab_.reason ?? ""))"
    }
    if ab_.decision == "Undecided" {
      requeueAt(.seconds(interval))
      waiting("Experimenting", experimentMessage(ab_, variants: variants))
    }
  }

  /// Samples a continuous metric keeps per variant in status for the fixed-horizon test.
  static let sampleLimit = 2000

  /// Success rates: the requests each pod served since it was first seen, summed per variant.
  mutating func lookProportions(_ ab_: inout ABTestStatus, counts: [String: [String: PodCounts]], ab: ABTestStrategy,
                                variants: (stable: ABVariant, candidate: ABVariant), rule: ABDecisionRule) throws -> DriftStatistics.ABDecision {
    var baselines = ab_.baselines ?? [:]
    var totals: [ProportionCounts] = []
    var rows: [ABVariantStatus] = []
    for (track, variant) in [(EdgeModelPlanner.Labels.stableTrack, variants.stable), (EdgeModelPlanner.Labels.candidateTrack, variants.candidate)] {
      var successes = 0, failures = 0
      for (pod, c) in (counts[track] ?? [:]).sorted(by: { $0.key < $1.key }) {
        // A pod counts from the first look that saw it; a counter that went back (a restart) starts over.
        let base = baselines[pod] ?? c
        let s = c.successes >= base.successes ? c.successes - base.successes : c.successes
        let f = c.failures >= base.failures ? c.failures - base.failures : c.failures
        if baselines[pod] == nil || c.successes < base.successes || c.failures < base.failures {
          baselines[pod] = PodCounts(successes: c.successes - s, failures: c.failures - f)
        }
        successes += s
        failures += f
      }
      totals.append(ProportionCounts(successes: successes, trials: successes + failures))
      rows.append(ABVariantStatus(name: variant.name, successes: successes, trials: successes + failures,
                                  rate: successes + failures > 0 ? Double(successes) / Double(successes + failures) : nil))
    }
    ab_.baselines = baselines
    ab_.variants = rows
    if ab.decision?.sequential == true {
      var test = try ab_.sequential.flatMap { try? ModelCoding.decode(SequentialABTest.self, from: $0) }
        ?? SequentialABTest(rule: rule, variants: 2)
      let decision = try test.update(.proportions(totals))
      ab_.sequential = ModelCoding.encode(test)
      return decision
    }
    if totals.allSatisfy({ $0.trials >= rule.minSamples }) { return try decideABTest(.proportions(totals), rule: rule) }
    return .undecided(reason: "\(totals.map(\.trials).min() ?? 0) of \(rule.minSamples) requests in the smaller variant")
  }

  /// A continuous metric (latency, a score): Triton exports no per-request values, only cumulative
  /// sums and counts (`nv_inference_request_duration_us` over `nv_inference_request_success`), so
  /// the sample is one pod's mean per request over one interval: (Δsum / Δcount) between two looks.
  /// These are compared with Mann–Whitney U at the fixed horizon (samples kept in status, bounded),
  /// or by the always-valid mSPRT on the difference of means (running count, mean and squared
  /// deviations kept in status). A pod's first look, and a look after its counters went back (a
  /// restart), only records where its counters are.
  mutating func lookContinuous(_ ab_: inout ABTestStatus, counts: [String: [String: PodCounts]], ab: ABTestStrategy,
                               variants: (stable: ABVariant, candidate: ABVariant), rule: ABDecisionRule) throws -> DriftStatistics.ABDecision {
    var last = ab_.baselines ?? [:]
    var samples = ab_.samples ?? [[], []]
    var means = ab_.means ?? [RunningMean(), RunningMean()]
    var rows: [ABVariantStatus] = []
    let tracks = [(EdgeModelPlanner.Labels.stableTrack, variants.stable), (EdgeModelPlanner.Labels.candidateTrack, variants.candidate)]
    for (i, (track, variant)) in tracks.enumerated() {
      var requests = ab_.variants?.first { $0.name == variant.name }?.trials ?? 0
      for (pod, c) in (counts[track] ?? [:]).sorted(by: { $0.key < $1.key }) {
        guard let sum = c.sum else { continue }
        defer { last[pod] = c }
        guard let before = last[pod], let beforeSum = before.sum, c.successes > before.successes, sum >= beforeSum else { continue }
        let n = c.successes - before.successes
        let x = (sum - beforeSum) / Double(n)
        guard x.isFinite else { continue }
        requests += n
        means[i].add(x)
        if samples[i].count < Self.sampleLimit { samples[i].append(x) }
      }
      var row = ABVariantStatus(name: variant.name, successes: requests, trials: requests, rate: nil)
      row.samples = means[i].count
      row.mean = means[i].count > 0 ? finite(means[i].mean) : nil
      rows.append(row)
    }
    ab_.baselines = last
    ab_.means = means
    ab_.variants = rows
    if ab.decision?.sequential == true {
      var test = try ab_.sequential.flatMap { try? ModelCoding.decode(SequentialABTest.self, from: $0) }
        ?? SequentialABTest(rule: rule, variants: 2)
      let decision = try test.update(.means(means.map { MeanSummary(count: $0.count, mean: $0.mean, variance: $0.variance) }))
      ab_.sequential = ModelCoding.encode(test)
      return decision
    }
    ab_.samples = samples
    if samples.allSatisfy({ $0.count >= rule.minSamples }) { return try decideABTest(.samples(samples), rule: rule) }
    return .undecided(reason: "\(samples.map(\.count).min() ?? 0) of \(rule.minSamples) samples in the smaller variant")
  }

  /// What follows a decision: with `autoPromote`, the winner is rolled out (or the stable model
  /// kept); otherwise a person decides with `kubectl edgeml promote --full` or `abort`.
  mutating func act(on ab_: inout ABTestStatus, ab: ABTestStrategy, variants: (stable: ABVariant, candidate: ABVariant), model: EdgeModel) {
    guard ab_.decision == "Winner" || ab_.decision == "NoDifference" else { return }
    let auto = ab.decision?.autoPromote == true
    let promoteAsked = status.lastRequest?.action == .promote && status.lastRequest?.full == true && status.lastRequest?.outcome == "Accepted"
    if promoteAsked || (auto && ab_.winner == variants.candidate.name) {
      if status.pause != nil { unpause() }
      if status.promotedAt == nil { event("Normal", "ABTestDecided", ab_.reason ?? "promoted by a user") }
      promote(model)
    } else if auto && ab_.winner == variants.stable.name {
      abort("ABTestLost", ab_.reason ?? "the stable model won")
    } else {
      pause("ABTestDecided", "\(ab_.reason ?? ""): kubectl edgeml promote --full rolls the candidate out, abort keeps the stable model")
    }
  }

  func experimentMessage(_ ab_: ABTestStatus, variants: (stable: ABVariant, candidate: ABVariant)) -> String {
    let counts = (ab_.variants ?? []).map { v in
      v.samples.map { "\(v.name) \($0) sample(s)" + (v.mean.map { ", mean \(format($0))" } ?? "") } ?? "\(v.name) \(v.successes)/\(v.trials)"
    }.joined(separator: ", ")
    return "experimenting: \(counts.isEmpty ? "no look yet" : counts)" + (ab_.pValue.map { ", p = \(format($0))" } ?? "")
      + (ab_.reason.map { "; \($0)" } ?? "")
  }

  func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

  func format(_ x: Double?) -> String {
    guard let x else { return "?" }
    if x != 0 && abs(x) < 0.001 { return String(format2Sig: x) }
    return String((x * 10_000).rounded() / 10_000)
  }
}

extension String {
  /// A small number in scientific notation with two significant digits ("3.1e-07").
  init(format2Sig x: Double) {
    var exponent = 0
    var m = abs(x)
    while m < 1 { m *= 10; exponent -= 1 }
    let mantissa = (m * 10).rounded() / 10
    self = (x < 0 ? "-" : "") + "\(mantissa)e\(exponent)"
  }
}
