import Foundation
import KubeCore
import KubeEmulator
import Testing
@testable import EdgeSim

@Test("A fleet spec names kinds and counts; unknown kinds are refused with the list of known ones")
func fleetSpecParsing() throws {
  let spec = try FleetSpec(parsing: "orin-nx-16gb=3,agx-orin-64gb=2,orin-nano-8gb-r36.4.0=1")
  #expect(spec.nodes.map(\.name) == ["orin-nx-16gb-0", "orin-nx-16gb-1", "orin-nx-16gb-2", "agx-orin-64gb-0", "agx-orin-64gb-1", "orin-nano-8gb-0"])
  #expect(spec.nodes.last?.kind.dlaCores == 0)
  #expect(try FleetSpec(parsing: "orin-nx-16gb-r35.4.1=1").nodes.first?.name == "orin-nx-16gb-r35-4-1-0")
  #expect(throws: EdgeSimError.self) { try FleetSpec(parsing: "jetson-tx2=1") }
  #expect(throws: EdgeSimError.self) { try FleetSpec(parsing: "orin-nx-16gb") }
  #expect(FleetSpec.default.nodes.count == 7)
}

@Test("The catalogue carries each module's TensorRT, CUDA, compute capability and fixture")
func catalogueFacts() {
  #expect(NodeKind.xavierNX8.gpuArch == "sm_72")
  #expect(NodeKind.xavierNX8.tensorRT == "8.5.2" && NodeKind.xavierNX8.cuda == "11.4")
  #expect(NodeKind.orinNX16R35.fixture == "orin-nx-16gb-r35.4.1")
  #expect(NodeKind.agxOrin64.baseBuildSeconds < NodeKind.orinNX16.baseBuildSeconds)
  #expect(NodeKind.orinNX16.baseBuildSeconds < NodeKind.orinNano8.baseBuildSeconds)
  #expect(Set(NodeKind.catalogue.map(\.fixture)).count == 5)
}

@Test("Path rewriting maps values under a mount path and leaves look-alikes alone")
func pathRewriting() {
  let mounts = [(mountPath: "/models", host: "/sim/pods/u/volumes/models"), (mountPath: "/var/lib/edgeml/engines", host: "/sim/nodes/n/var/lib/edgeml/engines")]
  #expect(PodSandbox.rewrite("/models", mounts: mounts) == "/sim/pods/u/volumes/models")
  #expect(PodSandbox.rewrite("/models/det/1/model.plan", mounts: mounts) == "/sim/pods/u/volumes/models/det/1/model.plan")
  #expect(PodSandbox.rewrite("/models2", mounts: mounts) == "/models2")
  #expect(PodSandbox.rewrite("--output-dir", mounts: mounts) == "--output-dir")
  #expect(PodSandbox.rewrite("/var/lib/edgeml/engines/x.plan", mounts: mounts) == "/sim/nodes/n/var/lib/edgeml/engines/x.plan")
  #expect(PodSandbox.rewrite("--model-repository=/models", mounts: mounts) == "--model-repository=/sim/pods/u/volumes/models")
  #expect(PodSandbox.rewrite("data/models/x", mounts: mounts) == "data/models/x")
  let log = mounts + [(mountPath: "/dev/termination-log", host: "/sim/pods/u/containers/c/termination-log")]
  #expect(PodSandbox.rewrite("mkdir -p /models/a && echo '{}' > /dev/termination-log; ls /models2", mounts: log)
          == "mkdir -p /sim/pods/u/volumes/models/a && echo '{}' > /sim/pods/u/containers/c/termination-log; ls /models2")
}

@Test("The unschedulable message reads like kube-scheduler's")
func unschedulableMessage() {
  let message = NodeFit.unschedulableMessage(nodeCount: 7, failures: [
    [.affinity], [.affinity], [.affinity], [.untoleratedTaint(key: "dedicated", value: "infra")], [.insufficient("nvidia.com/gpu")],
    [.insufficient("nvidia.com/gpu")], [.insufficient("cpu"), .insufficient("nvidia.com/gpu")],
  ])
  #expect(message == "0/7 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: infra}, 3 Insufficient nvidia.com/gpu, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/7 nodes are available: 3 No preemption victims found for incoming pod, 4 Preemption is not helpful for scheduling.")
}

@Test("pods/binding assigns a node once; a second binding conflicts, and the PodScheduled condition is set")
func bindingSubresource() throws {
  let server = APIServer(documents: sharedDocuments)
  let api = ClusterAPI(server: server, component: "test")
  try api.create(Paths.pods("default"), SimHarness.pod("p", spec: ["containers": [["name": "c", "image": "x"]]]))
  let binding: JSONValue = ["apiVersion": "v1", "kind": "Binding", "metadata": ["name": "p"], "target": ["kind": "Node", "name": "n1"]]
  let status = try api.create(Paths.pod("default", "p") + "/binding", binding)
  #expect(status["status"] == "Success")
  let pod = try #require(api.get(Keys.pods, namespace: "default", name: "p"))
  #expect(pod.nodeName == "n1")
  #expect(pod.conditionStatus("PodScheduled") == "True")
  do {
    try api.create(Paths.pod("default", "p") + "/binding", binding)
    Issue.record("a second binding succeeded")
  } catch {
    #expect(error.reason == "Conflict")
    #expect("\(error)".contains("pod p is already assigned to node \"n1\""))
  }
}
