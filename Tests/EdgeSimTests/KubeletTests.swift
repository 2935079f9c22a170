import Foundation
import KubeCore
import Testing
@testable import EdgeSim

@Suite("The simulated kubelet", .serialized)
struct KubeletTests {
  /// A script standing in for an engine build: writes a file under its --output-dir and a JSON
  /// result to its termination log, and reports the trtexec environment it saw.
  static func writeScript(_ dir: URL, body: String) throws -> String {
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let url = dir.appendingPathComponent("script-\(UUID().uuidString.prefix(6)).sh")
    try Data("#!/bin/sh\n\(body)\n".utf8).write(to: url)
    chmod(url.path, 0o755)
    return url.path
  }

  @Test("An init container runs as a process with rewritten paths, the node's trtexec facts and Secret env; its termination message reaches the status")
  func initContainerRuns() async throws {
    try await SimHarness.run(fleet: "xavier-nx-8gb=1") { h in
      let script = try Self.writeScript(h.root.appendingPathComponent("bin"), body: """
        out="$2"; mkdir -p "$out/det/1" && echo plan > "$out/det/1/model.plan"
        printf '{"state":"Built","tensorrt":"%s","compute":"%s","token":"%s","cache":"%s"}' "$EDGEML_TRTEXEC_TENSORRT" "$EDGEML_TRTEXEC_COMPUTE" "$TOKEN" "$CACHE" > "$4"
        """)
      try h.api.create("/api/v1/namespaces/default/secrets", ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "s"], "data": ["token": "czNjcjN0"]])
      try h.api.create(Paths.pods("default"), SimHarness.pod("build", spec: [
        "volumes": [["name": "models", "emptyDir": [:]], ["name": "cache", "hostPath": ["path": "/var/lib/edgeml/engines"]]],
        "initContainers": [["name": "engine", "image": "edgeml:dev", "command": .string(script).asArray,
                            "args": ["--output-dir", "/models", "--termination-log", "/models/.result"],
                            "terminationMessagePath": "/models/.result",
                            "env": [["name": "TOKEN", "valueFrom": ["secretKeyRef": ["name": "s", "key": "token"]]],
                                    ["name": "CACHE", "value": "/var/lib/edgeml/engines"]],
                            "volumeMounts": [["name": "models", "mountPath": "/models"], ["name": "cache", "mountPath": "/var/lib/edgeml/engines"]]]],
        "containers": [["name": "app", "image": "x", "volumeMounts": [["name": "models", "mountPath": "/models"]]]],
      ]))
      let pod = try await h.eventually(20, "pod ready") { h.api.get(Keys.pods, namespace: "default", name: "build").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      let status = try #require(pod[path: ["status", "initContainerStatuses"]]?.arrayValue?.first)
      #expect(status[path: ["state", "terminated", "exitCode"]]?.intValue == 0)
      #expect(status[path: ["state", "terminated", "reason"]]?.stringValue == "Completed")
      let message = try #require(status[path: ["state", "terminated", "message"]]?.stringValue)
      let result = try JSONValue(parsing: message)
      #expect(result["tensorrt"] == "8.5.2" && result["compute"] == "7.2")
      #expect(result["token"] == "s3cr3t")
      #expect(result["cache"]?.stringValue == h.root.path + "/nodes/xavier-nx-8gb-0/var/lib/edgeml/engines")
      let plan = h.root.appendingPathComponent("pods/\(pod.uid)/volumes/models/det/1/model.plan")
      #expect(FileManager.default.fileExists(atPath: plan.path))
    }
  }

  @Test("A failing init container is restarted with back-off and reports CrashLoopBackOff; restartPolicy Never fails the pod")
  func initContainerBackOff() async throws {
    try await SimHarness.run(fleet: "orin-nano-8gb=1", speed: 0.005) { h in
      let script = try Self.writeScript(h.root.appendingPathComponent("bin"), body: "echo no model > \"$1\"; exit 3")
      let spec: JSONValue = ["initContainers": [["name": "engine", "image": "edgeml", "command": .string(script).asArray, "args": ["/dev/termination-log"]]],
                             "containers": [["name": "app", "image": "x"]]]
      try h.api.create(Paths.pods("default"), SimHarness.pod("crash", spec: spec))
      let pod = try await h.eventually(20, "two restarts") {
        h.api.get(Keys.pods, namespace: "default", name: "crash").flatMap {
          ($0[path: ["status", "initContainerStatuses"]]?.arrayValue?.first?["restartCount"]?.intValue ?? 0) >= 2 ? $0 : JSONValue?.none
        }
      }
      let status = try #require(pod[path: ["status", "initContainerStatuses"]]?.arrayValue?.first)
      #expect(status[path: ["lastState", "terminated", "exitCode"]]?.intValue == 3)
      #expect(status[path: ["lastState", "terminated", "reason"]]?.stringValue == "Error")
      #expect(status[path: ["lastState", "terminated", "message"]]?.stringValue == "no model\n")
      #expect(pod.phase == "Pending")
      #expect(pod.conditionStatus("Initialized") == "False")
      let waiting = try await h.eventually(10, "back-off shown") {
        h.api.get(Keys.pods, namespace: "default", name: "crash")?[path: ["status", "initContainerStatuses"]]?.arrayValue?.first?[path: ["state", "waiting"]]
      }
      #expect(waiting["reason"] == "CrashLoopBackOff")
      #expect(waiting["message"]?.stringValue?.hasPrefix("back-off ") == true)

      var never = spec
      never["restartPolicy"] = "Never"
      try h.api.create(Paths.pods("default"), SimHarness.pod("once", spec: never))
      let failed = try await h.eventually(10, "pod failed") { h.api.get(Keys.pods, namespace: "default", name: "once").flatMap { $0.phase == "Failed" ? $0 : JSONValue?.none } }
      #expect(failed[path: ["status", "initContainerStatuses"]]?.arrayValue?.first?["restartCount"]?.intValue == 0)
    }
  }

  @Test("A missing ConfigMap key holds the container in CreateContainerConfigError until the key appears; ConfigMap volumes become files")
  func configMapEnvAndVolume() async throws {
    try await SimHarness.run(fleet: "orin-nano-8gb=1", speed: 0.005) { h in
      let script = try Self.writeScript(h.root.appendingPathComponent("bin"), body: "printf '%s|%s' \"$MODE\" \"$(cat \"$2\")\" > \"$1\"")
      try h.api.create("/api/v1/namespaces/default/configmaps", ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "cfg"], "data": ["other": "1"]])
      try h.api.create(Paths.pods("default"), SimHarness.pod("cm", spec: [
        "volumes": [["name": "cfg", "configMap": ["name": "cfg", "optional": true]]],
        "initContainers": [["name": "init", "image": "x", "command": [.string(script)], "args": ["/dev/termination-log", "/etc/cfg/mode"],
                            "env": [["name": "MODE", "valueFrom": ["configMapKeyRef": ["name": "cfg", "key": "mode"]]]],
                            "volumeMounts": [["name": "cfg", "mountPath": "/etc/cfg"]]]],
        "containers": [["name": "app", "image": "x"]],
      ]))
      let waiting = try await h.eventually(10, "config error") {
        h.api.get(Keys.pods, namespace: "default", name: "cm")?[path: ["status", "initContainerStatuses"]]?.arrayValue?.first?[path: ["state", "waiting"]]
          .flatMap { $0["reason"] == "CreateContainerConfigError" ? $0 : JSONValue?.none }
      }
      #expect(waiting["message"] == "couldn't find key mode in ConfigMap default/cfg")
      try h.api.mergePatch("/api/v1/namespaces/default/configmaps/cfg", ["data": ["mode": "fp16"]])
      let pod = try await h.eventually(20, "ready") { h.api.get(Keys.pods, namespace: "default", name: "cm").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      #expect(pod[path: ["status", "initContainerStatuses"]]?.arrayValue?.first?[path: ["state", "terminated", "message"]] == "fp16|fp16")
    }
  }

  @Test("Deleting a running pod is graceful: Terminating first, then removed by the kubelet")
  func gracefulDeletion() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=1") { h in
      try h.api.create(Paths.pods("default"), SimHarness.pod("p", spec: ["containers": [["name": "c", "image": "x"]]]))
      _ = try await h.eventually(10, "ready") { h.api.get(Keys.pods, namespace: "default", name: "p").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      let deleted = try h.api.send("DELETE", Paths.pod("default", "p"))
      #expect(deleted[path: ["metadata", "deletionTimestamp"]] != nil)
      #expect(deleted[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue == 30)
      _ = try await h.eventually(10, "gone") { h.api.get(Keys.pods, namespace: "default", name: "p") == nil ? true : nil }
      // A pod never bound to a node is removed at once.
      try h.api.create(Paths.pods("default"), SimHarness.pod("q", spec: ["nodeSelector": ["no": "where"], "containers": [["name": "c", "image": "x"]]]))
      try h.api.delete(Paths.pod("default", "q"))
      #expect(h.api.get(Keys.pods, namespace: "default", name: "q") == nil)
    }
  }

  @Test("A container process runs at the nodes' nice value, leaving the API server's threads theirs", arguments: [Int32(7), 0])
  func containerProcessesRunAtTheNodesNiceValue(_ nodeNice: Int32) async throws {
    errno = 0
    let own = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    try await SimHarness.run(fleet: "orin-nx-16gb=1", configure: { $0.nodeNice = nodeNice }) { h in
      // `nice` with no operand prints the niceness it runs at (coreutils).
      let script = try Self.writeScript(h.root.appendingPathComponent("bin"), body: "nice > \"$2\"")
      try h.api.create(Paths.pods("default"), SimHarness.pod("n", spec: [
        "volumes": [["name": "out", "emptyDir": [:]]],
        "initContainers": [["name": "probe", "image": "x", "command": .string(script).asArray,
                            "args": ["--termination-log", "/out/.result"], "terminationMessagePath": "/out/.result",
                            "volumeMounts": [["name": "out", "mountPath": "/out"]]]],
        "containers": [["name": "app", "image": "x"]],
      ]))
      let pod = try await h.eventually(20, "pod ready") { h.api.get(Keys.pods, namespace: "default", name: "n").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      let message = pod[path: ["status", "initContainerStatuses"]]?.arrayValue?.first?[path: ["state", "terminated", "message"]]?.stringValue
      #expect(message?.trimmingCharacters(in: .whitespacesAndNewlines) == String(nodeNice == 0 ? own : nodeNice))
      // That the API server's event loops keep the process's own value is read from /proc by
      // acceptance/test_sim_node_priority.py, on the real `edgeml sim`.
    }
  }

  @Test("A deleted pod's Secret volume leaves the node's disk")
  func deletedPodVolumesAreRemoved() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=1") { h in
      try h.api.create("/api/v1/namespaces/default/secrets", ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "engine-key"],
                                                            "data": ["aes.key": "czNjcjN0"]])
      try h.api.create(Paths.pods("default"), SimHarness.pod("p", spec: [
        "volumes": [["name": "key", "secret": ["secretName": "engine-key"]]],
        "containers": [["name": "c", "image": "x", "volumeMounts": [["name": "key", "mountPath": "/keys"]]]],
      ]))
      let pod = try await h.eventually(10, "ready") { h.api.get(Keys.pods, namespace: "default", name: "p").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      let volumes = h.root.appendingPathComponent("pods/\(pod.uid)/volumes")
      #expect(FileManager.default.fileExists(atPath: volumes.appendingPathComponent("key/aes.key").path))
      try h.api.delete(Paths.pod("default", "p"))
      _ = try await h.eventually(10, "gone") { h.api.get(Keys.pods, namespace: "default", name: "p") == nil ? true : nil }
      _ = try await h.eventually(10, "volumes removed") { FileManager.default.fileExists(atPath: volumes.path) ? nil : true }
    }
  }
}

extension JSONValue {
  var asArray: JSONValue { .array([self]) }
}
