import Foundation
import KubeCore
import Testing
@testable import EdgeSim

@Suite("Workload controllers and node lifecycle", .serialized)
struct ControllerTests {
  @Test("A DaemonSet runs one ready pod on each eligible node and skips tainted and unselected ones")
  func daemonSetCoversEligibleNodes() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=2,agx-orin-64gb=1,xavier-nx-8gb=1") { h in
      try h.api.mergePatch(Paths.node("agx-orin-64gb-0"), ["spec": ["taints": [["key": "dedicated", "value": "infra", "effect": "NoSchedule"]]]])
      try h.api.mergePatch(Paths.node("xavier-nx-8gb-0"), ["metadata": ["labels": ["edgeml.io/l4t": "35.6.0"]]])
      let ds: JSONValue = [
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": ["name": "agent", "namespace": "default"],
        "spec": ["selector": ["matchLabels": ["app": "agent"]],
                 "template": ["metadata": ["labels": ["app": "agent"]],
                              "spec": ["affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [
                                         ["matchExpressions": [["key": "edgeml.io/l4t", "operator": "DoesNotExist"]]]]]]],
                                       "containers": [["name": "agent", "image": "edgeml:dev"]]]]],
      ]
      try h.api.create("/apis/apps/v1/namespaces/default/daemonsets", ds)
      let status = try await h.eventually(20, "daemonset ready") {
        let s = h.api.get(Keys.daemonSets, namespace: "default", name: "agent")?["status"]
        return s?["numberReady"]?.intValue == 2 ? s : nil
      }
      #expect(status["desiredNumberScheduled"] == 2 && status["currentNumberScheduled"] == 2 && status["updatedNumberScheduled"] == 2)
      #expect(status["numberMisscheduled"] == 0)
      let nodes = Set(h.pods(label: "app=agent").map(\.nodeName))
      #expect(nodes == ["orin-nx-16gb-0", "orin-nx-16gb-1"])
      // Removing the taint makes the AGX eligible.
      try h.api.mergePatch(Paths.node("agx-orin-64gb-0"), ["spec": ["taints": nil]])
      _ = try await h.eventually(20, "three daemon pods ready") {
        h.api.get(Keys.daemonSets, namespace: "default", name: "agent")?[path: ["status", "numberReady"]]?.intValue == 3 ? true : nil
      }
      // A NoSchedule taint added later leaves the running daemon pod where it is (upstream's
      // shouldContinueRunning); an untolerated NoExecute one removes it.
      let before = try #require(h.pods(label: "app=agent").first { $0.nodeName == "orin-nx-16gb-0" }?.uid)
      try h.api.mergePatch(Paths.node("orin-nx-16gb-0"), ["spec": ["taints": [["key": "dedicated", "value": "infra", "effect": "NoSchedule"]]]])
      _ = try await h.eventually(20, "counted as misscheduled") {
        h.api.get(Keys.daemonSets, namespace: "default", name: "agent")?[path: ["status", "numberMisscheduled"]]?.intValue == 1 ? true : nil
      }
      #expect(h.pods(label: "app=agent").first { $0.nodeName == "orin-nx-16gb-0" && !$0.isDeleting }?.uid == before)
      try h.api.mergePatch(Paths.node("orin-nx-16gb-0"), ["spec": ["taints": [["key": "dedicated", "value": "infra", "effect": "NoExecute"]]]])
      _ = try await h.eventually(20, "removed by NoExecute") {
        h.pods(label: "app=agent").contains { $0.nodeName == "orin-nx-16gb-0" && !$0.isDeleting } ? nil : true
      }
    }
  }

  @Test("A DaemonSet rolling update replaces its pods with the new template; a Recreate Deployment drops old pods before new ones")
  func daemonSetRollingAndRecreate() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=3") { h in
      let ds: JSONValue = [
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": ["name": "agent", "namespace": "default"],
        "spec": ["selector": ["matchLabels": ["app": "agent"]],
                 "template": ["metadata": ["labels": ["app": "agent"]], "spec": ["containers": [["name": "agent", "image": "agent:1"]]]]],
      ]
      try h.api.create("/apis/apps/v1/namespaces/default/daemonsets", ds)
      _ = try await h.eventually(20, "v1 ready") { h.pods(label: "app=agent").filter(\.isPodReady).count == 3 ? true : nil }
      try h.api.mergePatch(Paths.daemonSet("default", "agent"), ["spec": ["template": ["spec": ["containers": [["name": "agent", "image": "agent:2"]]]]]])
      let status = try await h.eventually(30, "v2 everywhere") { () -> JSONValue? in
        let pods = h.pods(label: "app=agent").filter { !$0.isDeleting }
        let s = h.api.get(Keys.daemonSets, namespace: "default", name: "agent")?["status"]
        let allNew = pods.count == 3 && pods.allSatisfy { $0.isPodReady && $0[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "agent:2" }
        return allNew && s?["updatedNumberScheduled"]?.intValue == 3 && s?["numberReady"]?.intValue == 3 ? s : nil
      }
      #expect(status["observedGeneration"]?.intValue == 2)

      try h.api.create("/apis/apps/v1/namespaces/default/deployments", SimHarness.deployment("batch", replicas: 2, strategy: ["type": "Recreate"]))
      _ = try await h.eventually(20, "v1 ready") { h.pods(label: "app=batch").filter(\.isPodReady).count == 2 ? true : nil }
      let oldHash = try #require(h.pods(label: "app=batch").first?.labels["pod-template-hash"])
      try h.api.mergePatch(Paths.deployment("default", "batch"), ["spec": ["template": ["spec": ["containers": [["name": "app", "image": "nginx:1.28"]]]]]])
      var mixed = false
      _ = try await h.eventually(30, "recreated") { () -> Bool? in
        let pods = h.pods(label: "app=batch")
        if Set(pods.compactMap { $0.labels["pod-template-hash"] }).count > 1 { mixed = true }
        return pods.count == 2 && pods.allSatisfy({ $0.labels["pod-template-hash"] != oldHash && $0.isPodReady }) ? true : nil
      }
      #expect(!mixed, "Recreate never runs old and new pods together")
    }
  }

  @Test("A Job runs its pods to completion; a Job whose pods fail stops at its backoff limit")
  func jobCompletesOrFails() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=2", speed: 0.005) { h in
      let script = try KubeletTests.writeScript(h.root.appendingPathComponent("bin"), body: "echo trained > \"$1\"")
      let job: JSONValue = [
        "apiVersion": "batch/v1", "kind": "Job", "metadata": ["name": "train", "namespace": "default"],
        "spec": ["completions": 3, "parallelism": 2,
                 "template": ["spec": ["restartPolicy": "Never",
                                       "containers": [["name": "train", "image": "trainer", "command": [.string(script)], "args": ["/dev/termination-log"]]]]]],
      ]
      try h.api.create("/apis/batch/v1/namespaces/default/jobs", job)
      let done = try await h.eventually(20, "job complete") {
        h.api.get(Keys.jobs, namespace: "default", name: "train").flatMap { $0.conditionStatus("Complete") == "True" ? $0 : JSONValue?.none }
      }
      #expect(done[path: ["status", "succeeded"]]?.intValue == 3)
      #expect(done[path: ["status", "completionTime"]] != nil)
      let pods = h.pods(label: "job-name=train")
      #expect(pods.count == 3 && pods.allSatisfy { $0.phase == "Succeeded" })
      #expect(pods.first?[path: ["status", "containerStatuses"]]?.arrayValue?.first?[path: ["state", "terminated", "message"]] == "trained\n")

      var failing = job
      failing[path: ["metadata", "name"]] = "broken"
      failing[path: ["spec"]] = ["backoffLimit": 1, "template": ["metadata": ["annotations": ["edgesim.edgeml.io/exit-code": "2"]],
                                                                 "spec": ["restartPolicy": "Never", "containers": [["name": "c", "image": "x"]]]]]
      try h.api.create("/apis/batch/v1/namespaces/default/jobs", failing)
      let failed = try await h.eventually(20, "job failed") {
        h.api.get(Keys.jobs, namespace: "default", name: "broken").flatMap { $0.conditionStatus("Failed") == "True" ? $0 : JSONValue?.none }
      }
      #expect(failed.condition("Failed")?["reason"] == "BackoffLimitExceeded")
      #expect(failed[path: ["status", "failed"]]?.intValue == 2)
    }
  }

  @Test("A rolling update replaces every pod of the old template and keeps the old ReplicaSet at zero")
  func rollingUpdate() async throws {
    try await SimHarness.run { h in
      try h.api.create("/apis/apps/v1/namespaces/default/deployments", SimHarness.deployment("web", replicas: 4))
      _ = try await h.eventually(20, "v1 ready") { h.pods(label: "app=web").filter(\.isPodReady).count == 4 ? true : nil }
      let oldHash = try #require(h.pods(label: "app=web").first?.labels["pod-template-hash"])
      try h.api.mergePatch(Paths.deployment("default", "web"), ["spec": ["template": ["spec": ["containers": [["name": "app", "image": "nginx:1.28"]]]]]])
      let d = try await h.eventually(30, "rolled out") {
        let d = h.api.get(Keys.deployments, namespace: "default", name: "web")
        let pods = h.pods(label: "app=web")
        return pods.count == 4 && pods.allSatisfy({ $0.labels["pod-template-hash"] != oldHash && $0.isPodReady })
          && d?[path: ["status", "updatedReplicas"]]?.intValue == 4 && d?[path: ["status", "availableReplicas"]]?.intValue == 4
          && d?[path: ["status", "replicas"]]?.intValue == 4 ? d : nil
      }
      #expect(d.annotations["deployment.kubernetes.io/revision"] == "2")
      let sets = h.api.list(Keys.replicaSets, namespace: "default")
      #expect(sets.count == 2)
      #expect(sets.first { $0.labels["pod-template-hash"] == oldHash }?[path: ["spec", "replicas"]]?.intValue == 0)
      #expect(h.pods(label: "app=web").allSatisfy { $0[path: ["spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:1.28" })
    }
  }

  @Test("A failed node turns Unknown and tainted, its pod is evicted after tolerationSeconds and replaced elsewhere; recovery clears it")
  func nodeFailure() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=2,orin-nano-8gb=1", speed: 0.01) { h in
      try h.api.create("/apis/apps/v1/namespaces/default/deployments", SimHarness.deployment("web", replicas: 2))
      let pods = try await h.eventually(20, "ready") { () -> [JSONValue]? in
        let p = h.pods(label: "app=web").filter(\.isPodReady)
        return p.count == 2 ? p : nil
      }
      let victim = pods[0]
      await h.sim.failNode(victim.nodeName)
      let node = try await h.eventually(20, "node unknown and tainted") {
        h.api.get(Keys.nodes, name: victim.nodeName).flatMap {
          $0.conditionStatus("Ready") == "Unknown"
            && ($0[path: ["spec", "taints"]]?.arrayValue ?? []).contains { $0["key"] == "node.kubernetes.io/unreachable" && $0["effect"] == "NoExecute" }
            ? $0 : JSONValue?.none
        }
      }
      #expect(node.condition("Ready")?["reason"] == "NodeStatusUnknown")
      _ = try await h.eventually(10, "pod on the lost node not ready") {
        h.api.get(Keys.pods, namespace: "default", name: victim.name).flatMap { $0.conditionStatus("Ready") == "False" ? true : nil }
      }
      // Evicted after the default 300 s (3 s here): Terminating, since the lost kubelet cannot finish it.
      let evicted = try await h.eventually(20, "evicted") {
        h.api.get(Keys.pods, namespace: "default", name: victim.name).flatMap { $0.isDeleting ? $0 : JSONValue?.none }
      }
      #expect(evicted.nodeName == victim.nodeName)
      let replacement = try await h.eventually(20, "replacement ready elsewhere") {
        h.pods(label: "app=web").first { $0.name != victim.name && $0.name != pods[1].name && $0.isPodReady }
      }
      #expect(replacement.nodeName != victim.nodeName)
      await h.sim.recoverNode(victim.nodeName)
      _ = try await h.eventually(20, "recovered, taint gone and evicted pod removed") {
        let n = h.api.get(Keys.nodes, name: victim.nodeName)
        return n?.conditionStatus("Ready") == "True" && (n?[path: ["spec", "taints"]]?.arrayValue ?? []).isEmpty
          && h.api.get(Keys.pods, namespace: "default", name: victim.name) == nil ? true : nil
      }
    }
  }

  @Test("A live kubelet whose node was marked Unknown by a late heartbeat restores the node's and its pods' readiness")
  func lateHeartbeatIsRepaired() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=1", speed: 0.01) { h in
      try h.api.create("/apis/apps/v1/namespaces/default/deployments", SimHarness.deployment("web", replicas: 1))
      let pod = try await h.eventually(20, "ready") { h.pods(label: "app=web").first(where: \.isPodReady) }
      // What the node lifecycle controller writes when it misses heartbeats of a node that is in fact fine.
      var nodeConditions = h.api.get(Keys.nodes, name: pod.nodeName)?[path: ["status", "conditions"]]?.arrayValue ?? []
      setCondition(&nodeConditions, type: "Ready", status: "Unknown", reason: "NodeStatusUnknown", now: rfc3339(Date()))
      _ = try h.api.mergePatch(Paths.node(pod.nodeName) + "/status", ["status": ["conditions": .array(nodeConditions)]])
      var podConditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
      setCondition(&podConditions, type: "Ready", status: "False", now: rfc3339(Date()))
      _ = try h.api.mergePatch(Paths.pod("default", pod.name) + "/status", ["status": ["conditions": .array(podConditions)]])
      _ = try await h.eventually(20, "node and pod Ready again") {
        h.api.get(Keys.nodes, name: pod.nodeName)?.conditionStatus("Ready") == "True"
          && h.api.get(Keys.pods, namespace: "default", name: pod.name)?.isPodReady == true ? true : nil
      }
    }
  }

  @Test("A Triton pod is Ready once its model is in the repository and serves Triton metrics at its pod IP")
  func tritonMetrics() async throws {
    try await SimHarness.run(fleet: "agx-orin-64gb=1", metrics: true) { h in
      let script = try KubeletTests.writeScript(h.root.appendingPathComponent("bin"), body: "mkdir -p \"$1/detector/3\" && echo plan > \"$1/detector/3/model.plan\"")
      try h.api.create(Paths.pods("default"), SimHarness.pod("serve", spec: [
        "volumes": [["name": "models", "emptyDir": [:]]],
        "initContainers": [["name": "engine", "image": "edgeml", "command": [.string(script)], "args": ["/models"],
                            "volumeMounts": [["name": "models", "mountPath": "/models"]]]],
        "containers": [["name": "triton", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu",
                        "args": ["tritonserver", "--model-repository=/models"],
                        "ports": [["name": "http", "containerPort": 18000], ["name": "metrics", "containerPort": 18002]],
                        "volumeMounts": [["name": "models", "mountPath": "/models"]]]],
      ]))
      let pod = try await h.eventually(20, "ready") { h.api.get(Keys.pods, namespace: "default", name: "serve").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      let ip = try #require(pod[path: ["status", "podIP"]]?.stringValue)
      #expect(try httpGet(host: ip, port: 18000, path: "/v2/health/ready").0 == 200)
      #expect(try httpGet(host: ip, port: 18000, path: "/v2/models/detector/ready").0 == 200)
      #expect(try httpGet(host: ip, port: 18000, path: "/v2/models/other/ready").0 == 400)
      try await Task.sleep(for: .milliseconds(200))
      let (code, text) = try httpGet(host: ip, port: 18002, path: "/metrics")
      #expect(code == 200)
      #expect(text.contains("# TYPE nv_inference_request_success counter"))
      #expect(text.contains("nv_inference_count{model=\"detector\",version=\"3\"}"))
      #expect(text.contains("nv_model_load_duration_secs{model=\"detector\",version=\"3\"}"))
      #expect(!text.contains("nv_gpu_"))
      let success = text.split(separator: "\n").first { $0.hasPrefix("nv_inference_request_success{") }
      #expect((success?.split(separator: " ").last.flatMap { Int($0) } ?? 0) > 0)
    }
  }
}
