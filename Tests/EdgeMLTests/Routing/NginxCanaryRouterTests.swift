import Foundation
import KubeClient
import KubeCore
import Testing
import YAML
@testable import EdgeML

/// A user's Ingress: the stable Service on one path of one host, other backends elsewhere.
let userIngress = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: detector
  annotations:
    nginx.ingress.kubernetes.io/proxy-body-size: 16m
    team.example/owner: vision
spec:
  ingressClassName: nginx
  tls: [{hosts: [detector.edge.example], secretName: detector-tls}]
  rules:
  - host: detector.edge.example
    http:
      paths:
      - {path: /v2/models/detector, pathType: Prefix, backend: {service: {name: detector, port: {number: 8000}}}}
      - {path: /metrics, pathType: Prefix, backend: {service: {name: metrics-proxy, port: {number: 9090}}}}
  - host: other.edge.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: other, port: {number: 80}}}}
"""

let canaryAnnotation = "nginx.ingress.kubernetes.io/canary"

@Suite("NGINX canary Ingress router")
struct NginxCanaryRouterTests {
  @Test("a canary Ingress owned by the Rollout carries the weight and header; the user's Ingress is never modified")
  func canaryIngress() async throws {
    let cluster = try await RouterCluster.start(crds: [])
    defer { Task { await cluster.stop() } }
    let created = try await cluster.create(.ingresses, userIngress)
    let owner = try await cluster.create(.configMaps, "{apiVersion: v1, kind: ConfigMap, metadata: {name: detector-v4}}")
    let ownerRef = OwnerReference(apiVersion: "v1", kind: "ConfigMap", name: "detector-v4",
                                  uid: owner[path: ["metadata", "uid"]]?.stringValue ?? "", controller: true)
    let router = NginxCanaryRouter(ingress: "detector")
    for weight in [0, 10, 50, 100] {
      let match: RouteMatch? = weight == 10 ? .header(name: "x-cohort", value: "b") : nil
      #expect(try await router.setWeights(route(weight, match: match, owners: [ownerRef]), client: cluster.client).written)
      let canary = try await cluster.get(.ingresses, "detector-edgeml-canary")
      let annotations = canary[path: ["metadata", "annotations"]]
      #expect(annotations?[canaryAnnotation] == "true")
      #expect(annotations?[canaryAnnotation + "-weight"] == .string(String(weight)))
      #expect(annotations?[canaryAnnotation + "-by-header"] == (match == nil ? nil : "x-cohort"))
      #expect(annotations?[canaryAnnotation + "-by-header-value"] == (match == nil ? nil : "b"))
      #expect(canary[path: ["spec", "ingressClassName"]] == "nginx")
      #expect(canary[path: ["spec", "rules"]] == [["host": "detector.edge.example", "http": ["paths": [
        ["path": "/v2/models/detector", "pathType": "Prefix", "backend": ["service": ["name": "detector-candidate", "port": ["number": 8000]]]],
      ]]]])
      #expect(canary[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"] == owner[path: ["metadata", "uid"]])
      #expect(try await router.setWeights(route(weight, match: match, owners: [ownerRef]), client: cluster.client).written == false)
      #expect(try await cluster.get(.ingresses, "detector") == created)
    }
    #expect(try await router.reset(route(100), client: cluster.client).written)
    await #expect(throws: KubeAPIError.self) { try await cluster.get(.ingresses, "detector-edgeml-canary") }
    #expect(try await router.reset(route(0), client: cluster.client).written == false)
    #expect(try await cluster.get(.ingresses, "detector") == created)
  }

  @Test("a cookie match becomes canary-by-cookie")
  func cookie() throws {
    let stable = try #require(try YAML.parseDocuments(userIngress).first)
    let canary = try NginxCanaryRouter.canary(of: stable, route: route(0, match: .cookie(name: "edgeml-canary")), ingress: "detector",
                                              name: "detector-edgeml-canary")
    #expect(canary[path: ["metadata", "annotations", canaryAnnotation + "-by-cookie"]] == "edgeml-canary")
    #expect(canary[path: ["metadata", "annotations", canaryAnnotation + "-by-header"]] == nil)
  }

  @Test("a missing Ingress, or one that never sends to the stable Service, says what to fix")
  func typedErrors() async throws {
    let cluster = try await RouterCluster.start(crds: [])
    defer { Task { await cluster.stop() } }
    let router = NginxCanaryRouter(ingress: "detector")
    await #expect(throws: TrafficRouterError.objectNotFound(kind: "Ingress", namespace: "default", name: "detector")) {
      try await router.setWeights(route(10), client: cluster.client)
    }
    try await cluster.create(.ingresses, userIngress.replacingOccurrences(of: "{name: detector, port", with: "{name: nope, port"))
    await #expect(throws: TrafficRouterError.stableServiceNotReferenced(kind: "Ingress", namespace: "default", name: "detector",
                                                                         service: "detector")) {
      try await router.setWeights(route(10), client: cluster.client)
    }
  }
}
