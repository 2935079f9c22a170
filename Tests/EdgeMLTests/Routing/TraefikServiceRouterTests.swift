import Foundation
import KubeClient
import KubeCore
import Testing
@testable import EdgeML

/// A user's TraefikService: the stable Service and a legacy one of theirs, with sticky sessions.
let userTraefikService = """
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: detector
  annotations: {team.example/owner: vision}
spec:
  weighted:
    services:
    - {name: detector, port: 8000, weight: 1}
    - {name: detector-legacy, port: 8000, weight: 1}
    sticky:
      cookie: {name: lvl, secure: true}
"""

@Suite("Traefik TraefikService router")
struct TraefikServiceRouterTests {
  @Test("weights go 0, 10, 50, 100 and back on abort; the user's other services and fields survive every step; remembered, a step is one patch",
        arguments: [false, true])
  func canaryStepsAndAbort(remembering: Bool) async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.traefik)
    defer { Task { await cluster.stop() } }
    let created = try await cluster.create(.traefikServices, userTraefikService)
    let (client, verbs) = try cluster.recordingClient()
    defer { client.shutdown() }
    let router = TraefikServiceRouter(traefikService: "detector", memory: remembering ? RouterObjectMemory() : nil)
    for weight in [0, 10, 50, 100] {
      #expect(try await router.setWeights(route(weight), client: client).written)
      #expect(verbs.take() == (remembering && weight > 0 ? ["PATCH 200"] : ["GET 200", "PUT 200"]))
      let stored = try await cluster.get(.traefikServices, "detector")
      let services = stored[path: ["spec", "weighted", "services"]]
      #expect(weights(services) == ["detector": 100 - weight, "detector-candidate": weight, "detector-legacy": 1])
      #expect(services?.arrayValue?.map { $0["name"]?.stringValue ?? "" } == ["detector", "detector-candidate", "detector-legacy"])
      #expect(services?.arrayValue?[1]["port"] == 8000)
      #expect(stored[path: ["spec", "weighted", "sticky"]] == created[path: ["spec", "weighted", "sticky"]])
      #expect(stored[path: ["metadata", "annotations"]] == created[path: ["metadata", "annotations"]])
      #expect(try await router.setWeights(route(weight), client: client).written == false)
      #expect(verbs.take() == ["GET 200"])   // nothing to change: read, in case the cluster differs
    }
    #expect(try await router.reset(route(100), client: client).written)
    #expect(try await cluster.get(.traefikServices, "detector")["spec"] == created["spec"])
  }

  @Test("a concurrent edit of the TraefikService is retried on its new version, not lost")
  func concurrentEdit() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.traefik)
    defer { Task { await cluster.stop() } }
    try await cluster.create(.traefikServices, userTraefikService)
    let client = cluster.client
    var router = TraefikServiceRouter(traefikService: "detector")
    router.editor.beforeWrite = { attempt in
      guard attempt == 0 else { return }
      _ = try await client.patch(.traefikServices, namespace: "default", name: "detector",
                                 ["spec": ["weighted": ["sticky": ["cookie": ["name": "session", "secure": true]]]]], type: .merge)
    }
    _ = try await router.setWeights(route(30), client: client)
    let stored = try await cluster.get(.traefikServices, "detector")
    #expect(stored[path: ["spec", "weighted", "sticky", "cookie", "name"]] == "session")
    #expect(weights(stored[path: ["spec", "weighted", "services"]]) == ["detector": 70, "detector-candidate": 30, "detector-legacy": 1])
  }

  @Test("no CRD, no TraefikService, no stable entry and an A/B match each give a typed error")
  func typedErrors() async throws {
    let bare = try await RouterCluster.start(crds: [])
    defer { Task { await bare.stop() } }
    let router = TraefikServiceRouter(traefikService: "detector")
    await #expect(throws: TrafficRouterError.resourceNotInstalled(kind: "TraefikService", apiVersion: "traefik.io/v1alpha1")) {
      try await router.setWeights(route(10), client: bare.client)
    }
    let cluster = try await RouterCluster.start(crds: RouterCluster.traefik)
    defer { Task { await cluster.stop() } }
    await #expect(throws: TrafficRouterError.objectNotFound(kind: "TraefikService", namespace: "default", name: "detector")) {
      try await router.setWeights(route(10), client: cluster.client)
    }
    try await cluster.create(.traefikServices, userTraefikService.replacingOccurrences(of: "{name: detector, port", with: "{name: other, port"))
    await #expect(throws: TrafficRouterError.stableServiceNotReferenced(kind: "TraefikService", namespace: "default", name: "detector",
                                                                         service: "detector")) {
      try await router.setWeights(route(10), client: cluster.client)
    }
    await #expect(throws: TrafficRouterError.matchNotSupported(router: .traefik)) {
      try await router.setWeights(route(10, match: .header(name: "x-cohort", value: "b")), client: cluster.client)
    }
  }
}
