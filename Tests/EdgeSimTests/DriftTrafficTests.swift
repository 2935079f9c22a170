import DriftStatistics
import Foundation
import KubeCore
import Testing
@testable import EdgeSim

/// Serving pods with the `drift-agent` sidecar, run as the real `edgeml drift-agent` process at the
/// pod IP; the simulated clients post each request's feature values to it; drift is commanded from
/// Swift and through the `edgeml-sim-drift` ConfigMap.
@Suite("Drift traffic")
struct DriftTrafficTests {
  /// `.build/debug`, where `swift build` put the `edgeml` the sidecar runs.
  static let productsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/debug")

  static func servingPod(_ name: String, node: String, script: String) -> JSONValue {
    var pod = SimHarness.pod(name, spec: [
      "nodeName": .string(node),
      "volumes": [["name": "models", "emptyDir": [:]]],
      "initContainers": [["name": "engine", "image": "edgeml", "command": [.string(script)], "args": ["/models", "3"],
                          "volumeMounts": [["name": "models", "mountPath": "/models"]]]],
      "containers": [
        ["name": "triton", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu", "args": ["tritonserver", "--model-repository=/models"],
         "ports": [["name": "metrics", "containerPort": 18002]], "volumeMounts": [["name": "models", "mountPath": "/models"]]],
        // The sidecar exactly as the contract describes it (docs/drift-agent.md), with 1 s windows so
        // the test can read what came before and after the shift apart.
        ["name": "drift-agent", "image": "ghcr.io/edgeml/edgeml:0.1.0",
         "command": ["edgeml", "drift-agent", "--port", "9470", "--host", "$(POD_IP)",
                     "--feature", "brightness:numerical", "--feature", "label:categorical", "--window", "1s"],
         "env": [["name": "POD_IP", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]],
                 ["name": "POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]]],
         "ports": [["name": "drift", "containerPort": 9470]],
         "readinessProbe": ["httpGet": ["path": "/healthz", "port": "drift"], "periodSeconds": 1]],
      ],
    ])
    pod[path: ["metadata", "labels"]] = ["edgeml.io/model": "detector"]
    return pod
  }

  /// The agent's report over `[since, until)`, fetched from the pod IP.
  static func report(_ ip: String, since: Double, until: Double) throws -> DriftSummaryReport {
    let (code, body) = try httpGet(host: ip, port: 9470, path: "/v1/summaries?since=\(Int(since))&until=\(Int(until))")
    guard code == 200 else { throw HarnessError.timedOut("summaries \(code): \(body)") }
    return try JSONDecoder().decode(DriftSummaryReport.self, from: Data(body.utf8))
  }

  static func median(_ report: DriftSummaryReport) throws -> Double {
    guard case .numerical(let sketch)? = try report.summaries()["brightness"], let m = sketch.quantile(0.5) else {
      throw HarnessError.timedOut("no brightness sketch")
    }
    return m
  }

  /// Waits until each agent holds the 2,000 observations of 100 simulated seconds since `since`.
  static func waitForObservations(_ h: SimHarness, _ ips: [String], since: Double) async throws {
    _ = try await h.eventually(30, "2,000 observations at each agent") { () -> Bool? in
      ips.allSatisfy { ip in (try? report(ip, since: since, until: since + 3600))?.features["brightness"]?.count == 2_000 } ? true : nil
    }
  }

  /// Waits until the wall clock passes a whole second and returns it: windows are 1 s long.
  static func nextSecond() async throws -> Double {
    let boundary = (Date().timeIntervalSince1970 + 1).rounded(.down)
    while Date().timeIntervalSince1970 < boundary { try await Task.sleep(for: .milliseconds(20)) }
    return boundary
  }

  @Test("Feature values reach each pod's drift agent; a shift on one node label moves that node's summary by about the shift and leaves the other node's alone; a ConfigMap command changes category weights")
  func driftOnCommand() async throws {
    let edgeml = Self.productsDirectory.appendingPathComponent("edgeml").path
    try #require(FileManager.default.isExecutableFile(atPath: edgeml), "build edgeml first (swift build)")
    let h = try await SimHarness.start(fleet: "orin-nx-16gb=1,agx-orin-64gb=1", metrics: true,
                                       executables: EdgeSim.Configuration.defaultExecutables(binDirectory: Self.productsDirectory),
                                       traffic: TrafficConfiguration(seed: 3, clock: .manual))
    do {
      try await run(h)
    } catch {
      await h.stop()
      throw error
    }
    await h.stop()
  }

  private func run(_ h: SimHarness) async throws {
    _ = try h.api.mergePatch("/api/v1/nodes/orin-nx-16gb-0", ["metadata": ["labels": ["site": "a"]]])
    _ = try h.api.mergePatch("/api/v1/nodes/agx-orin-64gb-0", ["metadata": ["labels": ["site": "b"]]])
    let script = try KubeletTests.writeScript(h.root.appendingPathComponent("bin"),
                                              body: "mkdir -p \"$1/detector/$2\" && echo plan > \"$1/detector/$2/model.plan\"")
    try h.api.create(Paths.pods("default"), Self.servingPod("detector-a", node: "orin-nx-16gb-0", script: script))
    try h.api.create(Paths.pods("default"), Self.servingPod("detector-b", node: "agx-orin-64gb-0", script: script))
    // Ready means the drift agent's probe answered at the pod IP.
    let ips = try await h.eventually(60, "pods Ready with their drift agents") { () -> [String: String]? in
      var out: [String: String] = [:]
      for name in ["detector-a", "detector-b"] {
        guard let pod = h.api.get(Keys.pods, namespace: "default", name: name), pod.isPodReady,
              let ip = pod[path: ["status", "podIP"]]?.stringValue else { return nil }
        out[name] = ip
      }
      return out
    }
    let a = try #require(ips["detector-a"]), b = try #require(ips["detector-b"])

    // Before: 100 simulated seconds of the background load (20 requests/s to each pod).
    let t0 = try await Self.nextSecond()
    h.sim.advanceTraffic(seconds: 100)
    try await Self.waitForObservations(h, [a, b], since: t0)
    let beforeA = try Self.median(Self.report(a, since: t0, until: t0 + 3600))
    let beforeB = try Self.median(Self.report(b, since: t0, until: t0 + 3600))
    #expect(abs(beforeA - 0.5) < 0.02 && abs(beforeB - 0.5) < 0.02, "medians before: \(beforeA), \(beforeB)")
    #expect(try Self.report(a, since: t0, until: t0 + 3600).source == "detector-a")

    // The shift: brightness +0.3 on site=a (Swift); label all "car" on site=b (the ConfigMap).
    try h.sim.shiftDrift(FeatureDrift(model: "detector", feature: "brightness", nodeSelector: ["site": "a"], shift: 0.3))
    let command = FeatureDrift(model: "detector", feature: "label", nodeSelector: ["site": "b"], categories: [CategoryWeight("car", 1)])
    try h.api.create("/api/v1/namespaces/kube-system/configmaps", [
      "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "edgeml-sim-drift", "namespace": "kube-system"],
      "data": .object(JSONObject([(command.configMapKey, .string(command.configMapValue))])),
    ])
    _ = try await h.eventually(10, "the ConfigMap's drift followed") { h.sim.commandedDrifts == [command] ? true : nil }
    let t1 = try await Self.nextSecond()
    h.sim.advanceTraffic(seconds: 100)
    try await Self.waitForObservations(h, [a, b], since: t1)
    let afterA = try Self.median(Self.report(a, since: t1, until: t1 + 3600))
    let afterB = try Self.median(Self.report(b, since: t1, until: t1 + 3600))
    #expect(abs(afterA - beforeA - 0.3) < 0.03, "site=a median moved from \(beforeA) to \(afterA)")
    #expect(abs(afterB - beforeB) < 0.03, "site=b median moved from \(beforeB) to \(afterB)")
    let labelsA = try Self.report(a, since: t1, until: t1 + 3600).features["label"]?.counts ?? [:]
    let labelsB = try Self.report(b, since: t1, until: t1 + 3600).features["label"]?.counts ?? [:]
    #expect(labelsB == ["car": 2_000], "site=b labels: \(labelsB)")
    #expect(labelsA.count == 4 && labelsA["car"] == nil, "site=a labels: \(labelsA)")
  }

  @Test("The same seed sends the same feature values; the drift moves only the matching pods' values", arguments: [UInt64(1), 99])
  func featureValuesAreDeterministic(_ seed: UInt64) {
    let draws = RequestDraws(seed: seed, stream: RequestDraws.stream("background/default/p/detector"), index: 17)
    let distribution = FeatureDistribution(model: "detector", feature: "brightness", mean: 0.5, standardDeviation: 0.1)
    let slot = FeatureSampler.slot("brightness")
    let plain = FeatureSampler.number(distribution, drift: nil, draws: draws, slot: slot)
    #expect(plain == FeatureSampler.number(distribution, drift: nil, draws: draws, slot: slot))
    let drift = FeatureDrift(model: "detector", feature: "brightness", nodeSelector: ["site": "a"], shift: 0.5, scale: 2)
    let moved = FeatureSampler.number(distribution, drift: drift, draws: draws, slot: slot)
    // Same draw: the shifted value is the plain one's z-score at twice the spread, plus the shift.
    #expect(abs(moved - (0.5 + 0.5 + 2 * (plain - 0.5))) < 1e-12)
    #expect(drift.matches(namespace: "default", model: "detector", feature: "brightness", nodeLabels: ["site": "a", "zone": "1"]))
    #expect(!drift.matches(namespace: "default", model: "detector", feature: "brightness", nodeLabels: ["site": "b"]))
  }

  @Test("A drift command's ConfigMap form reads back as the same drift; bad entries are refused naming the key", arguments: [
    (#"{"model": "detector"}"#, "feature"),
    (#"{"model": "detector", "feature": "b", "scale": 0}"#, "scale"),
    (#"{"model": "detector", "feature": "b", "categories": {"car": -1}}"#, "weights"),
    ("not json", "not JSON"),
  ])
  func configMapForm(_ bad: String, _ named: String) throws {
    let drift = FeatureDrift(namespace: "vision", model: "detector", feature: "label", nodeSelector: ["site": "a"],
                             shift: 0, scale: 1, categories: [CategoryWeight("car", 0.7), CategoryWeight("bus", 0.3)])
    #expect(try FeatureDrift(configMapKey: drift.configMapKey, value: drift.configMapValue) == drift)
    #expect(throws: EdgeSimError.self) { try FeatureDrift(configMapKey: "k", value: bad) }
    do { _ = try FeatureDrift(configMapKey: "k", value: bad) } catch { #expect("\(error)".contains(named), "\(error)") }
  }
}
