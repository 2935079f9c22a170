import ControllerRuntime
import KubeClient
import KubeCore
import Testing
@testable import EdgeML

/// What the EdgeModel planner does for a Rollout of its model: the candidate's workloads beside the
/// stable ones, the split of replicas, the Services of a weighted router, the disruption budgets,
/// and the model the stable workloads serve after a promotion.
@Suite struct EdgeModelPlannerRolloutTests {
  func model(_ spec: JSONValue) throws -> EdgeModel {
    try EdgeModel(json: ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                         "metadata": ["name": "detector", "namespace": "vision", "uid": "uid-1", "generation": 1], "spec": spec])
  }

  var spec4: JSONValue {
    var s = baseSpec
    s[path: ["placement"]] = ["jetson": ["modules": ["orin-nx-16gb", "agx-orin-64gb"], "l4t": ">=36"], "replicas": 3]
    return s
  }

  /// A rollout at `step` of `steps`, as its controller has started it.
  func rollout(steps: JSONValue, step: Int = 0, routing: JSONValue? = nil, phase: RolloutPhase = .progressing, promotedAt: String? = nil,
               promotedOver: String? = nil,
               candidate: JSONValue = ["uri": "https://models.example.com/detector-v4.onnx", "version": "4",
                                       "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444"]) throws -> Rollout {
    var spec: JSONValue = ["modelRef": ["name": "detector"], "candidate": ["model": candidate],
                           "strategy": ["canary": ["steps": steps]]]
    if let routing { spec["trafficRouting"] = routing }
    var r = try Rollout(json: ["apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout",
                               "metadata": ["name": "detector-v4", "namespace": "vision", "creationTimestamp": "2026-12-06T09:00:00Z"], "spec": spec])
    var s = RolloutStatus()
    s.phase = phase
    s.currentStep = step
    s.candidateHash = RolloutPlanner.candidateHash(r.spec)
    s.promotedAt = promotedAt
    s.promotedOver = promotedOver
    r.status = s
    return r
  }

  func plan(_ m: EdgeModel, _ rollouts: [Rollout], pods: [JSONValue] = [], pins: [String: String] = [:],
            pinFailure: EdgeModelPlanner.PinFailure? = nil) -> EdgeModelPlanner.Plan {
    var input = EdgeModelPlanner.Input(model: m, nodes: fleet, pods: pods, builderImage: "ghcr.io/edgeml/edgeml:0.1.0", now: "2026-12-06T10:00:00Z",
                                       rollouts: rollouts)
    input.pins = pins
    input.pinFailure = pinFailure
    return EdgeModelPlanner.plan(input)
  }

  /// The `--model-digest` of each workload's engine init container.
  func modelDigests(_ workloads: [JSONValue]) -> Set<String> {
    Set(workloads.compactMap { w in
      let args = w[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue?.first?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
      return args.firstIndex(of: "--model-digest").map { args[$0 + 1] }
    })
  }

  func objects(_ p: EdgeModelPlanner.Plan, kind: String) -> [JSONValue] { p.objects.map(\.object).filter { $0["kind"]?.stringValue == kind } }
  func replicas(_ objects: [JSONValue]) -> Int { objects.reduce(0) { $0 + ($1[path: ["spec", "replicas"]]?.intValue ?? 0) } }
  func candidates(_ p: EdgeModelPlanner.Plan) -> [JSONValue] {
    objects(p, kind: "Deployment").filter { $0[path: ["metadata", "labels", EdgeModelPlanner.Labels.track]] == "candidate" }
  }
  func stables(_ p: EdgeModelPlanner.Plan) -> [JSONValue] {
    objects(p, kind: "Deployment").filter { $0[path: ["metadata", "labels", EdgeModelPlanner.Labels.track]] == nil }
  }

  /// A Ready candidate pod of `workload` built with its engine.
  func readyPod(_ workload: JSONValue, name: String) -> JSONValue {
    ["metadata": ["name": .string(name), "namespace": "vision", "labels": workload[path: ["spec", "template", "metadata", "labels"]]!,
                  "annotations": workload[path: ["spec", "template", "metadata", "annotations"]]!],
     "spec": ["nodeName": "nx-1"],
     "status": ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]],
                "initContainerStatuses": [["name": "engine", "state": ["terminated": ["exitCode": 0, "message": "{\"state\":\"Built\"}"]]]]]]
  }

  @Test func everyNodeGroupGetsADisruptionBudgetFromTheSpec() throws {
    let p = plan(try model(spec4), [])
    let budgets = objects(p, kind: "PodDisruptionBudget")
    #expect(budgets.count == 2 && budgets.allSatisfy { $0[path: ["spec", "maxUnavailable"]] == 1 })
    #expect(budgets.allSatisfy { $0[path: ["spec", "selector", "matchLabels", EdgeModelPlanner.Labels.nodeGroup]] != nil })
    var s = spec4
    s[path: ["placement", "disruptionBudget"]] = ["minAvailable": "50%"]
    let custom = objects(plan(try model(s), []), kind: "PodDisruptionBudget")
    #expect(custom.allSatisfy { $0[path: ["spec", "minAvailable"]] == "50%" && $0[path: ["spec", "maxUnavailable"]] == nil })
    #expect(p.status.candidate == nil && candidates(p).isEmpty)
  }

  @Test func theReplicaRatioAddsCandidatesForTheWeightAndStableStepsAsideOnlyForReadyOnes() throws {
    let m = try model(spec4)
    let r = try rollout(steps: [["setWeight": 34], ["setWeight": 100]])
    let p = plan(m, [r])
    // ⌈3 × 34 / 100⌉ = 2 candidate pods, in the group with nodes to spare first.
    #expect(replicas(candidates(p)) == 2)
    #expect(replicas(stables(p)) == 3)   // none Ready yet: the stable pods all stay
    let c = try #require(candidates(p).first { ($0[path: ["spec", "replicas"]]?.intValue ?? 0) > 0 })
    #expect(c[path: ["spec", "selector", "matchLabels", EdgeModelPlanner.Labels.track]] == "candidate")
    #expect(c[path: ["spec", "template", "metadata", "labels", EdgeModelPlanner.Labels.version]] == "4")
    #expect(c[path: ["metadata", "name"]]?.stringValue?.hasPrefix("detector-c-") == true)
    let stableKey = stables(p)[0][path: ["spec", "template", "metadata", "annotations", EdgeModelPlanner.Labels.engineKey]]
    #expect(c[path: ["spec", "template", "metadata", "annotations", EdgeModelPlanner.Labels.engineKey]] != stableKey)
    #expect(p.status.candidate?.rollout == "detector-v4" && p.status.candidate?.weight == 34 && p.status.candidate?.replicas == 2)
    #expect(p.status.candidate?.hash == r.status?.candidateHash)
    // Two candidate pods Ready: two stable replicas step aside; the EdgeModel's own version stays 3.
    let pods = candidates(p).flatMap { w in (0..<(w[path: ["spec", "replicas"]]?.intValue ?? 0)).map { readyPod(w, name: "\(w[path: ["metadata", "name"]]!.stringValue!)-\($0)") } }
    #expect(pods.count == 2)
    let q = plan(m, [r], pods: pods)
    #expect(replicas(stables(q)) == 1 && q.status.candidate?.readyReplicas == 2)
    #expect(q.status.candidate?.engines?.allSatisfy { $0.state == .built } == true)
    // Weight 0 (a rollout that begins with a pause): no candidate pod takes traffic.
    #expect(replicas(candidates(plan(m, [try rollout(steps: [["pause": [:]], ["setWeight": 50]])]))) == 0)
    // A finished or aborted rollout: no candidate workloads at all (the applier prunes them).
    #expect(candidates(plan(m, [try rollout(steps: [["setWeight": 34]], phase: .aborted)])).isEmpty)
  }

  @Test("Ready's message names the candidate's replicas while it serves, not only the stable ones (0/0 once it has all the traffic)")
  func readySaysWhatTheCandidateServesWith() throws {
    let m = try model(spec4)
    let r = try rollout(steps: [["setWeight": 100]])
    let started = plan(m, [r])
    let pods = candidates(started).flatMap { w in
      (0..<(w[path: ["spec", "replicas"]]?.intValue ?? 0)).map { readyPod(w, name: "\(w[path: ["metadata", "name"]]!.stringValue!)-\($0)") }
    }
    #expect(pods.count == 3)
    let p = plan(m, [r], pods: pods)
    #expect(replicas(stables(p)) == 0)
    let ready = try #require(p.status.conditions?.first { $0.type == "Ready" })
    #expect(ready.status == "True")
    #expect(ready.message == "0/0 replica(s) ready on version 3; candidate version 4 of Rollout detector-v4: 3/3 ready at weight 100")
  }

  @Test func aWeightedRouterGetsTwoServicesAndACandidateInEveryGroupBeforeAnyTraffic() throws {
    let m = try model(spec4)
    let r = try rollout(steps: [["pause": [:]], ["setWeight": 10]], routing: ["traefik": ["traefikService": "detector"]])
    let p = plan(m, [r])
    #expect(candidates(p).count == 2 && candidates(p).allSatisfy { $0[path: ["spec", "replicas"]] == 1 })
    #expect(replicas(stables(p)) == 3)
    let services = Dictionary(uniqueKeysWithValues: objects(p, kind: "Service").map { ($0[path: ["metadata", "name"]]!.stringValue!, $0) })
    #expect(services["detector"]?[path: ["spec", "selector", EdgeModelPlanner.Labels.track]] == "stable")
    #expect(services["detector-candidate"]?[path: ["spec", "selector", EdgeModelPlanner.Labels.track]] == "candidate")
    // Without a rollout the Service selects every serving pod again, and there is one.
    let plain = objects(plan(m, []), kind: "Service")
    #expect(plain.count == 1 && plain[0][path: ["spec", "selector", EdgeModelPlanner.Labels.track]] == nil)
  }

  @Test func aPromotedCandidateIsServedUntilTheSpecModelChanges() throws {
    let m = try model(spec4)
    let over = RolloutPlanner.modelHash(m.spec.model)
    let promoted = try rollout(steps: [["setWeight": 100]], step: 1, phase: .promoted, promotedAt: "2026-12-06T09:30:00Z", promotedOver: over)
    let p = plan(m, [promoted])
    #expect(candidates(p).isEmpty)
    #expect(stables(p).allSatisfy { $0[path: ["spec", "template", "metadata", "labels", EdgeModelPlanner.Labels.version]] == "4" })
    // The user sets spec.model (to version 5, say): the spec wins again.
    var s = spec4
    s[path: ["model", "version"]] = "5"
    let q = plan(try model(s), [promoted])
    #expect(stables(q).allSatisfy { $0[path: ["spec", "template", "metadata", "labels", EdgeModelPlanner.Labels.version]] == "5" })
    // While promoting, the stable workloads already move to the candidate, at full size.
    let promoting = try rollout(steps: [["setWeight": 100]], step: 1, promotedAt: "2026-12-06T09:30:00Z", promotedOver: over)
    let during = plan(m, [promoting])
    #expect(replicas(stables(during)) == 3)
    #expect(stables(during).allSatisfy { $0[path: ["spec", "template", "metadata", "labels", EdgeModelPlanner.Labels.version]] == "4" })
  }

  // MARK: a candidate named as an MLflow version without a digest (issue 18)

  static let mlflowCandidate: JSONValue = ["uri": "mlflow://detector/4", "version": "4"]
  static let pinnedDigest = "sha256:4040404040404040404040404040404040404040404040404040404040404040"

  @Test("a candidate named mlflow://NAME/VERSION without a digest is built with the pinned digest, and its Rollout stays active")
  func aPinnedCandidateCarriesItsDigest() throws {
    let m = try model(spec4)
    let r = try rollout(steps: [["setWeight": 34], ["setWeight": 100]], candidate: Self.mlflowCandidate)
    let pins = ["mlflow://detector/4": Self.pinnedDigest]
    let tracks = RolloutTracks(model: m, rollouts: [r], pins: pins)
    #expect(tracks.urisToPin == ["mlflow://detector/4"])
    #expect(tracks.candidate?.source.digest == Self.pinnedDigest && tracks.unpinnedCandidate == nil)
    // The Rollout itself is untouched: the hash its status holds still matches its spec.
    #expect(r.spec.candidate.model.digest == nil && RolloutPlanner.isActive(r))
    let p = plan(m, [r], pins: pins)
    #expect(!candidates(p).isEmpty && modelDigests(candidates(p)) == [Self.pinnedDigest])
    #expect(modelDigests(stables(p)) == ["sha256:1111111111111111111111111111111111111111111111111111111111111111"])
    #expect(p.status.pins == [ModelPin(uri: "mlflow://detector/4", digest: Self.pinnedDigest)])
    #expect(p.status.candidate?.message == nil && p.status.candidate?.hash == r.status?.candidateHash)
    let c = try #require(p.status.conditions?.first { $0.type == "RolloutModelPinned" })
    #expect(c.status == "True" && c.reason == "Pinned" && c.message?.contains(Self.pinnedDigest) == true)
    // A candidate with its own digest (or another scheme) needs no pin: no condition, no pins.
    let plain = plan(m, [try rollout(steps: [["setWeight": 34]])])
    #expect(plain.status.pins == nil && plain.status.conditions?.contains { $0.type == "RolloutModelPinned" } == false)
  }

  @Test("a candidate whose digest could not be read gets no workloads; the EdgeModel says why with the Artifact reason, once")
  func anUnpinnedCandidateGetsNoWorkloads() throws {
    let m = try model(spec4)
    let r = try rollout(steps: [["setWeight": 34], ["setWeight": 100]], candidate: Self.mlflowCandidate)
    let failure = EdgeModelPlanner.PinFailure(uri: "mlflow://detector/4", reason: "ArtifactNotFound", message: "version 4 of detector has no model.onnx")
    let p = plan(m, [r], pinFailure: failure)
    #expect(candidates(p).isEmpty)
    #expect(replicas(stables(p)) == 3)   // nothing moves
    #expect(p.status.candidate?.rollout == "detector-v4" && p.status.candidate?.hash == r.status?.candidateHash)
    let message = try #require(p.status.candidate?.message)
    #expect(message.contains("mlflow://detector/4 cannot be pinned: version 4 of detector has no model.onnx"), "\(message)")
    let c = try #require(p.status.conditions?.first { $0.type == "RolloutModelPinned" })
    #expect(c.status == "False" && c.reason == "ArtifactNotFound")
    #expect(p.events.filter { $0.reason == "ArtifactNotFound" }.map(\.type) == ["Warning"])
    // The next pass with the same failure: no second Event.
    var again = m
    again.status = p.status
    #expect(!plan(again, [r], pinFailure: failure).events.contains { $0.reason == "ArtifactNotFound" })

    // The Rollout waits on it, and its status says why.
    var observed = m
    observed.status = p.status
    let waiting = RolloutPlanner.plan(.init(rollout: r, model: observed, now: try Timestamp(rfc3339: "2026-12-06T10:00:00Z")))
    #expect(waiting.status.currentStep == 0 && (waiting.status.candidateWeight ?? 0) == 0 && waiting.status.phase == .progressing)
    #expect(waiting.status.message?.hasPrefix("waiting for the candidate's model to be pinned: mlflow://detector/4 cannot be pinned") == true)
    #expect(waiting.status.conditions?.contains { $0.type == "Progressing" && $0.reason == "CandidateNotPinned" } == true)
  }

  @Test("a promoted candidate named mlflow://NAME/VERSION is served with its pinned digest; without one the stable workloads are held")
  func aPromotedCandidateKeepsItsDigest() throws {
    let m = try model(spec4)
    let over = RolloutPlanner.modelHash(m.spec.model)
    let promoted = try rollout(steps: [["setWeight": 100]], step: 1, phase: .promoted, promotedAt: "2026-12-06T09:30:00Z", promotedOver: over,
                               candidate: Self.mlflowCandidate)
    let pins = ["mlflow://detector/4": Self.pinnedDigest]
    let p = plan(m, [promoted], pins: pins)
    #expect(candidates(p).isEmpty && modelDigests(stables(p)) == [Self.pinnedDigest])
    #expect(p.status.pins == [ModelPin(uri: "mlflow://detector/4", digest: Self.pinnedDigest)])
    // No digest: the reconciler writes nothing for the workloads (they keep what they serve).
    let unpinned = RolloutTracks(model: m, rollouts: [promoted])
    #expect(unpinned.isStableUnpinned && unpinned.urisToPin == ["mlflow://detector/4"])
    #expect(!RolloutTracks(model: m, rollouts: [promoted], pins: pins).isStableUnpinned)
    // The same while promoting: the stable workloads move to the pinned candidate.
    let promoting = try rollout(steps: [["setWeight": 100]], step: 1, promotedAt: "2026-12-06T09:30:00Z", promotedOver: over,
                                candidate: Self.mlflowCandidate)
    #expect(modelDigests(stables(plan(m, [promoting], pins: pins))) == [Self.pinnedDigest])
    #expect(RolloutTracks(model: m, rollouts: [promoting]).isStableUnpinned)
  }

  @Test("a candidate promoted over an EdgeModel whose spec.model the operator pins itself (mlflow://NAME/VERSION without a digest) stays served")
  func aPromotionOverAPinnedSpecModelHolds() throws {
    var own = spec4
    own[path: ["model"]] = ["uri": "mlflow://detector/3"]
    var m = try model(own)
    let written = m.spec.model
    // What the reconciler plans with: the version FollowPlanner pinned.
    m.spec.model.digest = "sha256:3030303030303030303030303030303030303030303030303030303030303030"
    m.spec.model.version = "3"
    let promoted = try rollout(steps: [["setWeight": 100]], step: 1, phase: .promoted, promotedAt: "2026-12-06T09:30:00Z",
                               promotedOver: RolloutPlanner.modelHash(written), candidate: Self.mlflowCandidate)
    var input = EdgeModelPlanner.Input(model: m, nodes: fleet, pods: [], builderImage: "ghcr.io/edgeml/edgeml:0.1.0", now: "2026-12-06T10:00:00Z",
                                       rollouts: [promoted])
    input.pins = ["mlflow://detector/4": Self.pinnedDigest]
    input.ownModel = written
    let p = EdgeModelPlanner.plan(input)
    #expect(modelDigests(stables(p)) == [Self.pinnedDigest])
    #expect(stables(p).allSatisfy { $0[path: ["spec", "template", "metadata", "labels", EdgeModelPlanner.Labels.version]] == "4" })
    // Compared with the pinned source instead, the promotion would not count and version 3 would come back.
    input.ownModel = nil
    #expect(modelDigests(stables(EdgeModelPlanner.plan(input))) == ["sha256:3030303030303030303030303030303030303030303030303030303030303030"])
  }
}
