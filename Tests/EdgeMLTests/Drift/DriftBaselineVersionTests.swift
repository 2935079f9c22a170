import ControllerRuntime
import DriftStatistics
import KubeCore
import Testing
@testable import EdgeML

/// A baseline reference belongs to the model version it was captured for (docs/drift-policy.md,
/// "The reference"): a promoted retrained model starts a new baseline, so the loop goes quiet.
struct DriftBaselineVersionTests {
  typealias P = DriftPolicyPlanner
  let t0 = DriftFixtures.created.secondsSinceEpoch

  /// The fixture model serving `current` (a promoted Rollout's version) with the given phase.
  func model(current: String, phase: EdgeModelPhase) throws -> EdgeModel {
    var m = try DriftFixtures.model()
    var s = EdgeModelStatus()
    s.currentVersion = current
    s.phase = phase
    m.status = s
    return m
  }

  func baselinePolicy() throws -> DriftPolicy { try DriftFixtures.policy(reference: ["baseline": ["window": "30m"]]) }

  @Test("a promoted version restarts the baseline at the agents' next window once the model is Ready; the old version's baseline never judges it")
  func promotedVersionRestartsTheBaseline() throws {
    let policy = try baselinePolicy()
    let settings = try P.settings(policy.spec)
    // Version 4 is served, still rolling out: nothing is tested against version 3's baseline, nothing collected yet.
    let rolling = P.plan(.init(policy: policy, model: try model(current: "4", phase: .building), hasBaseline: true, baselineVersion: "3",
                               now: Timestamp(secondsSinceEpoch: t0 + 4010)))
    #expect(rolling.objects.isEmpty)
    #expect(DriftFixtures.condition(rolling, "Drifted")?.reason == "BaselineCollecting")
    #expect(rolling.requeueAfter == .seconds(10))
    // Ready, but a Rollout of the model still moves traffic: still waiting.
    let moving = P.plan(.init(policy: policy, model: try model(current: "4", phase: .ready), hasBaseline: true, baselineVersion: "3",
                              rolloutInProgress: true, now: Timestamp(secondsSinceEpoch: t0 + 4010)))
    #expect(moving.objects.isEmpty && DriftFixtures.condition(moving, "Drifted")?.reason == "BaselineCollecting")

    // Ready: the ConfigMap is emptied and marked for version 4 from the next 60 s agent window.
    let plan = P.plan(.init(policy: policy, model: try model(current: "4", phase: .ready), hasBaseline: true, baselineVersion: "3",
                            now: Timestamp(secondsSinceEpoch: t0 + 4010)))
    let cm = try #require(plan.objects.first { $0.resource.resource == "configmaps" }?.object)
    #expect(cm[path: ["metadata", "name"]] == "detector-drift-baseline")
    #expect(cm[path: ["metadata", "annotations", "edgeml.io/model-version"]] == "4")
    #expect(cm[path: ["metadata", "annotations", "edgeml.io/baseline-since"]] == .string(String(t0 + 4020)))
    #expect(cm[path: ["data", "reference.json"]] == nil)
    #expect(plan.events.map(\.reason) == ["BaselineRestarted"])
    #expect(DriftFixtures.condition(plan, "Drifted")?.status == "Unknown")
    #expect(plan.requeueAfter == .seconds(10 + 1800))
    #expect(DriftFixtures.jobs(plan).isEmpty)

    // The new window is captured once it has passed, and evaluations start from it.
    #expect(P.step(policy, settings: settings, hasBaseline: false, baselineSince: t0 + 4020, now: t0 + 5000) == .wait(until: t0 + 5820))
    let step = P.step(policy, settings: settings, hasBaseline: false, baselineSince: t0 + 4020, now: t0 + 5821)
    #expect(step == .captureBaseline(since: t0 + 4020, until: t0 + 5820))
    var rng = SeededRandom(seed: 5)
    let captured = P.plan(.init(policy: policy, model: try model(current: "4", phase: .ready), baselineVersion: "4", baselineSince: t0 + 4020,
                                gathered: P.Gathered(step: step, current: .success(try DriftFixtures.summaries(&rng, n: 300)), pods: 2, reference: nil),
                                now: Timestamp(secondsSinceEpoch: t0 + 5821)))
    let kept = try #require(captured.objects.first { $0.resource.resource == "configmaps" }?.object)
    #expect(kept[path: ["metadata", "annotations", "edgeml.io/model-version"]] == "4")
    #expect(kept[path: ["data", "reference.json"]]?.stringValue != nil)
    #expect(DriftFixtures.condition(captured, "Drifted")?.reason == "BaselineCaptured")
  }

  @Test("a baseline kept without a version (an older operator's) is not restarted")
  func unversionedBaselineStays() throws {
    let policy = try baselinePolicy()
    let plan = P.plan(.init(policy: policy, model: try model(current: "4", phase: .ready), hasBaseline: true,
                            now: Timestamp(secondsSinceEpoch: t0 + 4010)))
    #expect(!plan.events.contains { $0.reason == "BaselineRestarted" })
    #expect(plan.objects.isEmpty)
  }

  @Test("a baseline window with too few samples is not kept: the next agent window is collected instead")
  func thinBaselineStartsAgain() throws {
    let policy = try baselinePolicy()
    let settings = try P.settings(policy.spec)
    let step = P.step(policy, settings: settings, hasBaseline: false, now: t0 + 1805)
    var rng = SeededRandom(seed: 6)
    let plan = P.plan(.init(policy: policy, model: try model(current: "3", phase: .ready),
                            gathered: P.Gathered(step: step, current: .success(try DriftFixtures.summaries(&rng, n: 20)), pods: 1, reference: nil),
                            now: Timestamp(secondsSinceEpoch: t0 + 1805)))
    let cm = try #require(plan.objects.first { $0.resource.resource == "configmaps" }?.object)
    #expect(cm[path: ["data", "reference.json"]] == nil)
    #expect(cm[path: ["metadata", "annotations", "edgeml.io/baseline-since"]] == .string(String(t0 + 1860)))
    #expect(DriftFixtures.condition(plan, "Drifted")?.message?.contains("held 20 samples, fewer than minSamples 100") == true)
    #expect(plan.status.attemptFailures == nil)
    #expect(plan.requeueAfter == .seconds(55 + 1800))
  }

  @Test("a retraining Job's lineage is the model served — a promoted Rollout's candidate — not the spec it replaced")
  func lineageIsTheServedModel() throws {
    var rng = SeededRandom(seed: 8)
    let policy = try DriftFixtures.policy()
    let step = P.step(policy, settings: try P.settings(policy.spec), hasBaseline: false, now: t0)
    let served = CandidateModel(uri: "file:///models/detector-v4.onnx", digest: "sha256:" + String(repeating: "4", count: 64), version: "4")
    let plan = P.plan(.init(policy: policy, model: try model(current: "4", phase: .ready), servedModel: served,
                            gathered: P.Gathered(step: step, current: .success(try DriftFixtures.summaries(&rng, n: 300, shift: 1, labelBias: 0.3)),
                                                 pods: 2, reference: .success(try DriftFixtures.summaries(&rng, n: 300))),
                            now: Timestamp(secondsSinceEpoch: t0)))
    let job = try #require(DriftFixtures.jobs(plan).first)
    let env = Dictionary(uniqueKeysWithValues: (job[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["env"]?.arrayValue ?? [])
      .map { ($0["name"]?.stringValue ?? "", $0["value"]?.stringValue ?? "") })
    #expect(env["EDGEML_MODEL_VERSION"] == "4" && env["EDGEML_MODEL_URI"] == served.uri && env["EDGEML_MODEL_DIGEST"] == served.digest)
  }
}
