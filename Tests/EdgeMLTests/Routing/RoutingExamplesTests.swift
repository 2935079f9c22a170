import Foundation
import KubeClient
import KubeCore
import Testing
@testable import EdgeML

struct RoutingExample: Sendable, CustomTestStringConvertible {
  var file: String
  var crds: [String]
  var testDescription: String { file }
}

/// The resource of each kind the examples hold.
let exampleResources: [String: GroupVersionResource] = [
  "HTTPRoute": .httpRoutes, "TraefikService": .traefikServices, "Ingress": .ingresses,
  "IngressRoute": GroupVersionResource(group: "traefik.io", version: "v1alpha1", resource: "ingressroutes", namespaced: true),
  "Rollout": GroupVersionResource(group: "edgeml.io", version: "v1alpha1", resource: "rollouts", namespaced: true),
]

@Test("each traffic-routing example applies with the real CRDs, and its Rollout's router moves traffic through it and back", arguments: [
  RoutingExample(file: "gateway-api.yaml", crds: RouterCluster.gatewayAPI),
  RoutingExample(file: "traefik.yaml", crds: RouterCluster.traefik + ["traefik-v3/traefik.io_ingressroutes.yaml"]),
  RoutingExample(file: "nginx.yaml", crds: []),
])
func routingExample(_ example: RoutingExample) async throws {
  let cluster = try await RouterCluster.start(crds: example.crds)
  defer { Task { await cluster.stop() } }
  let rolloutCRD = try #require(try loadYAML("crds/rollouts.edgeml.io.yaml").first)
  _ = try await cluster.client.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
                                                          namespaced: false), rolloutCRD)
  var routing: TrafficRouting?
  for document in try loadYAML("examples/traffic-routing/\(example.file)") where document != .null {
    let kind = try #require(document["kind"]?.stringValue)
    let created = try await cluster.client.create(try #require(exampleResources[kind]), namespace: "default", document)
    if kind == "Rollout" { routing = try Rollout(json: created).spec.trafficRouting }
  }
  let router = makeTrafficRouter(for: try #require(routing), replicas: 2)
  let match: RouteMatch? = router is TraefikServiceRouter ? nil : .header(name: "x-cohort", value: "b")
  #expect(try await router.setWeights(route(10, match: match), client: cluster.client).written)
  #expect(try await router.setWeights(route(100), client: cluster.client).written)
  #expect(try await router.reset(route(100), client: cluster.client).written)
}
