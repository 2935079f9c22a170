import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

/// Fleet rollouts (strategy.fleet) from both sides: the Rollout planner's waves, and the EdgeModel
/// planner's DaemonSets and evictions, each from the state the other writes.
@Suite struct FleetRolloutTests {
  static let t0 = try! Timestamp(rfc3339: "2026-12-06T10:00:00Z")

  /// Six Orin NX nodes; nx-4..nx-6 at site a, nx-1..nx-3 at site b (waveOrder moves site a first).
  static let nodes: [JetsonNode] = (1...6).map { i in
    jetson("nx-\(i)", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", extra: ["example.com/site": i >= 4 ? "a" : "b"])
  }

  static let waves: JSONValue = [["nodes": 1], ["percent": 50], ["percent": 100]]

  func rollout(waves: JSONValue = waves, maxUnavailable: JSONValue = 1, status: RolloutStatus? = nil, analysis: Bool = false,
               abortOnFailure: Bool = true) throws -> Rollout {
    var spec: JSONValue = [
      "modelRef": ["name": "detector"],
      "candidate": ["model": ["uri": "https://models.example.com/detector-v4.onnx", "version": "4",
                              "digest": "sha256:4444444444444444444444444444444444444444444444444444444444444444"]],
      "strategy": ["fleet": ["waves": waves, "maxUnavailable": maxUnavailable, "waveOrder": ["labelKey": "example.com/site"]]],
      "abortOnFailure": .bool(abortOnFailure),
    ]
    if analysis {
      spec["analysis"] = ["interval": "1m", "metrics": [["name": "errors", "provider": ["podMetrics": ["metric": "nv_inference_request_failure"]],
                                                         "successCondition": "result < 1"]]]
    }
    var o: JSONValue = ["apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout",
                        "metadata": ["name": "detector-v4", "namespace": "vision", "generation": 1, "creationTimestamp": "2026-12-06T09:00:00Z"],
                        "spec": spec]
    if let status { o["status"] = ModelCoding.encode(status) }
    return try Rollout(json: o)
  }

  func model(daemonSet: Bool = true, status: EdgeModelStatus? = nil) throws -> EdgeModel {
    var s = baseSpec
    s[path: ["placement"]] = daemonSet ? ["mode": "DaemonSet", "jetson": ["modules": ["orin-nx-16gb"]]] : ["replicas": 2]
    var o: JSONValue = ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                        "metadata": ["name": "detector", "namespace": "vision", "uid": "uid-1", "generation": 1], "spec": s]
    if let status { o["status"] = ModelCoding.encode(status) }
    return try EdgeModel(json: o)
  }

  /// The rollout's status as its controller has started it, at `wave`.
  func started(_ r: Rollout, wave: Int = 0, promotedAt: String? = nil, phase: RolloutPhase = .progressing) throws -> Rollout {
    var s = RolloutStatus()
    s.phase = phase
    s.currentStep = wave
    s.candidateHash = RolloutPlanner.candidateHash(r.spec)
    s.promotedAt = promotedAt
    return try rollout(waves: ModelCoding.encode(r.spec.strategy.fleet!.waves), maxUnavailable: ModelCoding.encode(r.spec.strategy.fleet!.maxUnavailable),
                       status: s, analysis: r.spec.analysis != nil, abortOnFailure: r.spec.abortOnFailure ?? true)
  }

  // MARK: the Rollout planner

  /// The EdgeModel's report of the fleet, for `r`.
  func reported(_ r: Rollout, eligible: Int = 6, target: Int, updated: Int, failed: [FailedNode] = [], serves: Bool? = nil) throws -> EdgeModel {
    var f = FleetReport()
    f.eligibleNodes = eligible
    f.targetNodes = target
    f.updatedNodes = updated
    f.failedNodes = failed.isEmpty ? nil : failed
    var c = CandidateStatus()
    c.rollout = r.metadata.name
    c.hash = RolloutPlanner.candidateHash(r.spec)
    c.fleet = f
    c.stableServesCandidate = serves
    var s = EdgeModelStatus()
    s.observedGeneration = 1
    s.candidate = c
    return try model(status: s)
  }

  func plan(_ r: Rollout, _ m: EdgeModel, analysis: [String: RolloutPlanner.MetricVerdict] = [:]) -> RolloutPlanner.Plan {
    RolloutPlanner.plan(.init(rollout: r, model: m, analysis: analysis, now: Self.t0))
  }

  func after(_ r: Rollout, _ p: RolloutPlanner.Plan) throws -> Rollout {
    var next = r
    next.status = p.status
    return try Rollout(json: next.json)
  }

  @Test func waveTargetsAddNodesAndRaisePercentsRoundingUp() throws {
    let f = try #require(try rollout().spec.strategy.fleet)
    #expect((0..<3).map { RolloutPlanner.fleetTarget(f, wave: $0, eligible: 10) } == [1, 5, 10])
    #expect((0..<3).map { RolloutPlanner.fleetTarget(f, wave: $0, eligible: 3) } == [1, 2, 3])
    let counts = try #require(try rollout(waves: [["nodes": 2], ["nodes": 3], ["percent": 10]]).spec.strategy.fleet)
    // 2, then 2 + 3 (capped at the fleet), and a smaller percent never moves nodes back.
    #expect((0..<3).map { RolloutPlanner.fleetTarget(counts, wave: $0, eligible: 4) } == [2, 4, 4])
    #expect(RolloutPlanner.fleetMaxUnavailable(f, eligible: 10) == 1)
    #expect(RolloutPlanner.fleetMaxUnavailable(try #require(try rollout(maxUnavailable: "25%").spec.strategy.fleet), eligible: 10) == 3)
    #expect(RolloutPlanner.fleetMaxUnavailable(try #require(try rollout(maxUnavailable: 0).spec.strategy.fleet), eligible: 10) == 1)
  }

  @Test func aWaveEndsWhenItsNodesServeTheCandidateReady() throws {
    let r = try started(try rollout())
    var p = plan(r, try reported(r, target: 1, updated: 0))
    #expect(p.status.currentStep == 0 && p.status.phase == .progressing)
    #expect(p.status.message?.contains("wave 0: 0/1 node(s) on the candidate") == true)
    p = plan(r, try reported(r, target: 1, updated: 1))
    #expect(p.status.currentStep == 1 && p.events.map(\.reason) == ["WaveCompleted"])
    #expect(p.status.candidateWeight == 16 && p.status.stableWeight == 84)   // 1 of 6 nodes
    // The EdgeModel still reports the old wave's target: the next wave waits for its own report.
    let next = try after(r, p)
    #expect(plan(next, try reported(next, target: 1, updated: 1)).status.currentStep == 1)
    #expect(plan(next, try reported(next, target: 3, updated: 3)).status.currentStep == 2)
  }

  @Test func eachWaveIsAnalysedOnItsNodesBeforeTheNext() throws {
    let r = try started(try rollout(analysis: true))
    let m = try reported(r, target: 1, updated: 1)
    var p = plan(r, m)
    #expect(p.status.currentStep == 0 && p.measure == ["errors"])
    p = plan(r, m, analysis: ["errors": .successful])
    #expect(p.status.currentStep == 1)
    p = plan(r, m, analysis: ["errors": .failed("result 3")])
    #expect(p.status.phase == .aborted && p.status.abort?.reason == "AnalysisFailed")
  }

  @Test func aFailedNodeStopsTheRolloutAtItsWaveAndIsNamed() throws {
    let r = try started(try rollout(), wave: 1)
    let failed = FailedNode(node: "nx-5", reason: "NodeNotReady", message: "node nx-5 is not Ready since it was moved to the candidate")
    let p = plan(r, try reported(r, target: 3, updated: 2, failed: [failed]))
    #expect(p.status.phase == .aborted && p.status.abort?.reason == "NodeFailed" && p.status.abort?.step == 1)
    #expect(p.status.abort?.message.contains("wave 1: node nx-5 failed on the candidate (NodeNotReady)") == true)
    #expect(p.events.contains { $0.type == "Warning" && $0.reason == "Aborted" && $0.note.contains("nx-5") })
    // Without abortOnFailure it pauses; resume goes on once the node is back.
    let keep = try started(try rollout(abortOnFailure: false), wave: 1)
    let paused = plan(keep, try reported(keep, target: 3, updated: 2, failed: [failed]))
    #expect(paused.status.phase == .paused && paused.status.pause?.reason == "NodeFailed")
    var resumed = try after(keep, paused)
    resumed.status?.request = RolloutRequest(action: .resume, requestedAt: "2026-12-06T10:01:00Z", requestedBy: "ops")
    let again = plan(resumed, try reported(keep, target: 3, updated: 3))
    #expect(again.status.lastRequest?.outcome == "Accepted" && again.status.currentStep == 2)
  }

  @Test func afterTheLastWaveTheRestMoveAndThenItIsPromoted() throws {
    let r = try started(try rollout(), wave: 3)
    var p = plan(r, try reported(r, target: 6, updated: 6))
    #expect(p.status.promotedAt != nil && p.status.phase == .progressing)
    let promoting = try after(r, p)
    #expect(RolloutPlanner.fleetTarget(promoting, eligible: 6) == 6)
    p = plan(promoting, try reported(promoting, target: 6, updated: 6, serves: true))
    #expect(p.status.phase == .promoted && p.events.map(\.reason) == ["Promoted"])
  }

  @Test func plansAgainFromItsOwnStatusTheSame() throws {
    // A controller killed after any write plans the same from the status alone.
    var r = try started(try rollout())
    let reports = [(1, 0), (1, 1), (3, 2), (3, 3), (6, 6)]
    for (target, updated) in reports {
      let m = try reported(r, target: target, updated: updated)
      let p = plan(r, m)
      let again = plan(try after(r, p), m)
      #expect(again.status == p.status && again.events.isEmpty)
      r = try after(r, p)
    }
  }

  @Test func aFleetNeedsADaemonSetModelAndACanaryADeployment() throws {
    let r = try started(try rollout())
    let p = plan(r, try model(daemonSet: false))
    #expect(p.status.phase == .degraded && p.status.message?.contains("must run in DaemonSet mode") == true)
  }

  // MARK: the EdgeModel planner

  func edgeModelPlan(_ r: Rollout?, pods: [JSONValue], daemonSets: [JSONValue] = [], nodes: [JetsonNode] = nodes) throws -> EdgeModelPlanner.Plan {
    EdgeModelPlanner.plan(.init(model: try model(), nodes: nodes, pods: pods.map(OperatorAssembly.cacheTransform(for: .pods)),
                                builderImage: "ghcr.io/edgeml/edgeml:0.1.0", now: "2026-12-06T10:00:00Z", rollouts: r.map { [$0] } ?? [],
                                daemonSets: daemonSets))
  }

  func daemonSet(_ p: EdgeModelPlanner.Plan) throws -> JSONValue {
    try #require(p.objects.map(\.object).first { $0["kind"] == "DaemonSet" })
  }

  func key(_ ds: JSONValue) -> String { ds[path: ["spec", "template", "metadata", "annotations", EdgeModelPlanner.Labels.engineKey]]?.stringValue ?? "" }

  func pod(_ node: String, key: String, ready: Bool = true, deleting: Bool = false, engineFailed: Bool = false, version: String? = nil) -> JSONValue {
    var p: JSONValue = [
      "metadata": ["name": .string("detector-\(node)-\(key.suffix(4))"), "namespace": "vision",
                   "labels": ["edgeml.io/model": "detector", "edgeml.io/node-group": .string(Self.slug), "edgeml.io/track": "stable"],
                   "annotations": [.init(EdgeModelPlanner.Labels.engineKey): .string(key)]],
      "spec": ["nodeName": .string(node)],
      "status": ["phase": "Running", "conditions": [["type": "Ready", "status": ready ? "True" : "False"]],
                 "initContainerStatuses": [["name": "engine", "state": ["terminated": engineFailed
                   ? ["exitCode": 1, "message": "{\"state\":\"Failed\",\"reason\":\"BuildFailed\",\"message\":\"trtexec exited 1\"}"]
                   : ["exitCode": 0, "message": "{\"state\":\"Built\"}"]]]]],
    ]
    if deleting { p[path: ["metadata", "deletionTimestamp"]] = "2026-12-06T09:59:00Z" }
    if let version { p[path: ["metadata", "labels", EdgeModelPlanner.Labels.version]] = .string(version) }
    return p
  }

  static var slug: String { Placement.evaluate(try! spec(["model": baseSpec["model"]!, "serving": baseSpec["serving"]!,
                                                           "placement": ["mode": "DaemonSet", "jetson": ["modules": ["orin-nx-16gb"]]]]),
                                               nodes: nodes).groups[0].slug }

  /// The keys before and during the rollout, and the DaemonSet as the cache shows it once applied.
  func setUp(_ r: Rollout) throws -> (old: String, new: String, applied: JSONValue) {
    let old = key(try daemonSet(try edgeModelPlan(nil, pods: [])))
    let during = try daemonSet(try edgeModelPlan(r, pods: []))
    return (old, key(during), ["metadata": during["metadata"]!])
  }

  @Test func theDaemonSetTakesTheCandidateTemplateWithOnDeleteAndEvictsOnlyOnceApplied() throws {
    let r = try started(try rollout())
    let (old, new, applied) = try setUp(r)
    #expect(old != new)
    let stable = Self.nodes.map { pod($0.name, key: old) }
    var p = try edgeModelPlan(r, pods: stable)
    let ds = try daemonSet(p)
    #expect(ds[path: ["spec", "updateStrategy"]] == ["type": "OnDelete"])
    #expect(ds[path: ["metadata", "annotations", EdgeModelPlanner.Labels.fleetRollout]]?.stringValue == RolloutPlanner.candidateHash(r.spec))
    #expect(p.evictions.isEmpty)   // the cache does not show the new template yet
    #expect(p.status.candidate?.fleet == FleetReport(eligible: 6, target: 1, updated: 0))
    p = try edgeModelPlan(r, pods: stable, daemonSets: [applied])
    // Site a first (waveOrder), then by name.
    #expect(p.evictions == ["detector-nx-4-\(old.suffix(4))"])
    // A paused rollout moves nothing (a person, an analysis or a failed node stopped it).
    let paused = try started(try rollout(), phase: .paused)
    #expect(try edgeModelPlan(paused, pods: stable, daemonSets: [applied]).evictions.isEmpty)
    // The group's budget for DaemonSet pods is an integer minAvailable (maxUnavailable would block
    // every eviction: the disruption controller finds no scale for a DaemonSet).
    let budget = try #require(p.objects.map(\.object).first { $0["kind"] == "PodDisruptionBudget" })
    #expect(budget[path: ["spec", "minAvailable"]] == 5 && budget[path: ["spec", "maxUnavailable"]] == nil)
    // The rollout gone (aborted): back to the stable template with a rolling update.
    let back = try daemonSet(try edgeModelPlan(nil, pods: stable))
    #expect(key(back) == old && back[path: ["spec", "updateStrategy", "type"]] == "RollingUpdate")
    #expect(back[path: ["metadata", "annotations"]] == nil)
  }

  @Test func evictionsNeverTakeMoreThanMaxUnavailableOrTheWave() throws {
    let r = try started(try rollout(maxUnavailable: 2), wave: 1)   // target 3 of 6
    let (old, new, applied) = try setUp(r)
    // nx-4 moved and Ready; nx-1 is not Ready on the stable model: one more may go.
    var pods = [pod("nx-4", key: new), pod("nx-1", key: old, ready: false)]
    pods += ["nx-2", "nx-3", "nx-5", "nx-6"].map { pod($0, key: old) }
    var p = try edgeModelPlan(r, pods: pods, daemonSets: [applied])
    #expect(p.evictions == ["detector-nx-5-\(old.suffix(4))"])
    // nx-5's pod is leaving and its successor not there yet: nx-5 counts as moving and as
    // unavailable; the wave's third node may still go (2 unavailable at most).
    func on(_ node: String) -> Int { pods.firstIndex { $0[path: ["spec", "nodeName"]]?.stringValue == node }! }
    pods[on("nx-5")] = pod("nx-5", key: old, ready: true, deleting: true)
    pods[on("nx-1")] = pod("nx-1", key: old)
    p = try edgeModelPlan(r, pods: pods, daemonSets: [applied])
    #expect(p.evictions == ["detector-nx-6-\(old.suffix(4))"])
    // nx-5 back on the candidate (not Ready yet), nx-6 leaving: the wave has its 3, nothing more goes.
    pods[on("nx-5")] = pod("nx-5", key: new, ready: false)
    pods[on("nx-6")] = pod("nx-6", key: old, ready: true, deleting: true)
    p = try edgeModelPlan(r, pods: pods, daemonSets: [applied])
    #expect(p.evictions == [])
    #expect(p.status.candidate?.fleet == FleetReport(eligible: 6, target: 3, updated: 1))
  }

  @Test func aMovedNodeThatFailsIsReportedAndNothingMoreMoves() throws {
    let r = try started(try rollout(maxUnavailable: 3), wave: 2)
    let (old, new, applied) = try setUp(r)
    var nodes = Self.nodes
    nodes[4] = jetson("nx-5", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0", ready: false, extra: ["example.com/site": "a"])
    let pods = [pod("nx-4", key: new), pod("nx-5", key: new, ready: false), pod("nx-6", key: new, engineFailed: true)]
      + ["nx-1", "nx-2", "nx-3"].map { pod($0, key: old) }
    let p = try edgeModelPlan(r, pods: pods, daemonSets: [applied], nodes: nodes)
    #expect(p.evictions.isEmpty)
    let failed = p.status.candidate?.fleet?.failedNodes ?? []
    #expect(failed.map(\.node) == ["nx-5", "nx-6"] && failed.map(\.reason) == ["NodeNotReady", "EngineFailed"])
    #expect(failed[1].message.contains("trtexec exited 1"))
  }

  @Test func promotionWaitsForEveryNodeThatCanMove() throws {
    let r = try started(try rollout(), wave: 3, promotedAt: "2026-12-06T10:00:00Z")
    let (old, new, applied) = try setUp(r)
    var pods = Self.nodes.map { pod($0.name, key: new, version: "4") }
    pods[0] = pod("nx-1", key: old, version: "3")
    var p = try edgeModelPlan(r, pods: pods, daemonSets: [applied])
    #expect(p.status.candidate?.stableServesCandidate == nil && p.evictions == ["detector-nx-1-\(old.suffix(4))"])
    pods[0] = pod("nx-1", key: new, version: "4")
    p = try edgeModelPlan(r, pods: pods, daemonSets: [applied])
    #expect(p.status.candidate?.stableServesCandidate == true && p.status.currentVersion == "4")
  }
}

extension FleetReport {
  init(eligible: Int, target: Int, updated: Int) {
    self.init()
    eligibleNodes = eligible
    targetNodes = target
    updatedNodes = updated
  }
}
