import Foundation
import KubeCore
import Testing
@testable import EdgeSim

@Suite("Scheduling and workloads on a simulated fleet", .serialized)
struct SchedulingTests {
  @Test("Nodes register Ready with Jetson capacity, standard labels and node info, and renew their Lease")
  func nodesRegister() async throws {
    try await SimHarness.run { h in
      let nodes = h.api.list(Keys.nodes)
      #expect(nodes.count == 7)
      let orin = try #require(h.api.get(Keys.nodes, name: "orin-nx-16gb-0"))
      #expect(orin.labels["kubernetes.io/arch"] == "arm64")
      #expect(orin.labels["kubernetes.io/hostname"] == "orin-nx-16gb-0")
      #expect(!orin.labels.keys.contains { $0.hasPrefix("edgeml.io/") })
      #expect(orin.conditionStatus("Ready") == "True")
      #expect(orin[path: ["status", "allocatable", "nvidia.com/gpu"]]?.stringValue == "1")
      #expect(orin[path: ["status", "nodeInfo", "kernelVersion"]]?.stringValue == "5.15.148-tegra")
      #expect(orin[path: ["status", "nodeInfo", "osImage"]]?.stringValue == "Ubuntu 22.04.5 LTS")
      let first = h.api.get(Keys.leases, namespace: "kube-node-lease", name: "orin-nx-16gb-0")?[path: ["spec", "renewTime"]]?.stringValue
      #expect(first != nil)
      _ = try await h.eventually(20, "lease renewed") {
        h.api.get(Keys.leases, namespace: "kube-node-lease", name: "orin-nx-16gb-0")?[path: ["spec", "renewTime"]]?.stringValue != first ? true : nil
      }
    }
  }

  @Test("A Deployment of 3 replicas gets 3 Ready pods on 3 different nodes, with pod IPs and an Available status")
  func deploymentSpreads() async throws {
    try await SimHarness.run { h in
      try h.api.create("/apis/apps/v1/namespaces/default/deployments", SimHarness.deployment("web"))
      let pods = try await h.eventually(20, "3 ready pods") {
        let p = h.pods(label: "app=web").filter { $0.isPodReady }
        return p.count == 3 ? p : nil
      }
      #expect(Set(pods.map(\.nodeName)).count == 3)
      #expect(Set(pods.compactMap { $0[path: ["status", "podIP"]]?.stringValue }).count == 3)
      for p in pods {
        #expect(p[path: ["status", "podIP"]]?.stringValue?.hasPrefix("127.") == true)
        #expect(p.phase == "Running")
        #expect(p.labels["pod-template-hash"] != nil)
        let owner = try #require(p[path: ["metadata", "ownerReferences", ]]?.arrayValue?.first)
        #expect(owner["kind"] == "ReplicaSet" && owner["controller"] == true && owner["blockOwnerDeletion"] == true)
        #expect(p.conditionStatus("PodScheduled") == "True" && p.conditionStatus("Initialized") == "True" && p.conditionStatus("ContainersReady") == "True")
      }
      let d = try await h.eventually(10, "deployment available") {
        let d = h.api.get(Keys.deployments, namespace: "default", name: "web")
        return d?[path: ["status", "availableReplicas"]]?.intValue == 3 && d?.conditionStatus("Progressing") == "True"
          && d?.condition("Progressing")?["reason"]?.stringValue == "NewReplicaSetAvailable" ? d : nil
      }
      #expect(d.conditionStatus("Available") == "True")
      #expect(d[path: ["status", "observedGeneration"]]?.intValue == d.generation)
      #expect(d[path: ["status", "updatedReplicas"]]?.intValue == 3 && d[path: ["status", "readyReplicas"]]?.intValue == 3)
    }
  }

  @Test("nodeSelector, required affinity, taints and GPU capacity are honoured; an impossible pod gets kube-scheduler's message")
  func schedulingConstraints() async throws {
    try await SimHarness.run { h in
      try h.api.mergePatch(Paths.node("agx-orin-64gb-0"), ["spec": ["taints": [["key": "dedicated", "value": "infra", "effect": "NoSchedule"]]]])
      // Affinity: only AGX hosts; the tainted one is out unless tolerated.
      let agxOnly: JSONValue = ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
        ["matchExpressions": [["key": "kubernetes.io/hostname", "operator": "In", "values": ["agx-orin-64gb-0", "agx-orin-64gb-1"]]]]]]]]
      let gpu: JSONValue = ["limits": ["nvidia.com/gpu": "1"]]
      try h.api.create(Paths.pods("default"), SimHarness.pod("a", spec: ["affinity": agxOnly, "containers": [["name": "c", "image": "x", "resources": gpu]]]))
      let a = try await h.eventually(10, "a bound") { h.api.get(Keys.pods, namespace: "default", name: "a").flatMap { $0.nodeName.isEmpty ? JSONValue?.none : $0 } }
      #expect(a.nodeName == "agx-orin-64gb-1")
      // The only untainted AGX now has its GPU taken; a second GPU pod cannot go anywhere AGX.
      try h.api.create(Paths.pods("default"), SimHarness.pod("b", spec: ["affinity": agxOnly, "containers": [["name": "c", "image": "x", "resources": gpu]]]))
      let b = try await h.eventually(10, "b unschedulable") {
        h.api.get(Keys.pods, namespace: "default", name: "b").flatMap { $0.condition("PodScheduled")?["reason"]?.stringValue == "Unschedulable" ? $0 : JSONValue?.none }
      }
      #expect(b.condition("PodScheduled")?["message"]?.stringValue == "0/7 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) had untolerated taint {dedicated: infra}, 5 node(s) didn't match Pod's node affinity/selector. preemption: 0/7 nodes are available: 1 No preemption victims found for incoming pod, 6 Preemption is not helpful for scheduling.")
      let events = h.api.list("/events", namespace: "default").filter { $0["reason"]?.stringValue == "FailedScheduling" }
      #expect(events.contains { $0[path: ["involvedObject", "name"]]?.stringValue == "b" })
      // Tolerating the taint makes room: b is retried when the node changes and lands on agx-orin-64gb-0.
      try h.api.mergePatch(Paths.node("agx-orin-64gb-0"), ["spec": ["taints": nil]])
      let bound = try await h.eventually(10, "b bound after the taint went") {
        h.api.get(Keys.pods, namespace: "default", name: "b").flatMap { $0.nodeName.isEmpty ? JSONValue?.none : $0 }
      }
      #expect(bound.nodeName == "agx-orin-64gb-0")
      // nodeSelector with Gt: memory is not a label here, so select by hostname and exclude with NotIn.
      try h.api.create(Paths.pods("default"), SimHarness.pod("c", spec: ["nodeSelector": ["kubernetes.io/hostname": "orin-nano-8gb-1"],
                                                                         "containers": [["name": "c", "image": "x"]]]))
      let c = try await h.eventually(10, "c bound") { h.api.get(Keys.pods, namespace: "default", name: "c").flatMap { $0.nodeName.isEmpty ? JSONValue?.none : $0 } }
      #expect(c.nodeName == "orin-nano-8gb-1")
      try h.api.mergePatch(Paths.node("orin-nano-8gb-0"), ["spec": ["unschedulable": true]])
      try h.api.create(Paths.pods("default"), SimHarness.pod("d", spec: ["nodeSelector": ["kubernetes.io/hostname": "orin-nano-8gb-0"],
                                                                         "containers": [["name": "c", "image": "x"]]]))
      let d = try await h.eventually(10, "d unschedulable") {
        h.api.get(Keys.pods, namespace: "default", name: "d").flatMap { $0.condition("PodScheduled")?["status"]?.stringValue == "False" ? $0 : JSONValue?.none }
      }
      #expect(d.condition("PodScheduled")?["message"]?.stringValue?.hasPrefix("0/7 nodes are available: 1 node(s) were unschedulable, 6 node(s) didn't match Pod's node affinity/selector.") == true)
    }
  }
}
