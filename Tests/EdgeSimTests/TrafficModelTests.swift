import Foundation
import KubeCore
import Testing
@testable import EdgeSim

/// The pure parts of the traffic model: draws, latency distribution, routing rules, spec parsing.
@Suite("Inference traffic model")
struct TrafficModelTests {
  @Test("A log-normal latency has the configured median and p99 over many draws")
  func latencyQuantiles() {
    let d = LatencyDistribution(medianMilliseconds: 30, p99Milliseconds: 80)
    let samples = (0..<200_000).map { i -> Double in
      let r = RequestDraws(seed: 9, stream: 1, index: i)
      return d.microseconds(r.uniform(4), r.uniform(5))
    }.sorted()
    #expect(abs(samples[100_000] - 30_000) / 30_000 < 0.01)
    #expect(abs(samples[198_000] - 80_000) / 80_000 < 0.02)
  }

  @Test("A request's draws depend only on the seed, the stream and its index")
  func drawsAreDeterministic() {
    let a = RequestDraws(seed: 1, stream: RequestDraws.stream("load/default/detector"), index: 17)
    let b = RequestDraws(seed: 1, stream: RequestDraws.stream("load/default/detector"), index: 17)
    let c = RequestDraws(seed: 2, stream: RequestDraws.stream("load/default/detector"), index: 17)
    #expect((0..<6).map(a.uniform) == (0..<6).map(b.uniform))
    #expect((0..<6).map(a.uniform) != (0..<6).map(c.uniform))
    #expect((0..<6).allSatisfy { (0..<1).contains(a.uniform($0)) })
  }

  @Test("HTTPRoute rules: the match with more header matches wins, weights default to 1, queries never match")
  func httpRouteRules() {
    let load = ModelLoad(model: "detector", requestsPerSecond: 1, headers: [HeaderShare(name: "x-cohort", value: "b", fraction: 0.5),
                                                                           HeaderShare(name: "x-cohort", value: "c", fraction: 0.1)])
    let route: JSONValue = ["spec": ["rules": [
      ["backendRefs": [["name": "stable", "weight": 9], ["name": "candidate"]]],
      ["matches": [["path": ["type": "PathPrefix", "value": "/v2/models"], "headers": [["name": "x-cohort", "value": "b"]]]],
       "backendRefs": [["name": "candidate"]]],
      ["matches": [["queryParams": [["name": "c", "value": "1"]]]], "backendRefs": [["name": "other"]]],
    ]]]
    let t = RouteTable.httpRoute(route, load: load)
    #expect(t.plain == [WeightedService(name: "stable", weight: 9), WeightedService(name: "candidate", weight: 1)])
    #expect(t.byHeader[0] == [WeightedService(name: "candidate", weight: 1)])
    #expect(t.byHeader[1] == t.plain)
  }

  @Test("NGINX canary: always and never, a header value, and the weight out of canary-weight-total")
  func nginxRules() throws {
    let load = ModelLoad(model: "detector", requestsPerSecond: 1, headers: [HeaderShare(name: "X-Canary", value: "always", fraction: 0.1),
                                                                           HeaderShare(name: "x-canary", value: "never", fraction: 0.1),
                                                                           HeaderShare(name: "x-canary", value: "maybe", fraction: 0.1)])
    let canary: JSONValue = ["metadata": ["annotations": ["nginx.ingress.kubernetes.io/canary": "true",
                                                          "nginx.ingress.kubernetes.io/canary-by-header": "x-canary",
                                                          "nginx.ingress.kubernetes.io/canary-weight": "30",
                                                          "nginx.ingress.kubernetes.io/canary-weight-total": "60"]],
                             "spec": ["defaultBackend": ["service": ["name": "candidate"]]]]
    let t = try #require(RouteTable.nginx(primary: nil, canary: canary, fallback: "detector", load: load))
    let weighted = [WeightedService(name: "detector", weight: 30), WeightedService(name: "candidate", weight: 30)]
    #expect(t.plain == weighted)
    #expect(t.byHeader == [[WeightedService(name: "candidate", weight: 1)], [WeightedService(name: "detector", weight: 1)], weighted])
  }

  @Test("edgeml sim's --traffic and --variant-behaviour specs", arguments: [
    ("model=detector,rps=200", true), ("model=detector,rps=200,header=x-cohort:b:0.5,entry=traefikservice/split", true),
    ("model=detector", false), ("model=detector,rps=-1", false), ("model=detector,rps=1,header=x:y", false),
    ("model=detector,rps=1,header=x:a:0.6,header=x:b:0.6", false), ("model=detector,rps=1,entry=gateway/x", false),
  ])
  func loadSpecs(_ text: String, _ valid: Bool) {
    #expect(((try? ModelLoad(parsing: text)) != nil) == valid)
  }

  @Test("A variant behaviour spec sets the median, p99, error rate and matching labels")
  func behaviourSpec() throws {
    let b = try VariantBehaviour(parsing: "version=4,label=edgeml.io/track=candidate,latencyMs=30,p99Ms=80,errorRate=0.05")
    #expect(b.version == "4" && b.podLabels == ["edgeml.io/track": "candidate"] && b.errorRate == 0.05)
    #expect(b.latency == LatencyDistribution(medianMilliseconds: 30, p99Milliseconds: 80))
    #expect(b.matches(model: "detector", version: "4", labels: ["edgeml.io/track": "candidate"]))
    #expect(!b.matches(model: "detector", version: "3", labels: ["edgeml.io/track": "candidate"]))
    #expect(throws: EdgeSimError.self) { try VariantBehaviour(parsing: "version=4,errorRate=2,latencyMs=1") }
    #expect(throws: EdgeSimError.self) { try VariantBehaviour(parsing: "latencyMs=30,p99Ms=10") }
  }

  @Test("Triton's summary quantiles are printed as Triton prints them")
  func quantileFormat() {
    #expect([0.5, 0.9, 0.95, 0.99, 0.999].map(TritonMetricsText.format) == ["0.5", "0.9", "0.95", "0.99", "0.999"])
  }
}
