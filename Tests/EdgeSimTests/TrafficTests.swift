import Foundation
import KubeCore
import Testing
@testable import EdgeSim

/// Simulated inference traffic, per variant, read as a scraper would: over HTTP from each serving
/// pod's Triton metrics port, parsed as Prometheus text.
///
/// Every test runs the clients on the manual clock under a fixed seed, so its counters are exact and
/// the same on every run; the tolerances below are for the statistics (a share of N requests has a
/// standard deviation of √(p(1−p)/N): 0.0027 for p = 0.1, N = 12,000), not for timing.
@Suite("Inference traffic")
struct TrafficTests {
  static let crdTraefik = "traefik-v3/traefik.io_traefikservices.yaml"
  static let crdHTTPRoute = "gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml"

  static func load(_ rps: Double = 200, headers: [HeaderShare] = [], entry: EntryPoint = .automatic) -> TrafficConfiguration {
    TrafficConfiguration(seed: 42, clock: .manual,
                         loads: [ModelLoad(model: "detector", requestsPerSecond: rps, headers: headers, entryPoint: entry)])
  }

  static let traefikServices = "/apis/traefik.io/v1alpha1/namespaces/default/traefikservices"

  /// The TraefikService `detector-split`: `stable` and `detector-candidate` by the given weights.
  static func split(stable: String, _ stableWeight: Int, _ candidateWeight: Int) -> JSONValue {
    ["apiVersion": "traefik.io/v1alpha1", "kind": "TraefikService", "metadata": ["name": "detector-split", "namespace": "default"],
     "spec": ["weighted": ["services": [["name": .string(stable), "port": 8000, "weight": JSONValue(stableWeight)],
                                        ["name": "detector-candidate", "port": 8000, "weight": JSONValue(candidateWeight)]]]]]
  }

  @Test("A TraefikService weighted 90/10 sends a tenth of the requests to the candidate; every request is counted once")
  func traefikWeights() async throws {
    try await TrafficFixture.run(traffic: Self.load(), crds: [Self.crdTraefik]) { f in
      try await f.create(Self.traefikServices, Self.split(stable: "detector-stable", 90, 10))
      f.h.sim.advanceTraffic(seconds: 60)
      let m = try f.scrape()
      let stable = TrafficFixture.successes(m, TrafficFixture.stable), candidate = TrafficFixture.successes(m, TrafficFixture.candidate)
      #expect(stable + candidate == 12_000)
      #expect(abs(candidate / 12_000 - 0.10) < 0.015, "candidate share \(candidate / 12_000)")
      // The two stable pods share the stable Service's part equally.
      let s0 = m["detector-stable-0"]!.sum("nv_inference_request_success"), s1 = m["detector-stable-1"]!.sum("nv_inference_request_success")
      #expect(abs(s0 - s1) / stable < 0.05)
      #expect(f.h.sim.undeliveredRequests(model: "detector") == 0)
      // Candidate pods count under their own version; the counters agree with each other.
      let c = try #require(m["detector-candidate-0"])
      let labels = ["model": "detector", "version": "4"]
      #expect(c.value("nv_inference_count", labels) == candidate)
      #expect(c.value("nv_inference_exec_count", labels) == candidate)
      #expect((c.value("nv_inference_request_duration_us", labels) ?? 0) > (c.value("nv_inference_queue_duration_us", labels) ?? 0))
      #expect(c.value("nv_inference_request_failure", ["model": "detector", "reason": "BACKEND", "version": "4"]) == 0)
      // The weights move: 50/50 from now on.
      _ = try f.h.api.mergePatch(Self.traefikServices + "/detector-split", Self.split(stable: "detector-stable", 50, 50))
      let later = try f.candidateShare(afterSeconds: 60, requests: 12_000)
      #expect(abs(later - 0.5) < 0.02, "candidate share after the change \(later)")
    }
  }

  @Test("A weighted router whose stable backend is the all-pods stable Service also sends candidate pods part of the stable share, as a real proxy would")
  func stableServiceSelectsCandidates() async throws {
    try await TrafficFixture.run(traffic: Self.load(), crds: [Self.crdTraefik]) { f in
      try await f.create(Self.traefikServices, Self.split(stable: "detector", 90, 10))
      // 10 % directly, plus a third of the 90 % the stable Service spreads over two stable pods and one candidate.
      let share = try f.candidateShare(afterSeconds: 60, requests: 12_000)
      #expect(abs(share - 0.40) < 0.02, "candidate share \(share)")
    }
  }

  @Test("An HTTPRoute header match sends the requests carrying the header to the candidate, the rest by weight")
  func httpRouteHeaderMatch() async throws {
    let cohort = HeaderShare(name: "x-cohort", value: "b", fraction: 0.3)
    try await TrafficFixture.run(traffic: Self.load(headers: [cohort]), crds: [Self.crdHTTPRoute]) { f in
      try await f.create("/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes", [
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": ["name": "detector", "namespace": "default"],
        "spec": ["parentRefs": [["name": "edge-gateway"]], "rules": [
          ["matches": [["headers": [["name": "X-Cohort", "value": "b"]]]], "backendRefs": [["name": "detector-candidate", "port": 8000]]],
          ["backendRefs": [["name": "detector-stable", "port": 8000, "weight": 100], ["name": "detector-candidate", "port": 8000, "weight": 0]]],
        ]],
      ])
      let share = try f.candidateShare(afterSeconds: 60, requests: 12_000)
      #expect(abs(share - 0.3) < 0.02, "candidate share \(share)")
    }
  }

  @Test("An NGINX canary Ingress: the header value always reaches the candidate, other requests by canary-weight")
  func nginxCanary() async throws {
    let cohort = HeaderShare(name: "x-canary", value: "yes", fraction: 0.25)
    try await TrafficFixture.run(traffic: Self.load(headers: [cohort])) { f in
      func ingress(_ name: String, service: String, annotations: JSONValue = [:]) -> JSONValue {
        ["apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": ["name": .string(name), "namespace": "default", "annotations": annotations],
         "spec": ["ingressClassName": "nginx", "rules": [["host": "detector.edge", "http": ["paths": [
           ["path": "/", "pathType": "Prefix", "backend": ["service": ["name": .string(service), "port": ["number": 8000]]]]]]]]]]
      }
      try await f.create("/apis/networking.k8s.io/v1/namespaces/default/ingresses", ingress("detector", service: "detector-stable"))
      try await f.create("/apis/networking.k8s.io/v1/namespaces/default/ingresses", ingress("detector-canary", service: "detector-candidate", annotations: [
        "nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "20",
        "nginx.ingress.kubernetes.io/canary-by-header": "x-canary", "nginx.ingress.kubernetes.io/canary-by-header-value": "yes"]))
      // 25 % by header, plus 20 % of the other 75 %.
      let share = try f.candidateShare(afterSeconds: 60, requests: 12_000)
      #expect(abs(share - 0.40) < 0.02, "candidate share \(share)")
    }
  }

  @Test("With only the stable Service, ready endpoints share equally (replica ratio); a pod that serves nothing gets nothing")
  func replicaRatio() async throws {
    try await TrafficFixture.run(traffic: Self.load(300)) { f in
      // A Ready pod the stable Service selects that is not a Triton server: not an endpoint of the model, no metrics port.
      try f.h.api.create(Paths.pods("default"), {
        var p = SimHarness.pod("sidecar", spec: ["containers": [["name": "app", "image": "nginx:1.27"]]])
        p[path: ["metadata", "labels"]] = ["edgeml.io/model": "detector"]
        return p
      }())
      let sidecar = try await f.h.eventually(20, "sidecar Ready") {
        f.h.api.get(Keys.pods, namespace: "default", name: "sidecar").flatMap { $0.isPodReady ? $0[path: ["status", "podIP"]]?.stringValue : nil }
      }
      f.h.sim.advanceTraffic(seconds: 60)
      let m = try f.scrape()
      let all = TrafficFixture.stable + TrafficFixture.candidate
      #expect(TrafficFixture.successes(m, all) == 18_000)
      for pod in all {
        let share = (m[pod]?.sum("nv_inference_request_success") ?? 0) / 18_000
        #expect(abs(share - 1.0 / 3) < 0.02, "\(pod) share \(share)")
      }
      #expect(throws: (any Error).self) { try httpGet(host: sidecar, port: f.metricsPort, path: "/metrics") }
    }
  }

  @Test("A bad candidate shows its configured p99 latency and error rate; the stable pods stay healthy")
  func badCandidate() async throws {
    var traffic = Self.load(400, entry: .service("detector"))
    traffic.behaviours = [VariantBehaviour(podLabels: ["edgeml.io/track": "candidate"],
                                           latency: LatencyDistribution(medianMilliseconds: 30, p99Milliseconds: 80), errorRate: 0.05),
                          VariantBehaviour(version: "3", latency: LatencyDistribution(medianMilliseconds: 10, p99Milliseconds: 20))]
    try await TrafficFixture.run(traffic: traffic, summaries: true) { f in
      f.h.sim.advanceTraffic(seconds: 60)
      let m = try f.scrape()
      let c = try #require(m["detector-candidate-0"])
      let v4 = ["model": "detector", "version": "4"]
      let success = try #require(c.value("nv_inference_request_success", v4))
      let failure = try #require(c.value("nv_inference_request_failure", ["model": "detector", "reason": "BACKEND", "version": "4"]))
      #expect(c.value("nv_inference_request_failure", ["model": "detector", "reason": "OTHER", "version": "4"]) == 0)
      #expect(abs(failure / (success + failure) - 0.05) < 0.01, "error rate \(failure / (success + failure))")
      #expect(c.types["nv_inference_request_summary_us"] == "summary")
      let p99 = try #require(c.value("nv_inference_request_summary_us", v4.merging(["quantile": "0.99"]) { a, _ in a }))
      let p50 = try #require(c.value("nv_inference_request_summary_us", v4.merging(["quantile": "0.5"]) { a, _ in a }))
      #expect(abs(p99 - 80_000) / 80_000 < 0.1, "candidate p99 \(p99) µs")
      #expect(abs(p50 - 30_000) / 30_000 < 0.05, "candidate p50 \(p50) µs")
      #expect(c.value("nv_inference_request_summary_us_count", v4) == success)
      #expect(c.value("nv_inference_request_summary_us_sum", v4) == c.value("nv_inference_request_duration_us", v4))
      for q in ["0.5", "0.9", "0.95", "0.99", "0.999"] {
        #expect(c.value("nv_inference_queue_summary_us", v4.merging(["quantile": q]) { a, _ in a }) != nil)
      }
      for pod in TrafficFixture.stable {
        let s = try #require(m[pod])
        let v3 = ["model": "detector", "version": "3"]
        #expect(s.sum("nv_inference_request_failure") == 0)
        let p99 = try #require(s.value("nv_inference_request_summary_us", v3.merging(["quantile": "0.99"]) { a, _ in a }))
        #expect(abs(p99 - 20_000) / 20_000 < 0.1, "\(pod) p99 \(p99) µs")
      }
    }
  }

  @Test("Metrics are exact Prometheus text: summary lines as Triton prints them, and nothing without summaries turned on")
  func exposition() async throws {
    try await TrafficFixture.run(traffic: Self.load(10, entry: .service("detector-candidate"))) { f in
      f.h.sim.advanceTraffic(seconds: 1)
      let ip = try #require(f.ips["detector-candidate-0"])
      let text = try httpGet(host: ip, port: f.metricsPort, path: "/metrics").1
      let lines = text.split(separator: "\n").map(String.init)
      #expect(lines.contains("nv_inference_request_success{model=\"detector\",version=\"4\"} 10"))
      #expect(lines.contains("nv_inference_request_failure{model=\"detector\",reason=\"BACKEND\",version=\"4\"} 0"))
      #expect(lines.contains("# TYPE nv_inference_request_duration_us counter"))
      #expect(!text.contains("_summary_us"))
      #expect(!text.contains("nv_gpu_"))
      _ = try PrometheusText(text)
    }
  }
}
