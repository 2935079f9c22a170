import KubeCore
import Testing
@testable import EdgeSim

struct TolerationCase: Sendable, CustomTestStringConvertible {
  var toleration: JSONValue
  var taint: JSONValue
  var tolerates: Bool
  var testDescription: String { "\(toleration) vs \(taint)" }
}

@Test("Tolerations match taints by key, operator, value and effect (core/v1 ToleratesTaint)", arguments: [
  TolerationCase(toleration: ["key": "a", "operator": "Equal", "value": "x", "effect": "NoSchedule"], taint: ["key": "a", "value": "x", "effect": "NoSchedule"], tolerates: true),
  TolerationCase(toleration: ["key": "a", "operator": "Equal", "value": "y"], taint: ["key": "a", "value": "x", "effect": "NoSchedule"], tolerates: false),
  TolerationCase(toleration: ["key": "a", "operator": "Exists"], taint: ["key": "a", "value": "x", "effect": "NoExecute"], tolerates: true),
  TolerationCase(toleration: ["operator": "Exists"], taint: ["key": "anything", "effect": "NoSchedule"], tolerates: true),
  TolerationCase(toleration: ["key": "a", "operator": "Exists", "effect": "NoExecute"], taint: ["key": "a", "effect": "NoSchedule"], tolerates: false),
  TolerationCase(toleration: ["key": "b", "operator": "Exists"], taint: ["key": "a", "effect": "NoSchedule"], tolerates: false),
])
func tolerations(_ c: TolerationCase) {
  #expect(NodeFit.toleration(matches: c.toleration, taint: c.taint) == c.tolerates)
}

struct AffinityCase: Sendable, CustomTestStringConvertible {
  var expression: JSONValue
  var matches: Bool
  var testDescription: String { "\(expression)" }
}

@Test("Required node affinity operators (In, NotIn, Exists, DoesNotExist, Gt, Lt) against a node's labels", arguments: [
  AffinityCase(expression: ["key": "edgeml.io/jetson.module", "operator": "In", "values": ["orin-nx-16gb", "agx-orin-64gb"]], matches: true),
  AffinityCase(expression: ["key": "edgeml.io/jetson.module", "operator": "NotIn", "values": ["orin-nx-16gb"]], matches: false),
  AffinityCase(expression: ["key": "edgeml.io/dla.cores", "operator": "Exists"], matches: true),
  AffinityCase(expression: ["key": "edgeml.io/secureboot", "operator": "DoesNotExist"], matches: true),
  AffinityCase(expression: ["key": "edgeml.io/memory.mib", "operator": "Gt", "values": ["8000"]], matches: true),
  AffinityCase(expression: ["key": "edgeml.io/memory.mib", "operator": "Lt", "values": ["8000"]], matches: false),
  AffinityCase(expression: ["key": "edgeml.io/jetson.module", "operator": "Gt", "values": ["1"]], matches: false),
])
func affinity(_ c: AffinityCase) {
  let node: JSONValue = ["metadata": ["name": "n1", "labels": ["edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "15388"]]]
  let pod: JSONValue = ["spec": ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [["matchExpressions": [c.expression]]]]]]]]
  #expect(NodeFit.matchesSelectorAndAffinity(pod: pod, node: node) == c.matches)
}

@Test("Resource fit counts the largest init container against the sum of the app containers, and limits stand in for requests")
func resourceRequests() {
  let pod: JSONValue = ["spec": [
    "initContainers": [["name": "i", "resources": ["requests": ["cpu": "2", "memory": "1Gi"]]]],
    "containers": [["name": "a", "resources": ["requests": ["cpu": "500m"], "limits": ["nvidia.com/gpu": "1"]]],
                   ["name": "b", "resources": ["requests": ["cpu": "500m", "memory": "256Mi"]]]],
  ]]
  let r = Resources.requests(ofPod: pod)
  #expect(r.amounts["cpu"] == 2)
  #expect(r.amounts["memory"] == 1_073_741_824)
  #expect(r.amounts["nvidia.com/gpu"] == 1)
  let node: JSONValue = ["metadata": ["name": "n"], "status": ["allocatable": ["cpu": "8", "memory": "16Gi", "pods": "110", "nvidia.com/gpu": "1"],
                                                              "conditions": [["type": "Ready", "status": "True"]]]]
  #expect(NodeFit.failures(pod: pod, node: node, requested: Resources()).isEmpty)
  var used = Resources()
  used.amounts["nvidia.com/gpu"] = 1
  #expect(NodeFit.failures(pod: pod, node: node, requested: used) == [.insufficient("nvidia.com/gpu")])
}

/// kube-scheduler stops after enough feasible nodes (schedule_one.go numFeasibleNodesToFind).
@Test("The scheduler searches every node below 100 nodes and an adaptive share above", arguments: [
  (50, 50), (99, 99), (100, 100), (250, 120), (1_000, 420), (5_000, 500), (10_000, 500),
])
func feasibleNodesToFind(_ c: (nodes: Int, find: Int)) {
  #expect(Scheduler.feasibleNodesToFind(c.nodes) == c.find)
}

@Test("The node snapshot stays in name order, and what it remembers of a placement follows node changes")
func nodeSnapshotAffinity() {
  func node(_ name: String, module: String) -> JSONValue {
    ["metadata": ["name": .string(name), "labels": ["edgeml.io/jetson.module": .string(module)]]]
  }
  var snapshot = NodeSnapshot()
  for (name, module) in [("n3", "orin-nx-16gb"), ("n1", "agx-orin-64gb"), ("n2", "orin-nx-16gb")] {
    snapshot.update(node(name, module: module), deleted: false)
  }
  #expect(snapshot.nodes.map(\.name) == ["n1", "n2", "n3"])
  let pod = NodeFit.PodInfo(["spec": ["nodeSelector": ["edgeml.io/jetson.module": "orin-nx-16gb"]]])
  #expect(snapshot.affinityMatches(pod) == [false, true, true])
  // Relabelled and removed nodes change the answer for the same placement.
  snapshot.update(node("n1", module: "orin-nx-16gb"), deleted: false)
  #expect(snapshot.affinityMatches(pod) == [true, true, true])
  snapshot.update(node("n2", module: "orin-nx-16gb"), deleted: true)
  #expect(snapshot.nodes.map(\.name) == ["n1", "n3"])
  #expect(snapshot.affinityMatches(pod) == [true, true])
  let other = NodeFit.PodInfo(["spec": ["nodeSelector": ["edgeml.io/jetson.module": "agx-orin-64gb"]]])
  #expect(snapshot.affinityMatches(other) == [false, false])
}

@Test("Container and image IDs look like containerd's: 64 lowercase hex digits, image IDs stable per reference")
func containerAndImageIDs() {
  #expect(PodStatusModel.hex16(0) == "0000000000000000")
  #expect(PodStatusModel.hex16(0xabc) == "0000000000000abc")
  #expect(PodStatusModel.hex16(.max) == "ffffffffffffffff")
  let id = PodStatusModel.newContainerID()
  #expect(id.hasPrefix("containerd://") && id.dropFirst(13).count == 64 && id.dropFirst(13).allSatisfy { $0.isHexDigit && !$0.isUppercase })
  let image = PodStatusModel.imageID("nvcr.io/nvidia/tritonserver:24.08-py3-igpu")
  #expect(image == PodStatusModel.imageID("nvcr.io/nvidia/tritonserver:24.08-py3-igpu"))
  #expect(image.hasPrefix("nvcr.io/nvidia/tritonserver@sha256:") && image.split(separator: ":").last?.count == 64)
}
