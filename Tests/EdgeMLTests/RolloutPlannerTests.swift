import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

/// The Rollout planner as a table of situations: each step kind, the manual gates, restarts from
/// status alone, and time on an injected clock (`now` is an input; nothing sleeps).
@Suite struct RolloutPlannerTests {
  static let t0 = try! Timestamp(rfc3339: "2026-12-06T10:00:00Z")
  static func at(_ seconds: Int64) -> Timestamp { Timestamp(secondsSinceEpoch: t0.secondsSinceEpoch + seconds) }

  static let canarySteps: JSONValue = [["setWeight": 10], ["pause": ["duration": "5m"]], ["analysis": [:]], ["setWeight": 50], ["pause": [:]],
                                       ["setWeight": 100]]

  func rollout(steps: JSONValue = canarySteps, status: RolloutStatus? = nil, abortOnFailure: Bool = true, name: String = "detector-v4",
               created: String = "2026-12-06T09:00:00Z") throws -> Rollout {
    var o: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout",
      "metadata": ["name": .string(name), "namespace": "vision", "generation": 1, "uid": "r-1", "creationTimestamp": .string(created)],
      "spec": ["modelRef": ["name": "detector"],
               "candidate": ["model": ["uri": "https://models.example.com/detector-v4.onnx", "version": "4",
                                       "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444"]],
               "strategy": ["canary": ["steps": steps]],
               "analysis": ["interval": "1m", "metrics": [["name": "p99", "provider": ["podMetrics": ["metric": "latency"]],
                                                           "successCondition": "result < 50"]]],
               "abortOnFailure": .bool(abortOnFailure)],
    ]
    if let status { o["status"] = ModelCoding.encode(status) }
    return try Rollout(json: o)
  }

  /// The EdgeModel, with the candidate report the EdgeModel controller would write.
  func model(candidate: CandidateStatus? = nil, generation: Int = 1, ready: Bool = true) throws -> EdgeModel {
    var status = EdgeModelStatus()
    status.observedGeneration = generation
    status.candidate = candidate
    status.conditions = [StatusCondition(type: "Ready", status: ready ? "True" : "False", reason: ready ? "Ready" : "RollingOut")]
    return try EdgeModel(json: ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                                "metadata": ["name": "detector", "namespace": "vision", "generation": JSONValue(generation)],
                                "spec": baseSpec, "status": ModelCoding.encode(status)])
  }

  /// The candidate report for `rollout` at `weight`: `ready` of `replicas` pods Ready on built engines.
  func report(_ r: Rollout, weight: Int, replicas: Int = 1, ready: Int = 1, engine: EngineState = .built, message: String? = nil,
              stableServesCandidate: Bool? = nil) -> CandidateStatus {
    var c = CandidateStatus()
    c.rollout = r.metadata.name
    c.hash = RolloutPlanner.candidateHash(r.spec)
    c.weight = weight
    c.replicas = replicas
    c.readyReplicas = ready
    var e = EngineStatus()
    e.state = engine
    e.message = message
    e.nodeGroup = NodeGroupFacts(module: "orin-nx-16gb")
    c.engines = [e]
    c.stableServesCandidate = stableServesCandidate
    return c
  }

  func plan(_ r: Rollout, _ m: EdgeModel?, at t: Timestamp = t0, analysis: [String: RolloutPlanner.MetricVerdict] = [:],
            competing: String? = nil) -> RolloutPlanner.Plan {
    RolloutPlanner.plan(.init(rollout: r, model: m, competing: competing, analysis: analysis, now: t))
  }

  /// The rollout with the plan's status written back, as the next reconcile reads it.
  func after(_ r: Rollout, _ p: RolloutPlanner.Plan) throws -> Rollout {
    var next = r
    next.status = p.status
    return try Rollout(json: next.json)
  }

  @Test func firstSightStartsAtStepZeroAndNoTrafficMovesBeforeTheCandidateIsReady() throws {
    let r = try rollout()
    let p = plan(r, try model())
    #expect(p.status.phase == .progressing && p.status.currentStep == 0)
    #expect(p.status.stableWeight == 100 && p.status.candidateWeight == 0 && p.routerWeight == 0)
    #expect(p.status.candidateHash == RolloutPlanner.candidateHash(r.spec))
    // The EdgeModel scales the candidate for the first step's weight before the router moves.
    #expect(RolloutPlanner.scaleWeight(try after(r, p)) == 10)
    #expect(p.status.message?.contains("waiting for the candidate's pods for weight 10%") == true)
    // Pods planned but their engine still building: still 0%.
    let r1 = try after(r, p)
    let building = plan(r1, try model(candidate: report(r1, weight: 10, ready: 0, engine: .building)))
    #expect(building.routerWeight == 0 && building.status.currentStep == 0)
    // A report for another weight (the EdgeModel has not caught up) does not count either.
    #expect(plan(r1, try model(candidate: report(r1, weight: 50))).routerWeight == 0)
  }

  @Test func aWeightIsSetOnceTheCandidatePodsAreReadyThenATimedPauseRunsOnTheClock() throws {
    var r = try rollout()
    r = try after(r, plan(r, try model()))
    let m = try model(candidate: report(r, weight: 10))
    let p = plan(r, m, at: Self.at(10))
    #expect(p.routerWeight == 10 && p.status.candidateWeight == 10 && p.status.stableWeight == 90)
    #expect(p.status.currentStep == 1 && p.status.phase == .paused && p.status.pause?.reason == "PauseStep")
    #expect(p.status.pause?.until == Self.at(310).rfc3339)
    #expect(p.requeueAfter == .seconds(300))
    #expect(p.events.map(\.reason) == ["WeightSet"])
    r = try after(r, p)
    // Four minutes later: still paused, the requeue counts down, nothing new is said.
    let mid = plan(r, m, at: Self.at(250))
    #expect(mid.status.phase == .paused && mid.requeueAfter == .seconds(60) && mid.events.isEmpty)
    // At the end of the pause: on to the analysis step, which asks for a measurement.
    let end = plan(r, m, at: Self.at(310))
    #expect(end.status.currentStep == 2 && end.status.phase == .progressing && end.measure == ["p99"])
  }

  @Test func theSamePlanFromStatusAloneAtEveryStep() throws {
    // A controller killed after any write restarts with the status only: planning again from it
    // at the same moment changes nothing and says nothing (no step repeated or skipped).
    var r = try rollout()
    var t: Int64 = 0
    var seen: [Int] = []
    let verdicts: [String: RolloutPlanner.MetricVerdict] = ["p99": .successful]
    for _ in 0..<12 {
      let weight = RolloutPlanner.scaleWeight(r)
      let m = try model(candidate: r.status == nil ? nil : report(r, weight: weight, stableServesCandidate: r.status?.promotedAt != nil))
      let p = plan(r, m, at: Self.at(t), analysis: verdicts)
      r = try after(r, p)
      let again = plan(r, m, at: Self.at(t), analysis: verdicts)
      #expect(again.status == p.status, "step \(p.status.currentStep ?? -1)")
      #expect(again.events.isEmpty)
      seen.append(p.status.currentStep ?? -1)
      if p.status.phase == .promoted { break }
      if p.status.pause?.reason == "PauseStep" && p.status.pause?.until == nil {
        var s = r.status!
        s.request = RolloutRequest(action: .resume, requestedBy: "alice")
        r.status = s
      }
      t += 301
    }
    #expect(r.status?.phase == .promoted)
    // Weights only ever went up, one step at a time.
    #expect(seen == seen.sorted())
    #expect(r.status?.candidateWeight == 0 && r.status?.stableWeight == 100)
  }

  @Test func anIndefinitePauseWaitsForResumeAndTheRequestIsConsumed() throws {
    let steps: JSONValue = [["setWeight": 20], ["pause": [:]], ["setWeight": 40]]
    var r = try rollout(steps: steps)
    r = try after(r, plan(r, try model()))
    let p = plan(r, try model(candidate: report(r, weight: 20)))
    #expect(p.status.phase == .paused && p.status.pause?.reason == "PauseStep" && p.requeueAfter == nil)
    r = try after(r, p)
    #expect(plan(r, try model(candidate: report(r, weight: 20)), at: Self.at(86_400)).status.currentStep == 1)
    var s = r.status!
    s.request = RolloutRequest(action: .resume, requestedAt: Self.at(100).rfc3339, requestedBy: "alice")
    r.status = s
    let resumed = plan(r, try model(candidate: report(r, weight: 20)), at: Self.at(120))
    #expect(resumed.status.request == nil)
    #expect(resumed.status.lastRequest?.action == .resume && resumed.status.lastRequest?.outcome == "Accepted")
    #expect(resumed.status.lastRequest?.handledAt == Self.at(120).rfc3339 && resumed.status.lastRequest?.requestedBy == "alice")
    #expect(resumed.status.currentStep == 2 && resumed.status.phase == .progressing)
    // A resume with nothing to resume is recorded as ignored, and changes nothing else.
    var r2 = try after(r, resumed)
    var s2 = r2.status!
    s2.request = RolloutRequest(action: .resume)
    r2.status = s2
    let ignored = plan(r2, try model(candidate: report(r2, weight: 40, ready: 0, engine: .building)), at: Self.at(130))
    #expect(ignored.status.lastRequest?.outcome.hasPrefix("ignored: nothing to resume") == true)
    #expect(ignored.status.currentStep == 2)
  }

  @Test func analysisDecidesSuccessAbortOrPauseAndNeverPromotesOnMissingData() throws {
    let steps: JSONValue = [["setWeight": 10], ["analysis": ["metrics": ["p99"]]], ["setWeight": 100]]
    var r = try rollout(steps: steps)
    r = try after(r, plan(r, try model()))
    r = try after(r, plan(r, try model(candidate: report(r, weight: 10))))
    #expect(r.status?.currentStep == 1)
    let m = try model(candidate: report(r, weight: 10))
    let due = plan(r, m, analysis: ["p99": .running(after: .zero)])
    #expect(due.measure == ["p99"] && due.status.currentStep == 1 && due.requeueAfter == .seconds(60))
    let later = plan(r, m, analysis: ["p99": .running(after: .seconds(20))])
    #expect(later.measure.isEmpty && later.requeueAfter == .seconds(20))
    let ok = plan(r, m, analysis: ["p99": .successful])
    #expect(ok.status.currentStep == 2)
    let failed = plan(r, m, analysis: ["p99": .failed("result 72.5 does not satisfy result < 50")])
    #expect(failed.status.phase == .aborted && failed.routerWeight == 0 && failed.status.stableWeight == 100)
    #expect(failed.status.abort?.reason == "AnalysisFailed" && failed.status.abort?.step == 1)
    #expect(failed.status.abort?.message.contains("result 72.5") == true)
    #expect(failed.events.contains { $0.type == "Warning" && $0.reason == "Aborted" })
    let missing = plan(r, m, analysis: ["p99": .inconclusive("the query returned no data")])
    #expect(missing.status.phase == .paused && missing.status.pause?.reason == "AnalysisInconclusive")
    #expect(missing.routerWeight == 10 && missing.status.promotedAt == nil)
    // abortOnFailure false: a failure pauses instead.
    var soft = try rollout(steps: steps, abortOnFailure: false)
    soft.status = r.status
    let paused = plan(soft, m, analysis: ["p99": .failed("too slow")])
    #expect(paused.status.phase == .paused && paused.status.pause?.reason == "AnalysisFailed")
  }

  @Test func promotionWaitsForTheStableWorkloadsOnTheCandidate() throws {
    var r = try rollout(steps: [["setWeight": 100]])
    r = try after(r, plan(r, try model()))
    let p = plan(r, try model(candidate: report(r, weight: 100)), at: Self.at(5))
    #expect(p.status.promotedAt == Self.at(5).rfc3339 && p.status.phase == .progressing)
    #expect(p.status.promotedOver == RolloutPlanner.modelHash(try model().spec.model))
    #expect(p.routerWeight == 100)
    r = try after(r, p)
    #expect(RolloutPlanner.isActive(r))
    let done = plan(r, try model(candidate: report(r, weight: 100, stableServesCandidate: true)), at: Self.at(60))
    #expect(done.status.phase == .promoted && done.routerWeight == 0 && done.status.stableWeight == 100)
    #expect(done.events.map(\.reason) == ["Promoted"])
    #expect(!RolloutPlanner.isActive(try after(r, done)))
  }

  @Test func abortThenRetryAndPromoteFull() throws {
    var r = try rollout()
    r = try after(r, plan(r, try model()))
    r = try after(r, plan(r, try model(candidate: report(r, weight: 10))))
    var s = r.status!
    s.request = RolloutRequest(action: .abort, requestedBy: "bob")
    r.status = s
    let aborted = plan(r, try model(candidate: report(r, weight: 10)), at: Self.at(20))
    #expect(aborted.status.phase == .aborted && aborted.routerWeight == 0 && aborted.status.abort?.reason == "AbortRequested")
    r = try after(r, aborted)
    #expect(!RolloutPlanner.isActive(r))
    // Aborted stays aborted whatever the candidate does.
    #expect(plan(r, try model(candidate: report(r, weight: 10)), at: Self.at(30)).status.phase == .aborted)
    s = r.status!
    s.request = RolloutRequest(action: .retry)
    r.status = s
    let retried = plan(r, try model(), at: Self.at(40))
    #expect(retried.status.phase == .progressing && retried.status.currentStep == 0 && retried.status.abort == nil)
    r = try after(r, retried)
    s = r.status!
    s.request = RolloutRequest(action: .promote, full: true)
    r.status = s
    let full = plan(r, try model(candidate: report(r, weight: 100)), at: Self.at(50))
    #expect(full.status.currentStep == 6 && full.status.promotedAt != nil)
  }

  @Test func aManualPauseHoldsEveryStepUntilResumed() throws {
    var r = try rollout()
    r = try after(r, plan(r, try model()))
    var s = r.status!
    s.request = RolloutRequest(action: .pause)
    r.status = s
    let p = plan(r, try model(candidate: report(r, weight: 10)))
    #expect(p.status.phase == .paused && p.status.pause?.reason == "Manual" && p.routerWeight == 0)
    r = try after(r, p)
    // The candidate becomes ready: still paused, the weight does not move.
    #expect(plan(r, try model(candidate: report(r, weight: 10)), at: Self.at(600)).routerWeight == 0)
  }

  @Test func aCandidateWhoseEngineFailsPausesTheRolloutWithOneWarning() throws {
    var r = try rollout()
    r = try after(r, plan(r, try model()))
    let broken = try model(candidate: report(r, weight: 10, ready: 0, engine: .failed, message: "ParseFailed: unsupported ONNX opset 21"))
    let p = plan(r, broken)
    #expect(p.status.phase == .paused && p.status.pause?.reason == "CandidateFailed" && p.routerWeight == 0)
    #expect(p.status.message?.contains("unsupported ONNX opset 21") == true)
    #expect(p.events.map(\.reason) == ["CandidateFailed"])
    r = try after(r, p)
    #expect(plan(r, broken, at: Self.at(30)).events.isEmpty)
    // A fixed candidate (a new spec) starts over.
    var fixed = try rollout()
    fixed.spec.candidate.model.version = "4.1"
    fixed.status = r.status
    let restarted = plan(fixed, broken)
    #expect(restarted.status.phase == .progressing && restarted.status.candidateHash != r.status?.candidateHash)
    #expect(restarted.events.map(\.reason) == ["Restarted"])
  }

  @Test func badInputIsAConditionNotALoop() throws {
    let r = try rollout()
    let missing = plan(r, nil)
    #expect(missing.status.phase == .degraded && missing.requeueAfter == nil)
    #expect(missing.status.conditions?.first { $0.type == "Progressing" }?.reason == "ModelNotFound")
    #expect(missing.events.map(\.reason) == ["ModelNotFound"])
    #expect(plan(try after(r, missing), nil).events.isEmpty)
    let conflict = plan(r, try model(), competing: "detector-v3")
    #expect(conflict.status.phase == .paused && conflict.status.pause?.reason == "Conflict" && conflict.routerWeight == 0)
    #expect(conflict.status.message?.contains("detector-v3") == true)
    let undefined = try rollout(steps: [["analysis": ["metrics": ["error-rate"]]]])
    let u = plan(try after(undefined, plan(undefined, try model())), try model())
    #expect(u.status.pause?.reason == "AnalysisInvalid" && u.status.message?.contains("error-rate") == true)
  }

  @Test func theStepsMeasurementsInStatusGiveTheVerdicts() throws {
    // The analysis step (step 1) of a rollout, with `count: 3` at 1m and `failureLimit: 1`.
    var r = try rollout(steps: [["setWeight": 10], ["analysis": [:]]])
    r.spec.analysis?.metrics?[0].count = 3
    r.spec.analysis?.metrics?[0].failureLimit = 1
    func verdict(_ phases: [MeasurementPhase], lastAt: Int64 = 590) -> RolloutPlanner.MetricVerdict? {
      var result = MetricResult(name: "p99")
      for (i, p) in phases.enumerated() {
        let at = Self.at(lastAt - Int64(phases.count - 1 - i) * 60)
        result.record(Measurement(metric: "p99", phase: p, value: "42", message: "\(p)", startedAt: at, finishedAt: at))
      }
      var s = RolloutStatus()
      s.currentStep = 1
      s.analysisRuns = [ModelCoding.encode(result)]
      var x = r
      x.status = s
      return RolloutAnalysis.verdicts(for: x, now: Self.at(600))["p99"]
    }
    #expect(verdict([]) == .running(after: .zero))
    #expect(verdict([.successful]) == .running(after: .seconds(50)))
    #expect(verdict([.successful, .successful, .successful]) == .successful)
    #expect(verdict([.failed, .successful]) == .running(after: .seconds(50)))   // one failure is within the limit
    #expect(verdict([.failed, .failed]) == .failed("failed"))
    // No data is never a pass: one inconclusive measurement (inconclusiveLimit 0) stops the step.
    #expect(verdict([.successful, .inconclusive]) == .inconclusive("inconclusive"))
    // Errors are retried; after more than four in a row the metric cannot be read: a person decides.
    #expect(verdict([.error, .error, .error, .error]) == .running(after: .seconds(50)))
    if case .inconclusive = verdict([.error, .error, .error, .error, .error]) {} else { Issue.record("five errors in a row must stop the step") }
    // A step that is not an analysis has nothing to measure.
    var plain = r
    plain.status = RolloutStatus()
    plain.status?.currentStep = 0
    #expect(RolloutAnalysis.verdicts(for: plain, now: Self.at(600)).isEmpty)
  }
}

/// The abTest strategy: the split starts when the candidate is Ready, counts are read at each
/// interval from the pods' counters (from their first look on), and the test decides.
@Suite struct RolloutABTestPlannerTests {
  let t0 = RolloutPlannerTests.t0
  func at(_ s: Int64) -> Timestamp { RolloutPlannerTests.at(s) }

  func rollout(sequential: Bool = false, autoPromote: Bool = true, kind: String = "proportion") throws -> Rollout {
    try Rollout(json: [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout",
      "metadata": ["name": "detector-ab", "namespace": "vision", "generation": 1, "creationTimestamp": "2026-12-06T09:00:00Z"],
      "spec": ["modelRef": ["name": "detector"],
               "candidate": ["model": ["uri": "https://models.example.com/detector-v4.onnx", "version": "4",
                                       "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444"]],
               "strategy": ["abTest": ["variants": [["name": "a", "weight": 50], ["name": "b", "weight": 50]], "match": ["header": "x-cohort"],
                                       "duration": "2h", "metric": ["name": "nv_inference_request_success", "kind": .string(kind)],
                                       "decision": ["test": "two-proportion", "alpha": 0.05, "minSamples": 500,
                                                    "sequential": .bool(sequential), "autoPromote": .bool(autoPromote)]]],
               "analysis": ["interval": "1m"]],
    ])
  }

  func plan(_ r: Rollout, _ m: EdgeModel, at t: Timestamp, counts: [String: [String: PodCounts]]? = nil) -> RolloutPlanner.Plan {
    var input = RolloutPlanner.Input(rollout: r, model: m, now: t)
    input.abCounts = counts
    return RolloutPlanner.plan(input)
  }

  func counts(stable: (Int, Int), candidate: (Int, Int)) -> [String: [String: PodCounts]] {
    ["stable": ["detector-orin-1": PodCounts(successes: stable.0, failures: stable.1)],
     "candidate": ["detector-c-orin-1": PodCounts(successes: candidate.0, failures: candidate.1)]]
  }

  /// Starts the experiment: first sight, the candidate Ready, the first look (the baseline).
  func started(_ r0: Rollout, baseline: [String: [String: PodCounts]]) throws -> (Rollout, EdgeModel) {
    let helper = RolloutPlannerTests()
    var r = try helper.after(r0, helper.plan(r0, try helper.model()))
    let m = try helper.model(candidate: helper.report(r, weight: 50))
    let p = plan(r, m, at: t0)
    #expect(p.measure == [RolloutPlanner.abTestMeasurement] && p.routerWeight == 50)
    #expect(p.events.map(\.reason) == ["ABTestStarted"])
    r = try helper.after(r, plan(r, m, at: t0, counts: baseline))
    #expect(r.status?.abTest?.looks == 1 && r.status?.abTest?.variants?.map(\.trials) == [0, 0])
    #expect(r.status?.currentStep == nil)   // no steps: `kubectl get rollouts` shows no STEP
    return (r, m)
  }

  @Test func aBetterCandidateWinsWithItsPValueAndIsPromoted() throws {
    let (r, m) = try started(try rollout(), baseline: counts(stable: (5_000, 500), candidate: (10, 0)))
    // Before the interval: no look; at it, 1,000 more requests each: 90 % vs 99 % success.
    #expect(plan(r, m, at: at(30)).measure.isEmpty)
    let p = plan(r, m, at: at(60), counts: counts(stable: (5_900, 600), candidate: (1_000, 10)))
    let ab = try #require(p.status.abTest)
    #expect(ab.variants?.map(\.trials) == [1_000, 1_000] && ab.variants?.map(\.successes) == [900, 990])
    #expect(ab.decision == "Winner" && ab.winner == "b")
    #expect((ab.pValue ?? 1) < 1e-10 && abs((ab.effect ?? 0) - 0.09) < 1e-12)
    #expect((ab.confidenceInterval?.lower ?? 0) > 0 && (ab.confidenceInterval?.upper ?? 0) > (ab.effect ?? 0))
    #expect(p.status.promotedAt == at(60).rfc3339)
    #expect(p.events.map(\.reason) == ["ABTestDecided", "Promoting"])
  }

  @Test func withoutAutoPromoteAPersonDecidesAndAWorseCandidateLosesWithIt() throws {
    let (r, m) = try started(try rollout(autoPromote: false), baseline: counts(stable: (0, 0), candidate: (0, 0)))
    let p = plan(r, m, at: at(60), counts: counts(stable: (990, 10), candidate: (900, 100)))
    #expect(p.status.abTest?.winner == "a" && p.status.phase == .paused && p.status.pause?.reason == "ABTestDecided")
    #expect(p.status.promotedAt == nil && p.routerWeight == 50)
    let (r2, m2) = try started(try rollout(), baseline: counts(stable: (0, 0), candidate: (0, 0)))
    let lost = plan(r2, m2, at: at(60), counts: counts(stable: (990, 10), candidate: (900, 100)))
    #expect(lost.status.phase == .aborted && lost.status.abort?.reason == "ABTestLost" && lost.routerWeight == 0)
  }

  @Test func noDecisionBeforeMinSamplesAndNoPeekingAtAFixedHorizon() throws {
    let (r, m) = try started(try rollout(), baseline: counts(stable: (0, 0), candidate: (0, 0)))
    // 400 each: below minSamples (500), however large the difference looks.
    let early = plan(r, m, at: at(60), counts: counts(stable: (200, 200), candidate: (400, 0)))
    #expect(early.status.abTest?.decision == "Undecided" && early.status.abTest?.pValue == nil)
    #expect(early.status.abTest?.reason?.contains("400 of 500") == true && early.requeueAfter == .seconds(60))
  }

  @Test func theSequentialTestContinuesFromStatusAfterARestart() throws {
    var (r, m) = try started(try rollout(sequential: true), baseline: counts(stable: (0, 0), candidate: (0, 0)))
    let helper = RolloutPlannerTests()
    var t: Int64 = 60
    var s = 0, c = 0
    var decided: RolloutPlanner.Plan?
    for _ in 0..<40 {
      s += 500; c += 500
      // 95 % vs 97 % success: a small real effect, found after some looks.
      let look = counts(stable: (s * 95 / 100, s * 5 / 100), candidate: (c * 97 / 100, c * 3 / 100))
      let p = plan(r, m, at: at(t), counts: look)
      // Planning again from the status just written gives the same status (a restart).
      let next = try helper.after(r, p)
      #expect(plan(next, m, at: at(t)).status.abTest == p.status.abTest)
      r = next
      t += 60
      if p.status.abTest?.decision != "Undecided" { decided = p; break }
    }
    let d = try #require(decided)
    #expect(d.status.abTest?.winner == "b" && (d.status.abTest?.looks ?? 0) > 2)
    #expect(d.status.abTest?.sequential != nil)
  }

  @Test func aFixedHorizonContinuousTestNeedingMoreSamplesThanStatusKeepsIsRefusedWithTheReason() throws {
    var r = try rollout(kind: "continuous")
    r.spec.strategy.abTest?.decision?.minSamples = 5_000
    let p = RolloutPlanner.plan(.init(rollout: r, model: try RolloutPlannerTests().model(), now: t0))
    #expect(p.status.phase == .degraded && p.status.message?.contains("at most 2000 samples per variant") == true)
  }
}
