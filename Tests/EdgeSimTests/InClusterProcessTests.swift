import Foundation
import KubeCore
import Testing
@testable import EdgeSim

/// What EdgeSim's kubelet does for programs installed the way users install them: images that
/// stand for programs built here, probes, and the node's own files behind hostPath volumes.
@Suite("Images, probes and host files of EdgeSim pods", .serialized)
struct InClusterProcessTests {
  @Test("An image reference's repository drops its tag and digest, not a registry's port", arguments: [
    ("ghcr.io/edgeml/edgeml:0.1.0", "ghcr.io/edgeml/edgeml"),
    ("ghcr.io/edgeml/edgeml@sha256:0123abcd", "ghcr.io/edgeml/edgeml"),
    ("ghcr.io/edgeml/edgeml:0.1.0@sha256:0123abcd", "ghcr.io/edgeml/edgeml"),
    ("registry.local:5000/edgeml/edgeml", "registry.local:5000/edgeml/edgeml"),
    ("registry.local:5000/edgeml/edgeml:dev", "registry.local:5000/edgeml/edgeml"),
    ("busybox", "busybox"),
  ])
  func imageRepository(_ reference: String, _ repository: String) {
    #expect(ContainerImage.repository(of: reference) == repository)
  }

  @Test("command replaces the image's ENTRYPOINT, args its CMD; args alone follow the ENTRYPOINT")
  func entrypointAndCommand() {
    let images = ["ghcr.io/edgeml/edgeml": ContainerImage(entrypoint: ["/usr/local/bin/edgeml"], cmd: ["--help"])]
    let cases: [(JSONValue, [String])] = [
      (["image": "ghcr.io/edgeml/edgeml:0.1.0", "args": ["node-agent", "--root", "/host"]], ["/usr/local/bin/edgeml", "node-agent", "--root", "/host"]),
      (["image": "ghcr.io/edgeml/edgeml:0.1.0"], ["/usr/local/bin/edgeml", "--help"]),
      (["image": "ghcr.io/edgeml/edgeml:0.1.0", "command": ["edgeml-operator"], "args": ["--leader-elect"]], ["edgeml-operator", "--leader-elect"]),
      (["image": "ghcr.io/edgeml/edgeml:0.1.0", "command": ["edgeml-operator"]], ["edgeml-operator"]),
      (["image": "nginx:1.27", "args": ["-g", "daemon off;"]], []),
    ]
    for (container, words) in cases {
      #expect(ContainerImage.words(of: container, images: images) == words)
    }
  }

  @Test("Only a whole word naming a directory above mounts moves to the stand-in root")
  func parentRewrite() {
    let parents = ["/host": "/sim/rootfs/host", "/dev": "/sim/rootfs/dev"]
    #expect(PodSandbox.rewriteParent("/host", parents: parents) == "/sim/rootfs/host")
    #expect(PodSandbox.rewriteParent("--root=/host", parents: parents) == "--root=/sim/rootfs/host")
    #expect(PodSandbox.rewriteParent("/dev/null", parents: parents) == "/dev/null")
    #expect(PodSandbox.rewriteParent("/hostname", parents: parents) == "/hostname")
  }

  /// A program standing for an image: Python's HTTP server on the port given, at the address
  /// EdgeSim names as the pod's own, serving the container's working directory.
  static func webServer(_ dir: URL) throws -> String {
    try KubeletTests.writeScript(dir, body: #"exec /usr/bin/python3 -m http.server "$1" --bind "$EDGEML_POD_NETWORK_ADDRESS""#)
  }

  @Test("An image EdgeSim knows runs its program at any tag; readiness gates Ready both ways; a failing liveness probe restarts the container")
  func probes() async throws {
    let bin = FileManager.default.temporaryDirectory.appendingPathComponent("edgesim-web-\(UUID().uuidString.prefix(6))")
    defer { try? FileManager.default.removeItem(at: bin) }
    let server = try Self.webServer(bin)
    try await SimHarness.run(fleet: "orin-nx-16gb=1", configure: { config in
      config.executables["web-server"] = server
      config.images["example.com/web"] = ContainerImage(entrypoint: ["web-server"], cmd: ["8080"])
    }) { h in
      // Two pods of the same port: each listens on its own pod IP, as in its own network namespace.
      for name in ["gated", "unhealthy"] {
        let liveness: JSONValue = name == "unhealthy"
          ? ["httpGet": ["path": "/missing", "port": "http"], "periodSeconds": 1, "failureThreshold": 2] : .null
        var container: JSONValue = ["name": "web", "image": "example.com/web:7", "workingDir": "/data",
                                    "ports": [["name": "http", "containerPort": 8080]],
                                    "readinessProbe": ["httpGet": ["path": "/flag", "port": "http"], "periodSeconds": 1, "failureThreshold": 1],
                                    "volumeMounts": [["name": "data", "mountPath": "/data"]]]
        if liveness != .null { container["livenessProbe"] = liveness }
        // Python's HTTP server installs no SIGTERM handler, so, like a real container's PID 1 without
        // one, it stops only at SIGKILL after the grace period: a short one, as such a pod would set.
        try h.api.create(Paths.pods("default"), SimHarness.pod(name, spec: ["volumes": [["name": "data", "emptyDir": [:]]], "containers": [container],
                                                                           "terminationGracePeriodSeconds": 1]))
      }
      func pod(_ name: String) -> JSONValue? { h.api.get(Keys.pods, namespace: "default", name: name) }
      func status(_ name: String) -> JSONValue? { pod(name)?[path: ["status", "containerStatuses"]]?.arrayValue?.first }

      // Running, its server answering at the pod IP, but not Ready while /flag is missing.
      let running = try await h.eventually(20, "gated serving") { () -> JSONValue? in
        guard let p = pod("gated"), let ip = p[path: ["status", "podIP"]]?.stringValue, !ip.isEmpty,
              (try? httpGet(host: ip, port: 8080, path: "/"))?.0 == 200 else { return nil }
        return p
      }
      #expect(!running.isPodReady && status("gated")?["ready"]?.boolValue == false)
      let flag = h.root.appendingPathComponent("pods/\(running.uid)/volumes/data/flag")
      try Data("ok".utf8).write(to: flag)
      _ = try await h.eventually(20, "gated Ready") { pod("gated").flatMap { $0.isPodReady ? $0 : JSONValue?.none } }
      try FileManager.default.removeItem(at: flag)
      _ = try await h.eventually(20, "gated not Ready again") { pod("gated").flatMap { $0.isPodReady ? JSONValue?.none : $0 } }
      #expect(status("gated")?["restartCount"]?.intValue == 0)

      let restarted = try await h.eventually(30, "liveness restart") { () -> JSONValue? in
        guard let s = status("unhealthy"), (s["restartCount"]?.intValue ?? 0) >= 1 else { return nil }
        return s
      }
      #expect(restarted[path: ["lastState", "terminated"]] != nil)
      let messages = h.api.list("/events", namespace: "default")
        .filter { $0[path: ["involvedObject", "name"]]?.stringValue == "unhealthy" }.compactMap { $0["message"]?.stringValue }
      #expect(messages.contains("Container web failed liveness probe, will be restarted"))
      #expect(messages.contains("Liveness probe failed: HTTP probe failed with statuscode: 404"))
    }
  }

  @Test("A node's host files are behind its hostPath volumes, a directory above mounts reads through them, and a missing File fails the mount")
  func hostFiles() async throws {
    let tree = FileManager.default.temporaryDirectory.appendingPathComponent("edgesim-tree-\(UUID().uuidString.prefix(6))")
    defer { try? FileManager.default.removeItem(at: tree) }
    try FileManager.default.createDirectory(at: tree.appendingPathComponent("proc/device-tree"), withIntermediateDirectories: true)
    try Data("NVIDIA Jetson Orin NX Engineering Reference Developer Kit".utf8).write(to: tree.appendingPathComponent("proc/device-tree/model"))
    let reader = try KubeletTests.writeScript(tree.deletingLastPathComponent().appendingPathComponent("bin-\(UUID().uuidString.prefix(6))"),
                                              body: #"cat "$1/proc/device-tree/model" > "$2""#)
    let kind = try #require(NodeKind.named("orin-nx-16gb"))
    try await SimHarness.run(fleet: "orin-nx-16gb=1", configure: { $0.hostFileSystems[kind.fixture] = tree }) { h in
      try h.api.create(Paths.pods("default"), SimHarness.pod("facts", spec: [
        "restartPolicy": "Never",
        "volumes": [["name": "device-tree", "hostPath": ["path": "/proc/device-tree", "type": "Directory"]]],
        "containers": [["name": "read", "image": "x", "command": .string(reader).asArray, "args": ["/host", "/dev/termination-log"],
                        "volumeMounts": [["name": "device-tree", "mountPath": "/host/proc/device-tree", "readOnly": true]]]],
      ]))
      let done = try await h.eventually(20, "facts read") { h.api.get(Keys.pods, namespace: "default", name: "facts").flatMap { $0.phase == "Succeeded" ? $0 : JSONValue?.none } }
      let terminated = done[path: ["status", "containerStatuses"]]?.arrayValue?.first?[path: ["state", "terminated"]]
      #expect(terminated?["message"]?.stringValue == "NVIDIA Jetson Orin NX Engineering Reference Developer Kit", "\(done["status"] ?? .null)")

      try h.api.create(Paths.pods("default"), SimHarness.pod("no-file", spec: [
        "volumes": [["name": "release", "hostPath": ["path": "/etc/nv_tegra_release", "type": "File"]]],
        "containers": [["name": "c", "image": "x", "volumeMounts": [["name": "release", "mountPath": "/etc/nv_tegra_release"]]]],
      ]))
      let message = try await h.eventually(20, "FailedMount") {
        h.api.list("/events", namespace: "default").first { $0["reason"] == "FailedMount" && $0[path: ["involvedObject", "name"]] == "no-file" }?["message"]?.stringValue
      }
      #expect(message == "MountVolume.SetUp failed: hostPath type check failed: /etc/nv_tegra_release is not a file")
    }
  }
}
