import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

// The fleet where the two bugs were found: 100 one-replica EdgeModels on 20 Orin NX and 5 AGX Orin
// nodes, one GPU each (`nvidia.com/gpu` allocatable 1). Every replica went to the Orin NX group
// and 80 pods sat Pending with kube-scheduler's verdict while the models said "Building".

let orinNXNodes = (0..<20).map { jetson("nx-\($0)", module: "orin-nx-16gb", l4t: "36.4.3", trt: "10.3.0") }
let agxOrinNodes = (0..<5).map { jetson("agx-\($0)", module: "agx-orin-64gb", l4t: "36.4.3", trt: "10.3.0", mem: 62_000) }
let gpuFleet = orinNXNodes + agxOrinNodes

/// kube-scheduler's message on the Pending pods (condition PodScheduled=False, reason Unschedulable).
let nxFullMessage = "0/25 nodes are available: 20 Insufficient nvidia.com/gpu, 5 node(s) didn't match Pod's node affinity/selector."

/// An EdgeModel of `replicas` in namespace vision, with the status its last plan wrote.
func edgeModel(_ name: String, replicas: Int, modules: [String]? = nil, status: EdgeModelStatus? = nil) throws -> EdgeModel {
  var s = baseSpec
  s[path: ["placement", "replicas"]] = JSONValue(replicas)
  if let modules { s[path: ["placement", "jetson", "modules"]] = .array(modules.map { .string($0) }) }
  var o: JSONValue = ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                      "metadata": ["name": .string(name), "namespace": "vision", "uid": .string("uid-\(name)"), "generation": 1],
                      "spec": s]
  if let status { o["status"] = ModelCoding.encode(status) }
  return try EdgeModel(json: o)
}

/// Plans on `gpuFleet` from pods as the operator caches them.
func planOnGPUFleet(_ m: EdgeModel, pods: [JSONValue] = [], gpusInUse: [String: Int] = [:]) -> EdgeModelPlanner.Plan {
  EdgeModelPlanner.plan(.init(model: m, nodes: gpuFleet, pods: pods.map(OperatorAssembly.cacheTransform(for: .pods)),
                              builderImage: "ghcr.io/edgeml/edgeml:0.1.0", now: "2026-11-25T12:00:00Z", gpusInUse: gpusInUse))
}

/// The module of a node group's slug ("orin-nx-16gb-1a2b3c4d" → "orin-nx-16gb").
func moduleOfSlug(_ slug: String) -> String { slug.split(separator: "-").dropLast().joined(separator: "-") }

/// Deployment replicas by module.
func replicasByModule(_ p: EdgeModelPlanner.Plan) -> [String: Int] {
  var out: [String: Int] = [:]
  for d in p.objects.map(\.object) where d["kind"] == "Deployment" {
    out[moduleOfSlug(d[path: ["metadata", "labels", EdgeModelPlanner.Labels.nodeGroup]]?.stringValue ?? ""), default: 0]
      += d[path: ["spec", "replicas"]]?.intValue ?? 0
  }
  return out
}

/// One GPU taken on each of `nodes` (by other models' pods).
func taken(_ nodes: [JetsonNode]) -> [String: Int] { Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, 1) }) }

/// A pod as the kubelet and kube-scheduler report it at one point of its life.
enum PodState: Sendable, Equatable {
  /// Just created by the ReplicaSet: the scheduler has not answered yet.
  case created
  /// PodScheduled=False, reason Unschedulable, with the scheduler's message.
  case unschedulable(String)
  /// Bound to a node, the `engine` init container not started yet (image pulling).
  case engineWaiting(node: String)
  /// Bound to a node, the `engine` init container running.
  case engineRunning(node: String)
  /// Bound to a node, the engine built and the pod Ready.
  case servingReady(node: String)
}

/// A pod of the workload `plan` made for `module`, in `state`.
func gpuPod(_ plan: EdgeModelPlanner.Plan, module: String, name: String, _ state: PodState) throws -> JSONValue {
  let workload = try #require(plan.objects.map(\.object).first {
    $0["kind"] == "Deployment" && $0[path: ["metadata", "labels", EdgeModelPlanner.Labels.nodeGroup]]?.stringValue.map(moduleOfSlug) == module
  })
  let template = workload[path: ["spec", "template", "metadata"]]
  var o: JSONValue = ["apiVersion": "v1", "kind": "Pod",
                      "metadata": ["name": .string(name), "namespace": "vision", "labels": template?["labels"] ?? [:],
                                   "annotations": template?["annotations"] ?? [:]],
                      "status": ["phase": "Pending"]]
  func bind(_ node: String, engine: JSONValue, ready: Bool) {
    o[path: ["spec", "nodeName"]] = .string(node)
    o[path: ["status", "conditions"]] = [["type": "PodScheduled", "status": "True"], ["type": "Ready", "status": ready ? "True" : "False"]]
    o[path: ["status", "initContainerStatuses"]] = [["name": "engine", "state": engine]]
  }
  switch state {
  case .created:
    break
  case .unschedulable(let message):
    o[path: ["status", "conditions"]] = [["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": .string(message)]]
  case .engineWaiting(let node):
    bind(node, engine: ["waiting": ["reason": "PodInitializing"]], ready: false)
  case .engineRunning(let node):
    bind(node, engine: ["running": ["startedAt": "2026-11-25T11:59:00Z"]], ready: false)
  case .servingReady(let node):
    let key = template?[path: ["annotations", EdgeModelPlanner.Labels.engineKey]]?.stringValue ?? ""
    let result = #"{"key":"\#(key)","state":"Built","cacheHit":false,"buildSeconds":300,"sizeBytes":8123456}"#
    bind(node, engine: ["terminated": ["exitCode": 0, "reason": "Completed", "message": .string(result)]], ready: true)
    o[path: ["status", "phase"]] = "Running"
  }
  return o
}

func statusCondition(_ s: EdgeModelStatus, _ type: String) -> StatusCondition? { s.conditions?.first { $0.type == type } }

@Suite struct EdgeModelPlannerCapacityTests {
  struct SplitCase: Sendable, CustomTestStringConvertible {
    var nxTaken: Int, agxTaken: Int, replicas: Int
    var expected: [String: Int]
    var testDescription: String { "\(replicas) replica(s), \(nxTaken)/20 Orin NX and \(agxTaken)/5 AGX GPUs taken" }
  }

  @Test("replicas go where GPUs are free: to the AGX Orin nodes once other models hold the Orin NX GPUs", arguments: [
    SplitCase(nxTaken: 0, agxTaken: 0, replicas: 1, expected: ["orin-nx-16gb": 1, "agx-orin-64gb": 0]),
    SplitCase(nxTaken: 20, agxTaken: 0, replicas: 1, expected: ["orin-nx-16gb": 0, "agx-orin-64gb": 1]),
    SplitCase(nxTaken: 20, agxTaken: 0, replicas: 3, expected: ["orin-nx-16gb": 0, "agx-orin-64gb": 3]),
    // Proportional to free GPUs, 2 and 5: every free GPU used before any pod has to wait.
    SplitCase(nxTaken: 18, agxTaken: 0, replicas: 7, expected: ["orin-nx-16gb": 2, "agx-orin-64gb": 5]),
    // No free GPU left: the rest are spread by group size, as before, to wait (the status says so).
    SplitCase(nxTaken: 20, agxTaken: 4, replicas: 3, expected: ["orin-nx-16gb": 2, "agx-orin-64gb": 1]),
    SplitCase(nxTaken: 20, agxTaken: 5, replicas: 2, expected: ["orin-nx-16gb": 1, "agx-orin-64gb": 1]),
    // Never more pods in a group than it has GPUs.
    SplitCase(nxTaken: 0, agxTaken: 0, replicas: 30, expected: ["orin-nx-16gb": 20, "agx-orin-64gb": 5]),
  ])
  func replicasFollowFreeGPUs(_ c: SplitCase) throws {
    let inUse = taken(Array(orinNXNodes.prefix(c.nxTaken)) + Array(agxOrinNodes.prefix(c.agxTaken)))
    #expect(replicasByModule(planOnGPUFleet(try edgeModel("detector", replicas: c.replicas), gpusInUse: inUse)) == c.expected)
  }

  @Test("a running replica stays on its Orin NX node even when the rest of the group is full and AGX GPUs are free")
  func runningReplicasNeverMove() throws {
    let fresh = planOnGPUFleet(try edgeModel("detector", replicas: 1))
    let others = taken(orinNXNodes.filter { $0.name != "nx-7" })
    for state in [PodState.engineWaiting(node: "nx-7"), .engineRunning(node: "nx-7"), .servingReady(node: "nx-7")] {
      let pod = try gpuPod(fresh, module: "orin-nx-16gb", name: "detector-a", state)
      let p = planOnGPUFleet(try edgeModel("detector", replicas: 1, status: fresh.status), pods: [pod], gpusInUse: others)
      #expect(replicasByModule(p) == ["orin-nx-16gb": 1, "agx-orin-64gb": 0], "\(state)")
    }
    // Two replicas running, the group otherwise full: both stay, none is sent to the free AGX GPUs.
    let two = planOnGPUFleet(try edgeModel("detector", replicas: 2))
    let pods = [try gpuPod(two, module: "orin-nx-16gb", name: "detector-a", .servingReady(node: "nx-3")),
                try gpuPod(two, module: "orin-nx-16gb", name: "detector-b", .engineRunning(node: "nx-4"))]
    let p = planOnGPUFleet(try edgeModel("detector", replicas: 2, status: two.status), pods: pods,
                           gpusInUse: taken(orinNXNodes.filter { $0.name != "nx-3" && $0.name != "nx-4" }))
    #expect(replicasByModule(p) == ["orin-nx-16gb": 2, "agx-orin-64gb": 0])
    // Scaled up by one: the running two stay, the new one goes where a GPU is free.
    let three = planOnGPUFleet(try edgeModel("detector", replicas: 3, status: two.status), pods: pods,
                               gpusInUse: taken(orinNXNodes.filter { $0.name != "nx-3" && $0.name != "nx-4" }))
    #expect(replicasByModule(three) == ["orin-nx-16gb": 2, "agx-orin-64gb": 1])
  }

  @Test("a replica waiting in a full Orin NX group moves to a free AGX Orin GPU; with no GPU free anywhere it stays put")
  func pendingReplicasMoveToFreeGPUs() throws {
    let fresh = planOnGPUFleet(try edgeModel("detector", replicas: 1))
    let waiting = try gpuPod(fresh, module: "orin-nx-16gb", name: "detector-a", .unschedulable(nxFullMessage))
    let m = try edgeModel("detector", replicas: 1, status: fresh.status)
    #expect(replicasByModule(planOnGPUFleet(m, pods: [waiting], gpusInUse: taken(orinNXNodes))) == ["orin-nx-16gb": 0, "agx-orin-64gb": 1])
    // Every GPU taken: it stays where it waits (no hopping between full groups) …
    #expect(replicasByModule(planOnGPUFleet(m, pods: [waiting], gpusInUse: taken(gpuFleet))) == ["orin-nx-16gb": 1, "agx-orin-64gb": 0])
    // … and so does one waiting in the AGX group, though the Orin NX group is larger.
    let inAGX = try gpuPod(fresh, module: "agx-orin-64gb", name: "detector-b", .unschedulable(nxFullMessage))
    #expect(replicasByModule(planOnGPUFleet(m, pods: [inAGX], gpusInUse: taken(gpuFleet))) == ["orin-nx-16gb": 0, "agx-orin-64gb": 1])
    // A pod the scheduler has not answered yet keeps its group while that group has a GPU for it.
    let created = try gpuPod(fresh, module: "agx-orin-64gb", name: "detector-c", .created)
    #expect(replicasByModule(planOnGPUFleet(m, pods: [created], gpusInUse: taken(Array(agxOrinNodes.dropFirst())))) == ["orin-nx-16gb": 0, "agx-orin-64gb": 1])
  }

  struct StatusCase: Sendable, CustomTestStringConvertible {
    var testDescription: String
    var pods: [PodState]
    var phase: EdgeModelPhase
    var engine: EngineState
    var engineReady: String
    var scheduled: String
    var ready: String
    var warnsUnschedulable: Bool
  }

  @Test("pods the scheduler cannot place make the model Pending and Unschedulable, not Building; building engines still say Building", arguments: [
    StatusCase(testDescription: "the one pod is unschedulable", pods: [.unschedulable(nxFullMessage)],
               phase: .pending, engine: .pending, engineReady: "Unschedulable", scheduled: "Unschedulable", ready: "Unschedulable", warnsUnschedulable: true),
    StatusCase(testDescription: "both pods are unschedulable", pods: [.unschedulable(nxFullMessage), .unschedulable(nxFullMessage)],
               phase: .pending, engine: .pending, engineReady: "Unschedulable", scheduled: "Unschedulable", ready: "Unschedulable", warnsUnschedulable: true),
    StatusCase(testDescription: "the engine container runs on a node", pods: [.engineRunning(node: "nx-1")],
               phase: .building, engine: .building, engineReady: "Building", scheduled: "NodesEligible", ready: "Building", warnsUnschedulable: false),
    StatusCase(testDescription: "the engine container waits to start on a node", pods: [.engineWaiting(node: "nx-1")],
               phase: .building, engine: .building, engineReady: "Building", scheduled: "NodesEligible", ready: "Building", warnsUnschedulable: false),
    StatusCase(testDescription: "the pod was just created", pods: [.created],
               phase: .building, engine: .building, engineReady: "Building", scheduled: "NodesEligible", ready: "Building", warnsUnschedulable: false),
    StatusCase(testDescription: "one pod builds, one is unschedulable", pods: [.engineRunning(node: "nx-1"), .unschedulable(nxFullMessage)],
               phase: .building, engine: .building, engineReady: "Building", scheduled: "NodesEligible", ready: "Building", warnsUnschedulable: false),
    StatusCase(testDescription: "the engine is built, a second replica is unschedulable", pods: [.servingReady(node: "nx-1"), .unschedulable(nxFullMessage)],
               phase: .degraded, engine: .built, engineReady: "EnginesBuilt", scheduled: "NodesEligible", ready: "Unschedulable", warnsUnschedulable: true),
  ])
  func unschedulableIsNotBuilding(_ c: StatusCase) throws {
    let modules = ["orin-nx-16gb"]
    let fresh = planOnGPUFleet(try edgeModel("detector", replicas: c.pods.count, modules: modules))
    let pods = try c.pods.enumerated().map { try gpuPod(fresh, module: "orin-nx-16gb", name: "detector-\($0.offset)", $0.element) }
    let p = planOnGPUFleet(try edgeModel("detector", replicas: c.pods.count, modules: modules, status: fresh.status), pods: pods)
    #expect(p.status.phase == c.phase)
    #expect(p.status.engines?.map(\.state) == [c.engine])
    #expect(statusCondition(p.status, "EngineReady")?.reason == c.engineReady)
    #expect(statusCondition(p.status, "Scheduled")?.reason == c.scheduled)
    #expect(statusCondition(p.status, "Scheduled")?.status == (c.scheduled == "Unschedulable" ? "False" : "True"))
    #expect(statusCondition(p.status, "Ready")?.reason == c.ready)
    #expect(p.events.filter { $0.reason == "Unschedulable" }.map(\.type) == (c.warnsUnschedulable ? ["Warning"] : []))
    let unschedulable = c.pods.filter { if case .unschedulable = $0 { true } else { false } }.count
    if c.warnsUnschedulable {
      // The message counts the pods and quotes kube-scheduler.
      let said = try #require(statusCondition(p.status, c.ready == "Unschedulable" ? "Ready" : "EngineReady")?.message)
      #expect(said.hasSuffix("\(unschedulable) pod(s) cannot be scheduled: \(nxFullMessage)"))
    }
  }

  @Test("the status quotes the scheduler: how many pods wait and why")
  func unschedulableMessages() throws {
    let fresh = planOnGPUFleet(try edgeModel("detector", replicas: 1))
    let pod = try gpuPod(fresh, module: "orin-nx-16gb", name: "detector-a", .unschedulable(nxFullMessage))
    let p = planOnGPUFleet(try edgeModel("detector", replicas: 1, status: fresh.status), pods: [pod], gpusInUse: taken(gpuFleet))
    #expect(statusCondition(p.status, "EngineReady")?.message == "0/1 engine(s) built; orin-nx-16gb: 1 pod(s) cannot be scheduled: \(nxFullMessage)")
    #expect(statusCondition(p.status, "Scheduled")?.message == "1 pod(s) cannot be scheduled: \(nxFullMessage)")
    #expect(p.status.engines?.first?.message == "1 pod(s) cannot be scheduled: \(nxFullMessage)")
  }

  @Test("an Unschedulable model gets one Warning Event when it starts, not one per reconcile")
  func unschedulableWarnsOnce() throws {
    let fresh = planOnGPUFleet(try edgeModel("detector", replicas: 1))
    let pod = try gpuPod(fresh, module: "orin-nx-16gb", name: "detector-a", .unschedulable(nxFullMessage))
    let first = planOnGPUFleet(try edgeModel("detector", replicas: 1, status: fresh.status), pods: [pod], gpusInUse: taken(gpuFleet))
    // Scheduled, EngineReady and Ready all turn Unschedulable: one Event says it.
    #expect(first.events.map(\.type) == ["Warning"] && first.events.map(\.reason) == ["Unschedulable"])
    #expect(first.events.first?.note.contains(nxFullMessage) == true)
    let again = planOnGPUFleet(try edgeModel("detector", replicas: 1, status: first.status), pods: [pod], gpusInUse: taken(gpuFleet))
    #expect(again.events.isEmpty && again.status == first.status)
    // The scheduler's words change (a node joined): the status follows, with no new Event.
    let joined = "0/26 nodes are available: 20 Insufficient nvidia.com/gpu, 6 node(s) didn't match Pod's node affinity/selector."
    let reworded = try gpuPod(fresh, module: "orin-nx-16gb", name: "detector-a", .unschedulable(joined))
    let later = planOnGPUFleet(try edgeModel("detector", replicas: 1, status: first.status), pods: [reworded], gpusInUse: taken(gpuFleet))
    #expect(later.events.isEmpty)
    #expect(statusCondition(later.status, "Scheduled")?.message?.hasSuffix(joined) == true)
    #expect(statusCondition(later.status, "Scheduled")?.lastTransitionTime == statusCondition(first.status, "Scheduled")?.lastTransitionTime)
  }

  enum Reconciles: String, Sendable, CaseIterable, CustomTestStringConvertible {
    /// Each reconcile sees what the ones before it did (a fast pod cache).
    case oneAtATime
    /// Every model planned from the same snapshot, before any pod of the round exists: 100
    /// reconciles at once, each seeing the others' pods only in the next round.
    case allFromOneSnapshot
    var testDescription: String { rawValue }
  }

  @Test("100 one-replica models on 20 Orin NX and 5 AGX Orin GPUs settle with 25 scheduled and 75 Pending and Unschedulable, then nothing changes",
        arguments: Reconciles.allCases)
  func hundredModelsConverge(_ mode: Reconciles) throws {
    let names = (0..<100).map { "model-\($0)" }
    var cluster = ToyCluster()
    var statuses: [String: EdgeModelStatus] = [:]
    var warnings: [String: Int] = [:]
    var boundTo: [String: String] = [:]   // pod → node, for every pod ever bound
    func plan(_ name: String, in cluster: ToyCluster) throws -> EdgeModelPlanner.Plan {
      planOnGPUFleet(try edgeModel(name, replicas: 1, status: statuses[name]), pods: cluster.pods(of: name),
                     gpusInUse: cluster.gpusInUse(excludingModel: name))
    }
    var rounds = 0
    var settled = false
    while !settled, rounds < 10 {
      rounds += 1
      let before = (cluster.pods, statuses)
      var plans: [(String, EdgeModelPlanner.Plan)] = []
      switch mode {
      case .oneAtATime:
        for name in names {
          let p = try plan(name, in: cluster)
          plans.append((name, p))
          cluster.apply(p, model: name)
          cluster.schedule()
        }
      case .allFromOneSnapshot:
        let snapshot = cluster
        plans = try names.map { ($0, try plan($0, in: snapshot)) }
        for (name, p) in plans { cluster.apply(p, model: name) }
        cluster.schedule()
      }
      for (name, p) in plans {
        statuses[name] = p.status
        warnings[name, default: 0] += p.events.filter { $0.type == "Warning" && $0.reason == "Unschedulable" }.count
      }
      // A pod once bound keeps its node: running replicas never move.
      for (pod, node) in boundTo { #expect(cluster.node(of: pod) == node, "\(pod) moved or went away in round \(rounds)") }
      for pod in cluster.pods { if let node = pod[path: ["spec", "nodeName"]]?.stringValue { boundTo[pod[path: ["metadata", "name"]]!.stringValue!] = node } }
      settled = cluster.pods == before.0 && statuses == before.1
      if settled { #expect(plans.allSatisfy { $0.1.events.isEmpty }, "a settled round writes no Event") }
    }
    #expect(settled && rounds <= 4, "settled after \(rounds) round(s)")

    let bound = cluster.pods.filter { $0[path: ["spec", "nodeName"]] != nil }
    let nodes = bound.compactMap { $0[path: ["spec", "nodeName"]]?.stringValue }
    #expect(Set(nodes).count == 25 && nodes.count == 25)   // every GPU used, none twice
    #expect(cluster.pods.count == 100 && names.allSatisfy { cluster.pods(of: $0).count == 1 })
    let refused = cluster.pods.filter { EdgeModelPlanner.unschedulable([$0]) != nil }
    #expect(refused.count == 75)
    for name in names {
      let s = try #require(statuses[name])
      if cluster.pods(of: name).first?[path: ["spec", "nodeName"]] != nil {
        #expect(s.phase == .building && s.engines?.map(\.state) == [.building] && statusCondition(s, "Scheduled")?.status == "True", "\(name)")
        #expect(warnings[name] == nil || warnings[name] == 0, "\(name)")
      } else {
        #expect(s.phase == .pending && s.engines?.map(\.state) == [.pending], "\(name)")
        #expect(statusCondition(s, "Scheduled")?.status == "False" && statusCondition(s, "Scheduled")?.reason == "Unschedulable", "\(name)")
        #expect(statusCondition(s, "EngineReady")?.reason == "Unschedulable", "\(name)")
        #expect(statusCondition(s, "EngineReady")?.message?.contains("1 pod(s) cannot be scheduled: 0/25 nodes are available: ") == true, "\(name)")
        #expect(warnings[name] == 1, "one Warning for \(name), not one per reconcile")
      }
    }
  }
}

/// A toy cluster for the 100-model run: the ReplicaSet controller's part (pods made and deleted
/// to match each plan's Deployments) and kube-scheduler's (a pod goes to a node of its group with
/// a free GPU, oldest pod first, or is refused with the scheduler's message).
struct ToyCluster {
  private(set) var pods: [JSONValue] = []
  private var created = 0
  let labels = EdgeModelPlanner.Labels.self

  func pods(of model: String) -> [JSONValue] { pods.filter { $0[path: ["metadata", "labels", labels.model]]?.stringValue == model } }

  func node(of pod: String) -> String? {
    pods.first { $0[path: ["metadata", "name"]]?.stringValue == pod }?[path: ["spec", "nodeName"]]?.stringValue
  }

  /// What the reconciler would pass as `gpusInUse`: one GPU per bound pod of another model.
  func gpusInUse(excludingModel model: String) -> [String: Int] {
    var out: [String: Int] = [:]
    for pod in pods where pod[path: ["metadata", "labels", labels.model]]?.stringValue != model {
      if let node = pod[path: ["spec", "nodeName"]]?.stringValue { out[node, default: 0] += 1 }
    }
    return out
  }

  /// Scales the model's pods in each group to its Deployment's replicas; a scale-down deletes
  /// unscheduled pods first, then the newest (as the ReplicaSet controller ranks them).
  mutating func apply(_ plan: EdgeModelPlanner.Plan, model: String) {
    for d in plan.objects.map(\.object) where d["kind"] == "Deployment" {
      let slug = d[path: ["metadata", "labels", labels.nodeGroup]]?.stringValue ?? ""
      let want = d[path: ["spec", "replicas"]]?.intValue ?? 0
      let mine = pods.indices.filter {
        pods[$0][path: ["metadata", "labels", labels.model]]?.stringValue == model && pods[$0][path: ["metadata", "labels", labels.nodeGroup]]?.stringValue == slug
      }
      if mine.count > want {
        let doomed = mine.sorted { a, b in
          let (ua, ub) = (pods[a][path: ["spec", "nodeName"]] == nil, pods[b][path: ["spec", "nodeName"]] == nil)
          return ua != ub ? ua : a > b
        }.prefix(mine.count - want)
        for i in doomed.sorted(by: >) { pods.remove(at: i) }
      }
      for _ in mine.count..<max(mine.count, want) {
        created += 1
        let template = d[path: ["spec", "template", "metadata"]]
        pods.append(["apiVersion": "v1", "kind": "Pod",
                     "metadata": ["name": .string("\(model)-\(created)"), "namespace": "vision", "labels": template?["labels"] ?? [:],
                                  "annotations": template?["annotations"] ?? [:]],
                     "status": ["phase": "Pending"]])
      }
    }
  }

  /// Binds each unbound pod to a node of its group with a free GPU, or refuses it.
  mutating func schedule() {
    var used = Set(pods.compactMap { $0[path: ["spec", "nodeName"]]?.stringValue })
    for i in pods.indices where pods[i][path: ["spec", "nodeName"]] == nil {
      let module = moduleOfSlug(pods[i][path: ["metadata", "labels", labels.nodeGroup]]?.stringValue ?? "")
      let group = gpuFleet.filter { $0.module == module }
      if let node = group.first(where: { !used.contains($0.name) }) {
        used.insert(node.name)
        pods[i][path: ["spec", "nodeName"]] = .string(node.name)
        pods[i][path: ["status", "conditions"]] = [["type": "PodScheduled", "status": "True"], ["type": "Ready", "status": "False"]]
        pods[i][path: ["status", "initContainerStatuses"]] = [["name": "engine", "state": ["running": ["startedAt": "2026-11-25T11:59:00Z"]]]]
      } else {
        let message = "0/\(gpuFleet.count) nodes are available: \(group.count) Insufficient nvidia.com/gpu, "
          + "\(gpuFleet.count - group.count) node(s) didn't match Pod's node affinity/selector."
        pods[i][path: ["status", "conditions"]] = [["type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": .string(message)]]
      }
    }
  }
}

@Test("the GPU tally follows pods from the watch: bound pods hold a GPU until they finish or go, unbound ones hold none")
func gpuUsageFollowsThePodWatch() async {
  func pod(_ node: String?, phase: String = "Running") -> JSONValue {
    var p: JSONValue = ["metadata": ["name": "p", "namespace": "default"], "status": ["phase": .string(phase)]]
    if let node { p[path: ["spec", "nodeName"]] = .string(node) }
    return p
  }
  let usage = GPUUsage()
  await usage.apply(ObjectChange(key: "default/p", old: nil, new: pod(nil, phase: "Pending")))
  #expect(await usage.byNode == [:])
  await usage.apply(ObjectChange(key: "default/p", old: pod(nil, phase: "Pending"), new: pod("nx-1", phase: "Pending")))
  await usage.apply(ObjectChange(key: "default/q", old: nil, new: pod("nx-1")))
  #expect(await usage.byNode == ["nx-1": 2])
  await usage.apply(ObjectChange(key: "default/p", old: pod("nx-1"), new: pod("nx-1", phase: "Failed")))
  #expect(await usage.byNode == ["nx-1": 1])
  await usage.apply(ObjectChange(key: "default/q", old: pod("nx-1"), new: nil))
  #expect(await usage.byNode == [:])
}


@Test("the builder image is kept while the model is the same, whatever the operator's default, and moves with the model's next version")
func builderImageFollowsTheModelNotTheOperator() throws {
  var model = try EdgeModel(json: [
    "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": ["name": "m", "namespace": "default", "uid": "u1", "generation": 1],
    "spec": ["model": ["uri": "https://models.example.com/m.onnx", "version": "1",
                       "digest": .string("sha256:" + String(repeating: "1", count: 64))],
             "serving": ["image": "triton:1"]],
  ])
  let first = EdgeModelPlanner.builder(for: model, default: "ghcr.io/edgeml/edgeml:0.1.0")
  #expect(first == BuilderRecord(image: "ghcr.io/edgeml/edgeml:0.1.0", model: "sha256:" + String(repeating: "1", count: 64)))
  var status = EdgeModelStatus()
  status.builder = first
  model.status = status
  // The operator was upgraded: its default changed, the model did not.
  #expect(EdgeModelPlanner.builder(for: model, default: "ghcr.io/edgeml/edgeml:0.2.0").image == "ghcr.io/edgeml/edgeml:0.1.0")
  // A new model version takes the operator's image of the day.
  model.spec.model.digest = "sha256:" + String(repeating: "2", count: 64)
  #expect(EdgeModelPlanner.builder(for: model, default: "ghcr.io/edgeml/edgeml:0.2.0").image == "ghcr.io/edgeml/edgeml:0.2.0")
  // The spec's own builder image is the builder's, into which ours copies edgeml-engine: ours is still recorded.
  model.spec.engine = try ModelCoding.decode(EngineSpec.self, from: ["builderImage": "registry.local/builder:7"])
  #expect(EdgeModelPlanner.builder(for: model, default: "ghcr.io/edgeml/edgeml:0.2.0").image == "ghcr.io/edgeml/edgeml:0.2.0")
}
