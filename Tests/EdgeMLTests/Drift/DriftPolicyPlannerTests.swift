import ControllerRuntime
import DriftStatistics
import KubeCore
import Testing
@testable import EdgeML

enum DriftFixtures {
  static let created = Timestamp(secondsSinceEpoch: 1_800_000_000)

  static func policy(features: [JSONValue] = [["name": "brightness", "type": "numerical", "test": "ks"],
                                              ["name": "contrast", "type": "numerical", "test": "ks"],
                                              ["name": "speed", "type": "numerical", "test": "ks"],
                                              ["name": "label", "type": "categorical", "test": "chi2"]],
                     retraining: JSONValue? = nil, reference: JSONValue = ["configMapRef": ["name": "ref", "key": "reference.json"]],
                     schedule: JSONValue = ["interval": "10m", "window": "10m", "minSamples": 100], status: JSONValue? = nil) throws -> DriftPolicy {
    var json: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "DriftPolicy",
      "metadata": ["name": "detector-drift", "namespace": "default", "uid": "policy-uid", "generation": 1,
                   "creationTimestamp": .string(created.rfc3339)],
      "spec": ["modelRef": ["name": "detector"], "source": ["podMetrics": [:]], "reference": reference,
               "features": .array(features), "datasetDrift": ["share": 0.5], "correction": "benjamini-hochberg",
               "schedule": schedule,
               "retraining": retraining ?? ["cooldown": "6h", "maxConcurrent": 1, "historyLimit": 2,
                                            "jobTemplate": ["spec": ["template": ["spec": ["containers": [["name": "train", "image": "train:1"]]]]]]]],
    ]
    if let status { json["status"] = status }
    return try DriftPolicy(json: json)
  }

  static func model() throws -> EdgeModel {
    try EdgeModel(json: ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                         "metadata": ["name": "detector", "namespace": "default", "uid": "model-uid"],
                         "spec": ["model": ["uri": "https://models.example.com/detector.onnx", "version": "3",
                                            "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"],
                                  "serving": ["image": "triton:1"]]])
  }

  /// Summaries of `n` draws per feature; numerical features N(shift, 1), the label from three categories.
  static func summaries(_ rng: inout SeededRandom, n: Int, shift: Double = 0, labelBias: Double = 0,
                        numerical: [String] = ["brightness", "contrast", "speed"]) throws -> [String: FeatureSummary] {
    var out: [String: FeatureSummary] = [:]
    for name in numerical {
      var s = KLLSketch()
      for _ in 0..<n { try s.insert(rng.normal(mean: name == "brightness" ? shift : 0)) }
      out[name] = .numerical(s)
    }
    var c = CategoricalCounts()
    try c.insert(contentsOf: (0..<n).map { _ in
      let u = Double.random(in: 0..<1, using: &rng)
      return u < 0.5 + labelBias ? "car" : (u < 0.8 + labelBias / 2 ? "bus" : "bike")
    })
    out["label"] = .categorical(c)
    return out
  }

  static func condition(_ plan: DriftPolicyPlanner.Plan, _ type: String) -> StatusCondition? {
    Condition.find(type, in: plan.status.conditions ?? [])
  }

  static func jobs(_ plan: DriftPolicyPlanner.Plan) -> [JSONValue] {
    plan.objects.filter { $0.resource.resource == "jobs" }.map(\.object)
  }
}

/// The DriftPolicy planner on literal inputs: decisions, retraining limits and bad input.
struct DriftPolicyPlannerTests {
  typealias P = DriftPolicyPlanner

  /// Evaluates at `now` with the given data and returns the plan and the policy with its new status.
  func evaluate(_ policy: DriftPolicy, reference: [String: FeatureSummary], current: [String: FeatureSummary], now: Int64,
                jobs: [JSONValue] = [], outputs: [String: P.JobOutput] = [:]) throws -> (P.Plan, DriftPolicy) {
    let settings = try P.settings(policy.spec)
    let step = P.step(policy, settings: settings, hasBaseline: false, now: now)
    var gathered: P.Gathered?
    if case .evaluate = step { gathered = P.Gathered(step: step, current: .success(current), pods: 2, reference: .success(reference)) }
    let plan = P.plan(.init(policy: policy, model: try DriftFixtures.model(), jobs: jobs, gathered: gathered, jobOutputs: outputs,
                            now: Timestamp(secondsSinceEpoch: now)))
    var next = policy
    next.status = plan.status
    return (plan, next)
  }

  @Test("with no drift, false alarms stay near alpha after correction and no retraining Job is ever created")
  func noDriftNoRetraining() throws {
    var rng = SeededRandom(seed: 42)
    // Eight features (seven numerical, one categorical), the dataset drifting at half of them (the default share).
    let numerical = ["brightness", "contrast", "speed", "width", "height", "score", "latency"]
    var policy = try DriftFixtures.policy(features: numerical.map { ["name": .string($0), "type": "numerical", "test": "ks"] }
                                            + [["name": "label", "type": "categorical", "test": "chi2"]])
    let reference = try DriftFixtures.summaries(&rng, n: 300, numerical: numerical)
    var now = DriftFixtures.created.secondsSinceEpoch
    var flagged = 0, jobs = 0
    let evaluations = 400
    for _ in 0..<evaluations {
      let (plan, next) = try evaluate(policy, reference: reference, current: try DriftFixtures.summaries(&rng, n: 300, numerical: numerical),
                                      now: now)
      policy = next
      if plan.results?.contains(where: { $0.drifted == true }) == true { flagged += 1 }
      jobs += DriftFixtures.jobs(plan).count
      now += 600
    }
    let rate = Double(flagged) / Double(evaluations)
    print("no drift: \(flagged) of \(evaluations) evaluations flagged a feature after BH (alpha 0.05): rate \(rate)")
    // Benjamini–Hochberg under the global null keeps P(any rejection) ≤ alpha; KS and chi-squared
    // on exact sketches (300 < k) are the ordinary tests, whose discrete p-values make it lower.
    #expect(rate <= 0.085)
    #expect(rate >= 0.005, "a rate of \(rate) means the tests never fire: they would miss drift too")
    #expect(jobs == 0)
    #expect(policy.status?.retrainCount == nil)
    #expect(DriftFixtures.condition(try evaluate(policy, reference: reference, current: reference, now: now).0, "Drifted")?.status == "False")
  }

  @Test("a drifted feature is detected at the first evaluation after the drift, and a retraining Job is created")
  func driftDetected() throws {
    var rng = SeededRandom(seed: 7)
    var policy = try DriftFixtures.policy()
    let reference = try DriftFixtures.summaries(&rng, n: 300)
    let t0 = DriftFixtures.created.secondsSinceEpoch
    let (quiet, p1) = try evaluate(policy, reference: reference, current: try DriftFixtures.summaries(&rng, n: 300), now: t0)
    #expect(DriftFixtures.jobs(quiet).isEmpty)
    policy = p1
    // Brightness and the label move: 2 of 4 features, share 0.5 ≥ 0.5.
    let drifted = try DriftFixtures.summaries(&rng, n: 300, shift: 0.8, labelBias: 0.3)
    let (plan, p2) = try evaluate(policy, reference: reference, current: drifted, now: t0 + 600)
    #expect(DriftFixtures.condition(plan, "Drifted")?.status == "True")
    #expect(plan.status.lastEvaluation?.datasetDrift == true)
    let names = Set(plan.status.lastEvaluation?.features?.filter { $0.drifted == true }.compactMap(\.name) ?? [])
    #expect(names == ["brightness", "label"])
    let jobs = DriftFixtures.jobs(plan)
    try #require(jobs.count == 1)
    #expect(jobs[0][path: ["metadata", "name"]]?.stringValue == "detector-drift-retrain-1")
    let container = try #require(jobs[0][path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first)
    let env = Dictionary(uniqueKeysWithValues: (container["env"]?.arrayValue ?? []).map { ($0["name"]!.stringValue!, $0["value"]?.stringValue ?? "") })
    #expect(env["EDGEML_MODEL_NAME"] == "detector")
    #expect(env["EDGEML_MODEL_VERSION"] == "3")
    #expect(env["EDGEML_MODEL_URI"] == "https://models.example.com/detector.onnx")
    #expect(env["EDGEML_DRIFT_POLICY"] == "detector-drift")
    #expect(env["EDGEML_TRIGGER_TIME"] == Timestamp(secondsSinceEpoch: t0 + 600).rfc3339)
    let volumes = jobs[0][path: ["spec", "template", "spec", "volumes"]]?.arrayValue ?? []
    #expect(volumes.contains { $0[path: ["configMap", "name"]]?.stringValue == "detector-drift-drift-report" })
    // The report ConfigMap comes before the Job in the plan (the applier writes in order).
    let order = plan.objects.map(\.resource.resource)
    #expect(order.firstIndex(of: "configmaps")! < order.firstIndex(of: "jobs")!)
    #expect(plan.events.contains { $0.reason == "DriftDetected" })
    #expect(plan.events.contains { $0.reason == "RetrainingTriggered" })
    #expect(p2.status?.retrainCount == 1)
    #expect(DriftFixtures.condition(plan, "RetrainingTriggered")?.status == "True")
  }

  @Test("a burst of drifted evaluations creates one Job per cooldown and never more than maxConcurrent at once")
  func cooldownAndMaxConcurrent() throws {
    var rng = SeededRandom(seed: 11)
    var policy = try DriftFixtures.policy(retraining: [
      "cooldown": "1h", "maxConcurrent": 2, "historyLimit": 5,
      "jobTemplate": ["spec": ["template": ["spec": ["containers": [["name": "train", "image": "train:1"]]]]]]],
      schedule: ["interval": "1m", "window": "10m", "minSamples": 100])
    let reference = try DriftFixtures.summaries(&rng, n: 300)
    let drifted = try DriftFixtures.summaries(&rng, n: 300, shift: 1.5, labelBias: 0.3)
    var jobs: [JSONValue] = []
    var now = DriftFixtures.created.secondsSinceEpoch
    var created: [Int64] = []
    // Five hours of drift, evaluated every minute; no Job ever finishes.
    for _ in 0..<300 {
      let (plan, next) = try evaluate(policy, reference: reference, current: drifted, now: now, jobs: jobs)
      policy = next
      for job in DriftFixtures.jobs(plan) { jobs.append(job); created.append(now) }
      #expect(jobs.count <= 2)
      now += 60
    }
    #expect(jobs.count == 2)
    #expect(created.count == 2 && created[1] - created[0] >= 3600)
    #expect(DriftFixtures.condition(try evaluate(policy, reference: reference, current: drifted, now: now, jobs: jobs).0,
                                    "RetrainingTriggered")?.reason == "MaxConcurrent")
  }

  @Test("a Job created just before a crash is adopted on restart: no second Job for the same trigger")
  func adoptsJobAfterCrash() throws {
    var rng = SeededRandom(seed: 5)
    let policy = try DriftFixtures.policy()
    let reference = try DriftFixtures.summaries(&rng, n: 300)
    let drifted = try DriftFixtures.summaries(&rng, n: 300, shift: 1.5, labelBias: 0.3)
    let t0 = DriftFixtures.created.secondsSinceEpoch
    let (first, _) = try evaluate(policy, reference: reference, current: drifted, now: t0)
    let job = try #require(DriftFixtures.jobs(first).first)
    // The status write was lost: the next controller sees the old status and the Job.
    let (second, after) = try evaluate(policy, reference: reference, current: drifted, now: t0 + 30, jobs: [job])
    #expect(DriftFixtures.jobs(second).isEmpty)
    #expect(after.status?.retrainCount == 1)
    #expect(after.status?.lastRetrainJob == "detector-drift-retrain-1")
    #expect(after.status?.lastTriggerTime == Timestamp(secondsSinceEpoch: t0).rfc3339)
    #expect(DriftFixtures.condition(second, "RetrainingTriggered")?.reason == "MaxConcurrent")
  }

  @Test("a finished Job's model is handed to a Rollout, or left for a person; a failed one leaves the serving model alone and backs off")
  func jobOutcomes() throws {
    var rng = SeededRandom(seed: 9)
    let reference = try DriftFixtures.summaries(&rng, n: 300)
    let drifted = try DriftFixtures.summaries(&rng, n: 300, shift: 1.5, labelBias: 0.3)
    let t0 = DriftFixtures.created.secondsSinceEpoch
    let promoting = try DriftFixtures.policy(retraining: [
      "cooldown": "1h", "jobTemplate": ["spec": ["template": ["spec": ["containers": [["name": "train", "image": "train:1"]]]]]],
      "promote": ["rollout": ["strategy": ["canary": ["steps": [["setWeight": 20]]]]]]])
    let (first, p1) = try evaluate(promoting, reference: reference, current: drifted, now: t0)
    var job = try #require(DriftFixtures.jobs(first).first)
    job["status"] = ["conditions": [["type": "Complete", "status": "True"]]]
    let model = CandidateModel(uri: "https://models.example.com/detector-4.onnx",
                               digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", version: "4")
    let (done, p2) = try evaluate(p1, reference: reference, current: drifted, now: t0 + 60, jobs: [job], outputs: [job[path: ["metadata", "name"]]!.stringValue!: .model(model)])
    let rollout = try #require(done.objects.first { $0.resource == Rollout.resource }?.object)
    #expect(rollout[path: ["spec", "candidate", "model", "version"]]?.stringValue == "4")
    #expect(rollout[path: ["spec", "modelRef", "name"]]?.stringValue == "detector")
    #expect(rollout[path: ["spec", "strategy", "canary"]] != nil)
    #expect(p2.status?.retrainJobs?.first?.phase == "Succeeded")
    #expect(DriftFixtures.condition(done, "RetrainingTriggered")?.reason == "RolloutCreated")

    // Without promote: the new version waits in the status for a person.
    let manual = try DriftFixtures.policy()
    let (m1, mp1) = try evaluate(manual, reference: reference, current: drifted, now: t0)
    var mjob = try #require(DriftFixtures.jobs(m1).first)
    mjob["status"] = ["conditions": [["type": "Complete", "status": "True"]]]
    let (m2, mp2) = try evaluate(mp1, reference: reference, current: drifted, now: t0 + 60, jobs: [mjob],
                                 outputs: ["detector-drift-retrain-1": P.parseJobOutput(#"{"name": "detector", "version": "4"}"#)])
    #expect(m2.objects.allSatisfy { $0.resource != Rollout.resource })
    #expect(mp2.status?.awaitingPromotion?.uri == "mlflow://detector/4")
    #expect(m2.events.contains { $0.reason == "RetrainedModelReady" })

    // A failed Job: condition, Warning Event, no Rollout, and the next retraining waits longer than the cooldown.
    var fjob = try #require(DriftFixtures.jobs(m1).first)
    fjob["status"] = ["conditions": [["type": "Failed", "status": "True"]]]
    let (f2, fp2) = try evaluate(mp1, reference: reference, current: drifted, now: t0 + 60, jobs: [fjob])
    #expect(DriftFixtures.condition(f2, "RetrainingTriggered")?.reason == "RetrainingFailed")
    #expect(f2.events.contains { $0.type == "Warning" && $0.reason == "RetrainingFailed" })
    #expect(f2.objects.allSatisfy { $0.resource != Rollout.resource })
    #expect(fp2.status?.retrainFailures == 1)
    // Six hours later (the cooldown) a new Job may run; a succeeded Job without a model counts as failed too.
    var sjob = fjob
    sjob["status"] = ["conditions": [["type": "Complete", "status": "True"]]]
    let (n2, _) = try evaluate(mp1, reference: reference, current: drifted, now: t0 + 60, jobs: [sjob], outputs: ["detector-drift-retrain-1": P.parseJobOutput("")])
    #expect(DriftFixtures.condition(n2, "RetrainingTriggered")?.reason == "NoModelOutput")
  }

  @Test("bad input — unreadable or mismatched reference, a feature missing, no agent answering — is a condition, an Event and a backoff", arguments: [
    ("ReferenceUnreadable", true), ("ReferenceMismatch", true), ("FeatureMissing", false), ("AgentUnreachable", false),
  ])
  func badInput(_ reason: String, _ referenceSide: Bool) throws {
    var rng = SeededRandom(seed: 3)
    var policy = try DriftFixtures.policy()
    var current = try DriftFixtures.summaries(&rng, n: 300)
    var reference: Result<[String: FeatureSummary], DriftInputError> = .success(current)
    var gatheredCurrent: Result<[String: FeatureSummary], DriftInputError> = .success(current)
    switch reason {
    case "ReferenceUnreadable":
      reference = Result { () throws(DriftInputError) in try DriftData.reference(Array("not json".utf8), features: policy.spec.features, origin: "ConfigMap ref") }
    case "ReferenceMismatch":
      reference = Result { () throws(DriftInputError) in
        try DriftData.reference(Array(#"{"features": {"brightness": [1, 2], "contrast": ["a"], "speed": [1], "label": ["car"]}}"#.utf8),
                                features: policy.spec.features, origin: "ConfigMap ref")
      }
    case "FeatureMissing":
      current["speed"] = nil
      gatheredCurrent = .success(current)
    default:
      gatheredCurrent = .failure(DriftInputError("AgentUnreachable", "none of 2 drift agent(s) answered"))
    }
    var now = DriftFixtures.created.secondsSinceEpoch
    var waits: [Duration] = []
    for _ in 0..<8 {
      let step = P.step(policy, settings: try P.settings(policy.spec), hasBaseline: false, now: now)
      guard case .evaluate = step else { now += 1; continue }
      let plan = P.plan(.init(policy: policy, model: try DriftFixtures.model(),
                              gathered: P.Gathered(step: step, current: gatheredCurrent, pods: 2, reference: reference),
                              now: Timestamp(secondsSinceEpoch: now)))
      let drifted = try #require(DriftFixtures.condition(plan, "Drifted"))
      #expect(drifted.status == "Unknown")
      #expect(drifted.reason == reason)
      #expect(plan.events.contains { $0.type == "Warning" && $0.reason == reason })
      #expect(DriftFixtures.jobs(plan).isEmpty)
      waits.append(try #require(plan.requeueAfter))
      policy.status = plan.status
      now += Int64(plan.requeueAfter!.components.seconds)
    }
    // 10 s, 20 s, 40 s … capped at the interval: never a hot loop.
    #expect(waits.prefix(3) == [.seconds(10), .seconds(20), .seconds(40)])
    #expect(waits.last == .seconds(600))
    if referenceSide, case .failure(let e) = reference { #expect(e.reason == reason) }
  }

  @Test("too few samples in the window is no decision, and the condition says so")
  func minSamples() throws {
    var rng = SeededRandom(seed: 1)
    let policy = try DriftFixtures.policy(schedule: ["interval": "10m", "window": "10m", "minSamples": 500])
    let (plan, _) = try evaluate(policy, reference: try DriftFixtures.summaries(&rng, n: 300),
                                 current: try DriftFixtures.summaries(&rng, n: 300, shift: 3), now: DriftFixtures.created.secondsSinceEpoch)
    let c = try #require(DriftFixtures.condition(plan, "Drifted"))
    #expect(c.status == "Unknown" && c.reason == "InsufficientSamples")
    #expect(c.message?.contains("fewer than minSamples 500") == true)
    #expect(DriftFixtures.jobs(plan).isEmpty)
  }

  @Test("a baseline reference is captured from the first window after the policy starts and kept in a ConfigMap")
  func baselineCapture() throws {
    var rng = SeededRandom(seed: 2)
    let policy = try DriftFixtures.policy(reference: ["baseline": ["window": "30m"]])
    let settings = try P.settings(policy.spec)
    let t0 = DriftFixtures.created.secondsSinceEpoch
    #expect(P.step(policy, settings: settings, hasBaseline: false, now: t0 + 60) == .wait(until: t0 + 1800))
    let step = P.step(policy, settings: settings, hasBaseline: false, now: t0 + 1805)
    #expect(step == .captureBaseline(since: t0, until: t0 + 1800))
    let plan = P.plan(.init(policy: policy, model: try DriftFixtures.model(),
                            gathered: P.Gathered(step: step, current: .success(try DriftFixtures.summaries(&rng, n: 300)), pods: 1, reference: nil),
                            now: Timestamp(secondsSinceEpoch: t0 + 1805)))
    let cm = try #require(plan.objects.first { $0.resource.resource == "configmaps" }?.object)
    #expect(cm[path: ["metadata", "name"]]?.stringValue == "detector-drift-baseline")
    let text = try #require(cm[path: ["data", "reference.json"]]?.stringValue)
    let back = try DriftData.reference(Array(text.utf8), features: policy.spec.features, origin: "baseline")
    #expect(back["brightness"]?.count == 300)
    #expect(P.step(policy, settings: settings, hasBaseline: true, now: t0 + 1805) == .evaluate(since: t0 + 1805 - 600, until: t0 + 1805))
  }

  @Test("a finished Job's termination message is read as a model URI and digest or an MLflow version, anything else is no model")
  func terminationMessages() {
    #expect(P.parseJobOutput(#"{"uri": "https://m/x.onnx", "digest": "sha256:\#(String(repeating: "a", count: 64))", "version": "5"}"#)
            == .model(CandidateModel(uri: "https://m/x.onnx", digest: "sha256:" + String(repeating: "a", count: 64), version: "5")))
    #expect(P.parseJobOutput(#"{"name": "detector", "version": 7}"#) == .model(CandidateModel(uri: "mlflow://detector/7", digest: nil, version: "7")))
    for bad in ["", "done", #"{"uri": "https://m/x.onnx"}"#, #"{"uri": "https://m/x.onnx", "digest": "md5:1"}"#, "[1]"] {
      guard case .none = P.parseJobOutput(bad) else { Issue.record("\(bad) read as a model"); continue }
    }
  }

  @Test("finished Jobs beyond historyLimit are deleted, oldest first")
  func historyLimit() throws {
    let policy = try DriftFixtures.policy()   // historyLimit 2
    var status = DriftPolicyStatus()
    status.retrainCount = 3
    status.retrainJobs = (1...3).map { var r = RetrainJobRecord(name: "detector-drift-retrain-\($0)", trigger: $0, triggeredAt: nil, phase: "Failed"); r.message = "x"; return r }
    var p = policy
    p.status = status
    let jobs: [JSONValue] = (1...3).map { ["metadata": ["name": .string("detector-drift-retrain-\($0)"), "labels": ["edgeml.io/retrain-trigger": .string("\($0)")]],
                                           "status": ["conditions": [["type": "Failed", "status": "True"]]]] }
    let plan = P.plan(.init(policy: p, model: try DriftFixtures.model(), jobs: jobs, now: DriftFixtures.created))
    #expect(plan.deleteJobs == ["detector-drift-retrain-1"])
    #expect(plan.status.retrainJobs?.map(\.trigger) == [2, 3])
  }
}
