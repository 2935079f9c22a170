import Foundation
import KubeCore
import Testing
import YAML
@testable import EdgeSim

/// A model `detector` on a simulated cluster, as a rollout leaves it: stable pods (version 3,
/// `edgeml.io/track: stable`), candidate pods (version 4, `edgeml.io/track: candidate`), the stable
/// Service `detector` (every pod of the model), `detector-stable` and `detector-candidate`, with the
/// client traffic on a manual clock.
struct TrafficFixture {
  let h: SimHarness
  /// Pod name → pod IP, for the serving pods.
  let ips: [String: String]
  let metricsPort = 18002

  static let stable = ["detector-stable-0", "detector-stable-1"]
  static let candidate = ["detector-candidate-0"]

  /// Runs `body` on a fresh fixture; `summaries` turns on Triton's latency summaries in every pod.
  static func run(traffic: TrafficConfiguration, summaries: Bool = false, crds: [String] = [],
                  _ body: (TrafficFixture) async throws -> Void) async throws {
    try await SimHarness.run(fleet: "agx-orin-64gb=2,orin-nx-16gb=1", metrics: true, traffic: traffic) { h in
      for file in crds { try await installCRD(h, file) }
      let script = try KubeletTests.writeScript(h.root.appendingPathComponent("bin"),
                                                body: "mkdir -p \"$1/detector/$2\" && echo plan > \"$1/detector/$2/model.plan\"")
      for name in stable { try h.api.create(Paths.pods("default"), servingPod(name, track: "stable", version: 3, script: script, summaries: summaries)) }
      for name in candidate { try h.api.create(Paths.pods("default"), servingPod(name, track: "candidate", version: 4, script: script, summaries: summaries)) }
      try h.api.create("/api/v1/namespaces/default/services", service("detector", selector: ["edgeml.io/model": "detector"]))
      try h.api.create("/api/v1/namespaces/default/services", service("detector-stable", selector: ["edgeml.io/model": "detector", "edgeml.io/track": "stable"]))
      try h.api.create("/api/v1/namespaces/default/services", service("detector-candidate", selector: ["edgeml.io/model": "detector", "edgeml.io/track": "candidate"]))
      let ips = try await h.eventually(30, "serving pods Ready") { () -> [String: String]? in
        var out: [String: String] = [:]
        for name in stable + candidate {
          guard let pod = h.api.get(Keys.pods, namespace: "default", name: name), pod.isPodReady,
                let ip = pod[path: ["status", "podIP"]]?.stringValue else { return nil }
          out[name] = ip
        }
        return out
      }
      try await body(TrafficFixture(h: h, ips: ips))
    }
  }

  static func servingPod(_ name: String, track: String, version: Int, script: String, summaries: Bool) -> JSONValue {
    var args: [JSONValue] = ["tritonserver", "--model-repository=/models"]
    if summaries { args += ["--metrics-config", "summary_latencies=true"] }
    var pod = SimHarness.pod(name, spec: [
      "volumes": [["name": "models", "emptyDir": [:]]],
      "initContainers": [["name": "engine", "image": "edgeml", "command": [.string(script)], "args": ["/models", .string(String(version))],
                          "volumeMounts": [["name": "models", "mountPath": "/models"]]]],
      "containers": [["name": "triton", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu", "args": .array(args),
                      "ports": [["name": "http", "containerPort": 18000], ["name": "metrics", "containerPort": 18002]],
                      "volumeMounts": [["name": "models", "mountPath": "/models"]]]],
    ])
    pod[path: ["metadata", "labels"]] = ["edgeml.io/model": "detector", "edgeml.io/track": .string(track)]
    return pod
  }

  static func service(_ name: String, selector: [String: String]) -> JSONValue {
    var sel = JSONObject()
    for (k, v) in selector.sorted(by: { $0.key < $1.key }) { sel[k] = .string(v) }
    return ["apiVersion": "v1", "kind": "Service", "metadata": ["name": .string(name), "namespace": "default"],
            "spec": ["selector": .object(sel), "ports": [["name": "http", "port": 8000, "targetPort": 18000]]]]
  }

  /// Installs a CRD of Tests/Fixtures/crds/ and waits until its resource is served.
  static func installCRD(_ h: SimHarness, _ file: String) async throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let text = try String(contentsOf: root.appendingPathComponent("Tests/Fixtures/crds/" + file), encoding: .utf8)
    let crd = try #require(try YAML.parseDocuments(text).first { $0 != .null })
    try h.api.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
  }

  /// Creates `object` at `path`, retrying while its CRD is not served yet.
  func create(_ path: String, _ object: JSONValue) async throws {
    _ = try await h.eventually(10, "create \(path)") { () -> Bool? in (try? h.api.create(path, object)) != nil ? true : nil }
  }

  /// Each serving pod's metrics, scraped over HTTP from its pod IP and parsed.
  func scrape() throws -> [String: PrometheusText] {
    var out: [String: PrometheusText] = [:]
    for (name, ip) in ips {
      let (code, text) = try httpGet(host: ip, port: metricsPort, path: "/metrics")
      #expect(code == 200)
      out[name] = try PrometheusText(text)
    }
    return out
  }

  /// Moves the clients `seconds` on, scrapes every pod, checks that each of the `requests` due
  /// reached a stable or candidate pod, and returns the candidate's share of them.
  func candidateShare(afterSeconds seconds: Double, requests: Double) throws -> Double {
    let before = try scrape()
    h.sim.advanceTraffic(seconds: seconds)
    let after = try scrape()
    let all = Self.stable + Self.candidate
    #expect(Self.successes(after, all) - Self.successes(before, all) == requests)
    return (Self.successes(after, Self.candidate) - Self.successes(before, Self.candidate)) / requests
  }

  /// Successful requests summed over `pods`.
  static func successes(_ metrics: [String: PrometheusText], _ pods: [String]) -> Double {
    pods.reduce(0) { $0 + (metrics[$1]?.sum("nv_inference_request_success") ?? 0) }
  }

  static func failures(_ metrics: [String: PrometheusText], _ pods: [String]) -> Double {
    pods.reduce(0) { $0 + (metrics[$1]?.sum("nv_inference_request_failure") ?? 0) }
  }
}
