import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

// The fleet where the bug was found: 100 one-replica EdgeModels on 20 Orin NX and 5 AGX Orin
// nodes, one GPU each (`nvidia.com/gpu` allocatable 1). Every replica went to the Orin NX group
// and 80 pods sat Pending while the AGX GPUs stayed free.

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
  for d in p.objects where d["kind"] == "Deployment" {
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
  let workload = try #require(plan.objects.first {
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
}
