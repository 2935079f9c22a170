import Foundation
import KubeClient
import KubeCore
import Testing
import YAML
@testable import EdgeML

/// A user's HTTPRoute: a rule to the stable Service with a filter of theirs, and an unrelated rule.
let userHTTPRoute = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: detector
  annotations: {team.example/owner: vision}
  labels: {app: detector}
spec:
  parentRefs: [{name: edge-gateway}]
  hostnames: [detector.edge.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /v2/models/detector}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: x-served-by, value: edgeml}]}
    backendRefs: [{name: detector, port: 8000}]
  - matches: [{path: {type: PathPrefix, value: /metrics}}]
    backendRefs: [{name: metrics-proxy, port: 9090, weight: 3}]
"""

@Suite("Gateway API HTTPRoute router")
struct HTTPRouteRouterTests {
  @Test("weights go 0, 10, 50, 100 and back on abort, and the user's rules, fields and annotations survive every step",
        arguments: [false, true])
  func canaryStepsAndAbort(remembering: Bool) async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    let created = try await cluster.create(.httpRoutes, userHTTPRoute)
    let memory = remembering ? RouterObjectMemory() : nil
    let router = HTTPRouteRouter(httpRoute: "detector", memory: memory)
    let (client, verbs) = try cluster.recordingClient()
    defer { client.shutdown() }
    for weight in [0, 10, 50, 100] {
      let report = try await router.setWeights(route(weight), client: client)
      #expect(report.written)
      #expect(verbs.take() == (remembering && weight > 0 ? ["PATCH 200"] : ["GET 200", "PUT 200"]))
      let stored = try await cluster.get(.httpRoutes, "detector")
      let rules = try #require(stored[path: ["spec", "rules"]]?.arrayValue)
      #expect(rules.count == 2)
      #expect(weights(rules[0]["backendRefs"]) == ["detector": 100 - weight, "detector-candidate": weight])
      // The candidate is a copy of the stable backendRef: same port, kind and group.
      #expect(rules[0]["backendRefs"]?.arrayValue?.last?["port"] == 8000)
      #expect(rules[0]["filters"] == created[path: ["spec", "rules"]]?.arrayValue?[0]["filters"])
      #expect(rules[1] == created[path: ["spec", "rules"]]?.arrayValue?[1])
      #expect(stored[path: ["spec", "hostnames"]] == created[path: ["spec", "hostnames"]])
      #expect(stored[path: ["spec", "parentRefs"]] == created[path: ["spec", "parentRefs"]])
      #expect(stored[path: ["metadata", "annotations"]] == created[path: ["metadata", "annotations"]])
      #expect(stored[path: ["metadata", "labels"]] == created[path: ["metadata", "labels"]])
      // The same weights again write nothing: steady state costs no API writes.
      #expect(try await router.setWeights(route(weight), client: client).written == false)
      #expect(verbs.take() == ["GET 200"])
    }
    let reset = try await router.reset(route(100), client: client)
    #expect(reset.written && reset.candidateWeight == 0)
    let after = try await cluster.get(.httpRoutes, "detector")
    #expect(after["spec"] == created["spec"])   // value for value what the user wrote, weight 1 included
    #expect(try await router.reset(route(0), client: cluster.client).written == false)
    #expect(memory?.count ?? 0 == 0)   // a finished rollout's route is not remembered
  }

  @Test("with a memory, a step is one JSON Patch past a gateway's status write; a user's edit of the rules since is read and kept")
  func stepOverRememberedRules() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    let created = try await cluster.create(.httpRoutes, userHTTPRoute)
    let (client, verbs) = try cluster.recordingClient()
    defer { client.shutdown() }
    let router = HTTPRouteRouter(httpRoute: "detector", memory: RouterObjectMemory())

    _ = try await router.setWeights(route(0), client: client)
    #expect(verbs.take() == ["GET 200", "PUT 200"])
    // The gateway controller reports the route accepted: a new resourceVersion, the same rules.
    _ = try await cluster.client.patch(.httpRoutes, namespace: "default", name: "detector", gatewayStatus, type: .merge, subresource: "status")
    #expect(try await router.setWeights(route(10), client: client).written)
    #expect(verbs.take() == ["PATCH 200"])
    var stored = try await cluster.get(.httpRoutes, "detector")
    #expect(weights(stored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 90, "detector-candidate": 10])
    #expect(stored[path: ["status", "parents"]]?.arrayValue?.count == 1)
    let ours = stored[path: ["metadata", "managedFields"]]?.arrayValue?.filter { $0["manager"] == .string(TrafficRouting.fieldManager) }
    #expect(ours?.map { $0["operation"] } == ["Update"])

    // The user adds a rule since: the patch's test fails, the route is read again, their rule stays.
    var edited = stored
    let health: JSONValue = ["matches": [["path": ["type": "PathPrefix", "value": "/healthz"]]], "backendRefs": [["name": "health", "port": 8080]]]
    edited[path: ["spec", "rules"]] = .array((edited[path: ["spec", "rules"]]?.arrayValue ?? []) + [health])
    _ = try await cluster.client.update(.httpRoutes, namespace: "default", edited)
    #expect(try await router.setWeights(route(50), client: client).written)
    #expect(verbs.take() == ["PATCH 422", "GET 200", "PUT 200"])
    stored = try await cluster.get(.httpRoutes, "detector")
    #expect(stored[path: ["spec", "rules"]]?.arrayValue?.count == 3)
    #expect(weights(stored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 50, "detector-candidate": 50])

    // A pass that changes nothing in what is remembered still reads: a user's revert is put right.
    edited = stored
    edited[path: ["spec", "rules"]] = .array((created[path: ["spec", "rules"]]?.arrayValue ?? []) + [health])   // our weights gone
    _ = try await cluster.client.update(.httpRoutes, namespace: "default", edited)
    #expect(try await router.setWeights(route(50), client: client).written)
    #expect(verbs.take() == ["GET 200", "PUT 200"])
    stored = try await cluster.get(.httpRoutes, "detector")
    #expect(weights(stored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 50, "detector-candidate": 50])
    #expect(stored[path: ["spec", "rules"]]?.arrayValue?.count == 3)
  }

  @Test("with a memory, rules the CRD refuses are the server's error, not retried by a read; a route deleted since says what to fix")
  func rememberedRouteRefusedOrGone() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    // Nine rules to the stable Service: an A/B match adds one rule per such rule, and the CRD
    // allows 16 (`spec.rules` maxItems).
    let rules = (0..<9).map { i in "  - matches: [{path: {type: PathPrefix, value: /r\(i)}}]\n    backendRefs: [{name: detector, port: 8000}]" }
    try await cluster.create(.httpRoutes, "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: detector}\nspec:\n  rules:\n"
                                          + rules.joined(separator: "\n"))
    let (client, verbs) = try cluster.recordingClient()
    defer { client.shutdown() }
    let memory = RouterObjectMemory()
    let router = HTTPRouteRouter(httpRoute: "detector", memory: memory)
    _ = try await router.setWeights(route(0), client: client)
    #expect(verbs.take() == ["GET 200", "PUT 200"])
    do {
      _ = try await router.setWeights(route(10, match: .header(name: "x-cohort", value: "b")), client: client)
      Issue.record("18 rules were accepted")
    } catch let error as KubeAPIError {
      #expect(error.code == 422 && error.status[path: ["details", "kind"]] == "HTTPRoute")
    }
    #expect(verbs.take() == ["PATCH 422"])   // a read would make the same 18 rules
    let stored = try await cluster.get(.httpRoutes, "detector")
    #expect(stored[path: ["spec", "rules"]]?.arrayValue?.count == 9)
    #expect(weights(stored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 100, "detector-candidate": 0])

    // The route is deleted while remembered: the step's patch finds nothing, and says so.
    try await cluster.client.delete(.httpRoutes, namespace: "default", name: "detector")
    await #expect(throws: TrafficRouterError.objectNotFound(kind: "HTTPRoute", namespace: "default", name: "detector")) {
      _ = try await router.setWeights(route(20), client: client)
    }
    #expect(verbs.take() == ["PATCH 404"])
    #expect(memory.count == 0)
  }

  @Test("an A/B header match adds one named rule to the candidate, accepted by the CRD's CEL rules, removed when the match goes")
  func headerMatch() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    let created = try await cluster.create(.httpRoutes, userHTTPRoute)
    let router = HTTPRouteRouter(httpRoute: "detector")
    _ = try await router.setWeights(route(0, match: .header(name: "x-cohort", value: "b")), client: cluster.client)
    var rules = try #require(try await cluster.get(.httpRoutes, "detector")[path: ["spec", "rules"]]?.arrayValue)
    #expect(rules.count == 3)
    let ab = rules[2]
    #expect(ab["name"] == "edgeml-detector-v4-ab-0")
    #expect(weights(ab["backendRefs"]) == ["detector-candidate": 1])
    let match = try #require(ab["matches"]?.arrayValue?.first)
    #expect(match["path"] == created[path: ["spec", "rules"]]?.arrayValue?[0]["matches"]?.arrayValue?[0]["path"])
    #expect(match["headers"] == [["name": "x-cohort", "type": "Exact", "value": "b"]])
    #expect(ab["filters"] == rules[0]["filters"])
    #expect(weights(rules[0]["backendRefs"]) == ["detector": 100, "detector-candidate": 0])
    #expect(try await router.setWeights(route(0, match: .header(name: "x-cohort", value: "b")), client: cluster.client).written == false)

    // A cookie match is a regular expression on the Cookie header.
    _ = try await router.setWeights(route(20, match: .cookie(name: "edgeml-canary")), client: cluster.client)
    rules = try #require(try await cluster.get(.httpRoutes, "detector")[path: ["spec", "rules"]]?.arrayValue)
    #expect(rules.count == 3)
    #expect(rules[2]["matches"]?.arrayValue?.first?["headers"]?.arrayValue?.first?["type"] == "RegularExpression")

    _ = try await router.setWeights(route(50), client: cluster.client)
    rules = try #require(try await cluster.get(.httpRoutes, "detector")[path: ["spec", "rules"]]?.arrayValue)
    #expect(rules.count == 2)
    #expect(weights(rules[0]["backendRefs"]) == ["detector": 50, "detector-candidate": 50])
    _ = try await router.reset(route(0), client: cluster.client)
    #expect(try await cluster.get(.httpRoutes, "detector")["spec"] == created["spec"])
  }

  @Test("a user's edit between our read and our write is retried on its new version, not lost")
  func concurrentEdit() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    try await cluster.create(.httpRoutes, userHTTPRoute)
    let calls = CallCounter()
    let client = cluster.client
    var router = HTTPRouteRouter(httpRoute: "detector")
    router.editor.beforeWrite = { attempt in
      _ = await calls.next()
      guard attempt == 0 else { return }
      // The user adds a hostname and an annotation after we read: our write must 409 and redo.
      _ = try await client.patch(.httpRoutes, namespace: "default", name: "detector",
                                 ["metadata": ["annotations": ["team.example/reviewed": "yes"]],
                                  "spec": ["hostnames": ["detector.edge.example", "detector.site-b.example"]]], type: .merge)
    }
    let report = try await router.setWeights(route(10), client: client)
    #expect(report.written)
    #expect(await calls.count == 2)
    let stored = try await cluster.get(.httpRoutes, "detector")
    #expect(stored[path: ["spec", "hostnames"]] == ["detector.edge.example", "detector.site-b.example"])
    #expect(stored[path: ["metadata", "annotations", "team.example/reviewed"]] == "yes")
    #expect(weights(stored[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 90, "detector-candidate": 10])
    #expect(stored[path: ["metadata", "managedFields"]]?.arrayValue?.contains { $0["manager"] == .string(TrafficRouting.fieldManager) } == true)
  }

  @Test("a user's server-side apply during a rollout conflicts instead of silently moving traffic back, and after reset applies cleanly")
  func userApplyDoesNotFight() async throws {
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    let manifest = try #require(try YAML.parseDocuments(userHTTPRoute).first)
    // What `kubectl apply --server-side` sends: an apply patch as the field manager "kubectl".
    let userApply = { @Sendable () async throws -> JSONValue in
      try await cluster.client.patch(.httpRoutes, namespace: "default", name: "detector", manifest,
                                     type: .apply(fieldManager: "kubectl", force: false))
    }
    let created = try await userApply()
    let router = HTTPRouteRouter(httpRoute: "detector")
    _ = try await router.setWeights(route(10), client: cluster.client)
    do {
      _ = try await userApply()
      Issue.record("the user's apply silently took the rules back")
    } catch let error as KubeAPIError {
      #expect(error.code == 409)
      #expect(error.message.contains("edgeml-rollout-router") && error.message.contains(".spec.rules"))
    }
    let during = try await cluster.get(.httpRoutes, "detector")
    #expect(weights(during[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 90, "detector-candidate": 10])
    _ = try await router.reset(route(10), client: cluster.client)
    let after = try await userApply()
    #expect(after["spec"] == created["spec"])
    #expect(after[path: ["metadata", "managedFields"]]?.arrayValue?.contains { $0["manager"] == "edgeml-rollout-router" } == false)
    #expect(try await router.reset(route(10), client: cluster.client).written == false)
  }

  @Test("a missing HTTPRoute, a missing CRD and a route without the stable Service each say what to fix")
  func typedErrors() async throws {
    let bare = try await RouterCluster.start(crds: [])
    defer { Task { await bare.stop() } }
    let router = HTTPRouteRouter(httpRoute: "detector")
    await #expect(throws: TrafficRouterError.resourceNotInstalled(kind: "HTTPRoute", apiVersion: "gateway.networking.k8s.io/v1")) {
      try await router.setWeights(route(10), client: bare.client)
    }
    let cluster = try await RouterCluster.start(crds: RouterCluster.gatewayAPI)
    defer { Task { await cluster.stop() } }
    do {
      _ = try await router.setWeights(route(10), client: cluster.client)
      Issue.record("a missing HTTPRoute was not reported")
    } catch let error as TrafficRouterError {
      #expect(error == .objectNotFound(kind: "HTTPRoute", namespace: "default", name: "detector"))
      #expect(error.description == "HTTPRoute default/detector not found: create it, or use trafficRouting.replicaRatio")
    }
    try await cluster.create(.httpRoutes, userHTTPRoute.replacingOccurrences(of: "{name: detector, port: 8000}", with: "{name: other, port: 8000}"))
    await #expect(throws: TrafficRouterError.stableServiceNotReferenced(kind: "HTTPRoute", namespace: "default", name: "detector",
                                                                         service: "detector")) {
      try await router.setWeights(route(10), client: cluster.client)
    }
    await #expect(throws: TrafficRouterError.invalidWeight(101)) { try await router.setWeights(route(101), client: cluster.client) }
    // Nothing routes through a missing route, so resetting it is done, not an error.
    #expect(try await HTTPRouteRouter(httpRoute: "gone").reset(route(10), client: cluster.client).written == false)
    #expect(try await router.reset(route(10), client: bare.client).written == false)
  }

  @Test("a stable backend's own weight is kept: the pair shares it and reset restores it")
  func originalWeightKept() throws {
    let observed: JSONValue = ["spec": ["rules": [["backendRefs": [["name": "detector", "port": 8000, "weight": 3]]]]]]
    let shifted = try HTTPRouteRouter.routing(observed, route: route(10), httpRoute: "detector", reset: false)
    #expect(weights(shifted[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 270, "detector-candidate": 30])
    let again = try HTTPRouteRouter.routing(shifted, route: route(60), httpRoute: "detector", reset: false)
    #expect(weights(again[path: ["spec", "rules"]]?.arrayValue?[0]["backendRefs"]) == ["detector": 120, "detector-candidate": 180])
    #expect(try HTTPRouteRouter.routing(again, route: route(0), httpRoute: "detector", reset: true) == observed)
  }
}
