import KubeClient
import Testing
@testable import EdgeML

struct SplitCase: Sendable, CustomTestStringConvertible {
  var weight: Int, replicas: Int, stable: Int, candidate: Int, actual: Int
  var testDescription: String { "\(weight)% of \(replicas)" }
}

@Suite("Replica-ratio router")
struct ReplicaRatioRouterTests {
  @Test("whole pods carry the weight as nearly as they can, and the report says the share they really give", arguments: [
    SplitCase(weight: 0, replicas: 10, stable: 10, candidate: 0, actual: 0),
    SplitCase(weight: 10, replicas: 10, stable: 9, candidate: 1, actual: 10),
    SplitCase(weight: 50, replicas: 10, stable: 5, candidate: 5, actual: 50),
    SplitCase(weight: 100, replicas: 10, stable: 0, candidate: 10, actual: 100),
    SplitCase(weight: 10, replicas: 4, stable: 3, candidate: 1, actual: 25),
    SplitCase(weight: 10, replicas: 1, stable: 1, candidate: 1, actual: 50),
    SplitCase(weight: 95, replicas: 10, stable: 1, candidate: 10, actual: 91),
  ])
  func split(_ c: SplitCase) {
    let split = ReplicaSplit(candidateWeight: c.weight, replicas: c.replicas)
    #expect(split.stable == c.stable && split.candidate == c.candidate)
    #expect(split.candidateWeight == c.actual)
  }

  @Test("the factory picks the router the Rollout names, replica ratio when it names none")
  func factory() throws {
    #expect(makeTrafficRouter(for: nil, replicas: 3) is ReplicaRatioRouter)
    var routing = TrafficRouting()
    routing.gatewayAPI = GatewayAPIRouting(httpRoute: "detector")
    #expect((makeTrafficRouter(for: routing, replicas: 3) as? HTTPRouteRouter)?.httpRoute == "detector")
    routing = TrafficRouting()
    routing.traefik = TraefikRouting(traefikService: "detector")
    #expect(makeTrafficRouter(for: routing, replicas: 3) is TraefikServiceRouter)
    routing = TrafficRouting()
    routing.nginx = NginxRouting(ingress: "detector")
    #expect((makeTrafficRouter(for: routing, replicas: 3) as? NginxCanaryRouter)?.canaryName == "detector-edgeml-canary")
  }
}
