import Foundation
import KubeCore
import KubeEmulator
import Testing
@testable import EdgeSim

/// The traffic engine on an API server without kubelets: three pods marked Ready by hand behind the
/// stable Service, and endpoints that are never bound to a socket.
@Suite("Inference traffic engine")
struct TrafficEngineTests {
  static func cluster() throws -> ClusterAPI {
    let api = ClusterAPI(server: APIServer(documents: sharedDocuments), component: "test")
    for (name, track) in [("pod-0", "stable"), ("pod-1", "stable"), ("pod-2", "candidate")] {
      var pod = SimHarness.pod(name, spec: ["containers": [["name": "triton", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"]]])
      pod[path: ["metadata", "labels"]] = ["edgeml.io/model": "detector", "edgeml.io/track": .string(track)]
      try api.create(Paths.pods("default"), pod)
      try api.mergePatch(Paths.pod("default", name) + "/status", ["status": ["conditions": [["type": "Ready", "status": "True"]]]])
    }
    try api.create("/api/v1/namespaces/default/services", TrafficFixture.service("detector", selector: ["edgeml.io/model": "detector"]))
    return api
  }

  /// The three pods' metrics after advancing the manual clock by each of `steps` in turn.
  static func run(_ api: ClusterAPI, seed: UInt64, steps: [Double]) -> [String] {
    let traffic = TrafficConfiguration(seed: seed, clock: .manual, loads: [ModelLoad(model: "detector", requestsPerSecond: 150)],
                                       behaviours: [VariantBehaviour(version: "4", latency: LatencyDistribution(medianMilliseconds: 30, p99Milliseconds: 80),
                                                                     errorRate: 0.1)])
    let engine = TrafficEngine(configuration: traffic, api: api, speed: 1, backgroundRequestsPerSecond: 0)
    let endpoints = (0..<3).map { i in
      let version = i == 2 ? "4" : "3"
      let e = TritonEndpoint(pod: ObjectKey("default", "pod-\(i)"), models: { [TritonModel(name: "detector", version: version)] },
                             latencyMilliseconds: 10, summaryQuantiles: [0.5, 0.99], traffic: engine)
      e.setReady(true)
      return e
    }
    for s in steps { engine.advanceManualClock(by: s) }
    return endpoints.map { $0.metricsText() }
  }

  @Test("The same seed gives the same counters to the digit, however the simulated time is cut into scrapes")
  func deterministic() throws {
    let api = try Self.cluster()
    let once = Self.run(api, seed: 3, steps: [60])
    #expect(once == Self.run(api, seed: 3, steps: [60]))
    #expect(once == Self.run(api, seed: 3, steps: [10, 20.5, 29.5]))
    #expect(once != Self.run(api, seed: 4, steps: [60]))
    let parsed = try once.map { try PrometheusText($0) }
    #expect(parsed.reduce(0) { $0 + $1.sum("nv_inference_request_success") + $1.sum("nv_inference_request_failure") } == 9_000)
  }
}
