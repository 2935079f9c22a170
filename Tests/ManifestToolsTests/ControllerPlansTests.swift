import EdgeML
import Foundation
import KubeClient
import KubeCore
import Testing
import YAML
@testable import ManifestTools

/// `edgeml diff` for Rollouts and DriftPolicies offline, and against a cluster (a fake reader).
@Suite("edgeml diff: Rollouts, DriftPolicies and live clusters")
struct ControllerPlansTests {
  static func example(_ path: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent(path), encoding: .utf8)
  }

  /// The offline plans of a manifest, its other groups' objects (an HTTPRoute) included.
  static func plans(_ text: String, nodes: [JSONValue] = [ManifestDiffTests.node("orin-a", module: "orin-nx-16gb")]) throws -> [ResourcePlan] {
    let (documents, _) = ManifestReader.parse(text, file: "m.yaml")
    let (findings, stored) = try ManifestValidator(crds: sharedValidatorCRDs).validateKeepingObjects(documents)
    #expect(findings.allSatisfy { $0.verdict != .invalid && $0.verdict != .badInput }, "\(findings)")
    return try ManifestDiff.plans(objects: stored + ManifestDiff.otherObjects(documents, namespace: "default"), nodes: nodes,
                                  builderImage: "builder:1", now: diffNow)
  }

  @Test("a canary through a Gateway API HTTPRoute starts at step 0 with the candidate backend beside the stable one at weight 0")
  func rolloutWithRoute() throws {
    let plans = try Self.plans(validModel + "---\n" + Self.example("examples/traffic-routing/gateway-api.yaml"))
    let rollout = try #require(plans.first { $0.kind == "Rollout" })
    #expect(rollout.status["phase"] == "Progressing")
    #expect(rollout.status["currentStep"]?.intValue == 0 && rollout.status["candidateWeight"]?.intValue == 0)
    #expect(rollout.notes.contains { $0.hasPrefix("EdgeModel detector as just created") })
    let route = try #require(rollout.objects.first { $0.kind == "HTTPRoute" })
    #expect(route.write == .editSpec)
    let refs = route.object?[path: ["spec", "rules"]]?.arrayValue?.first?["backendRefs"]?.arrayValue ?? []
    #expect(refs.map { $0["name"]?.stringValue ?? "" } == ["detector", "detector-candidate"])
    #expect(refs.map { $0["weight"]?.intValue ?? -1 } == [100, 0])
    let out = ManifestDiff.yaml(plans)
    #expect(out.contains("# Rollout default/detector-v4: first reconcile\n# phase after a first reconcile: Progressing\n"), "\(out)")
    let documents = try YAML.parseDocuments(out)
    #expect(documents.contains { $0["kind"] == "Rollout" && $0[path: ["status", "phase"]] == "Progressing" })
  }

  @Test("a Rollout whose EdgeModel is not in the input is planned as the controller plans a missing model: Degraded, and the note says so")
  func rolloutWithoutModel() throws {
    let text = try Self.example("examples/traffic-routing/gateway-api.yaml")
    let rollout = try #require(try Self.plans(text).first { $0.kind == "Rollout" })
    #expect(rollout.status["phase"] == "Degraded")
    #expect(rollout.status["message"]?.stringValue?.contains("EdgeModel detector not found") == true, "\(rollout.status)")
    #expect(rollout.notes.contains("EdgeModel detector is not in the input: planned as the controller would if it did not exist"))
    #expect(rollout.objects.isEmpty)
  }

  @Test("a Rollout whose HTTPRoute is not in the input pauses as the controller does when the router's object is missing")
  func rolloutWithoutRoute() throws {
    let text = try Self.example("examples/traffic-routing/gateway-api.yaml")
    let withoutRoute = text.components(separatedBy: "\n---\n").filter { !$0.contains("kind: HTTPRoute") }.joined(separator: "\n---\n")
    let rollout = try #require(try Self.plans(validModel + "---\n" + withoutRoute).first { $0.kind == "Rollout" })
    #expect(rollout.status["phase"] == "Paused")
    #expect(rollout.status[path: ["pause", "reason"]] == "RouterFailed")
    #expect(rollout.status["message"]?.stringValue?.contains("HTTPRoute default/detector not found") == true, "\(rollout.status)")
    #expect(rollout.notes.contains("HTTPRoute detector is not in the input: planned as the controller would if it did not exist"))
  }

  @Test("a DriftPolicy's first reconcile: not evaluated yet, no retraining, and the note says an evaluation would be due")
  func driftPolicy() throws {
    let policyText = try Self.example("examples/driftpolicy-ks-psi.yaml")
    let target = try #require(try ManifestDiffTests.stored(policyText).first { $0["kind"] == "DriftPolicy" }?[path: ["spec", "modelRef", "name"]]?.stringValue)
    let plans = try Self.plans(validModel.replacingOccurrences(of: "name: detector", with: "name: \(target)") + "---\n" + policyText)
    let policy = try #require(plans.first { $0.kind == "DriftPolicy" })
    let conditions = policy.status["conditions"]?.arrayValue ?? []
    let drifted = try #require(conditions.first { $0["type"] == "Drifted" })
    #expect(drifted["status"] == "Unknown" && drifted["reason"] == "NotEvaluated")
    #expect(conditions.first { $0["type"] == "RetrainingTriggered" }?["reason"] == "NoRetraining")
    #expect(policy.notes.contains { $0.hasPrefix("an evaluation is due") }, "\(policy.notes)")
    #expect(policy.objects.isEmpty)

    let alone = try #require(try Self.plans(policyText).first { $0.kind == "DriftPolicy" })
    #expect((alone.status["conditions"]?.arrayValue ?? []).first { $0["type"] == "Drifted" }?["reason"] == "ModelNotFound")
  }

  @Test("a federated DriftPolicy's plan holds the Flower server objects it runs")
  func federatedPolicy() throws {
    let text = try Self.example("examples/driftpolicy-federated.yaml")
    let policy = try #require(try Self.plans(text).first { $0.kind == "DriftPolicy" })
    let kinds = policy.objects.compactMap { $0.object?["kind"]?.stringValue }
    #expect(kinds.contains("Deployment"), "\(kinds)")
    #expect(policy.objects.allSatisfy { $0.write == .apply(fieldManager: EdgeModelPlanner.fieldManager) })
  }
}

/// A cluster held in memory: GETs and LISTs (equality label selectors) over fixed objects.
struct FakeCluster: ClusterReader {
  var objects: [(GroupVersionResource, JSONValue)]

  func get(_ resource: GroupVersionResource, namespace: String?, name: String) async throws -> JSONValue? {
    objects.first { $0.0 == resource && $0.1.metadataName == name && (namespace == nil || $0.1.namespaceOrDefault == namespace) }?.1
  }

  func list(_ resource: GroupVersionResource, namespace: String?, labelSelector: String?) async throws -> [JSONValue] {
    let pairs = (labelSelector ?? "").split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
    return objects.filter { r, o in
      r == resource && (namespace == nil || o.namespaceOrDefault == namespace)
        && pairs.allSatisfy { $0.count == 2 && o[path: ["metadata", "labels", $0[0]]]?.stringValue == $0[1] }
    }.map { $0.1 }
  }

  func jobOutput(_ job: String, namespace: String) async -> DriftPolicyPlanner.JobOutput? { nil }
}

@Suite("edgeml diff against a cluster")
struct LiveDiffTests {
  static let nodes = [ManifestDiffTests.node("orin-a", module: "orin-nx-16gb"), ManifestDiffTests.node("orin-b", module: "orin-nx-16gb")]

  static func model(replicas: Int) -> String {
    validModel.replacingOccurrences(of: "  serving:", with: "  placement:\n    replicas: \(replicas)\n  serving:")
  }

  /// A cluster where the operator reconciled `text`: the model with its status, the planned
  /// objects as the server stores them (its own fields added), and the nodes.
  static func reconciled(_ text: String) throws -> FakeCluster {
    var model = try #require(try ManifestDiffTests.stored(text).first)
    model[path: ["metadata", "uid"]] = "0f4c6e2a-uid"
    model[path: ["metadata", "generation"]] = 1
    model[path: ["metadata", "creationTimestamp"]] = "2025-12-31T00:00:00Z"
    let plan = ControllerPlans.edgeModel(.init(model: try EdgeModel(json: model), nodes: nodes, pods: []), builderImage: "builder:1", now: diffNow)
    model["status"] = plan.status
    var objects: [(GroupVersionResource, JSONValue)] = [(EdgeModel.resource, model)] + nodes.map { (.nodes, $0) }
    for planned in plan.objects {
      var stored = try #require(planned.object)
      stored[path: ["metadata", "resourceVersion"]] = "42"
      stored[path: ["metadata", "uid"]] = "a-server-given-uid"
      stored["status"] = ["observedGeneration": 1]
      objects.append((planned.resource, stored))
    }
    return FakeCluster(objects: objects)
  }

  @Test("a reconciled model shows no differences; a new replica count shows in the model's spec and the Deployment's replicas")
  func replicas() async throws {
    let cluster = try Self.reconciled(Self.model(replicas: 1))
    let same = try await LiveDiff(reader: cluster, builderImage: "builder:1", now: diffNow).run(manifests: try ManifestDiffTests.stored(Self.model(replicas: 1)))
    #expect(same.differing == 0, "\(same.diff)")
    #expect(same.compared == 4)   // the EdgeModel, its Deployment, PodDisruptionBudget and Service

    let edited = try await LiveDiff(reader: cluster, builderImage: "builder:1", now: diffNow)
      .run(manifests: try ManifestDiffTests.stored(Self.model(replicas: 2)))
    #expect(edited.differing >= 2, "\(edited.diff)")
    #expect(edited.diff.contains("diff -u -N live/edgeml.io.v1alpha1.EdgeModel.default.detector planned/edgeml.io.v1alpha1.EdgeModel.default.detector\n"))
    #expect(edited.diff.contains("\n-    replicas: 1\n+    replicas: 2\n"), "\(edited.diff)")
    #expect(edited.diff.contains("\n-  replicas: 1\n+  replicas: 2\n"), "\(edited.diff)")
    #expect(!edited.diff.contains("resourceVersion") && !edited.diff.contains("a-server-given-uid"))
  }

  @Test("a model not in the cluster is all additions")
  func absent() async throws {
    let cluster = FakeCluster(objects: Self.nodes.map { (.nodes, $0) })
    let result = try await LiveDiff(reader: cluster, builderImage: "builder:1", now: diffNow).run(manifests: try ManifestDiffTests.stored(Self.model(replicas: 1)))
    #expect(result.differing == result.compared && result.compared == 4)
    let deployment = try #require(result.diff.range(of: "+++ planned/apps.v1.Deployment.default.detector-"), "\(result.diff)")
    #expect(result.diff[deployment.upperBound...].contains("\n@@ -0,0 +1,"))
  }

  @Test("only the fields our field manager applied are read from a live object")
  func ownedFields() throws {
    let fields: JSONValue = try JSONValue(parsing: #"""
      {"f:metadata":{"f:labels":{"f:app":{}}},
       "f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"serve\"}":{".":{},"f:image":{},"f:name":{}}}}}}}
      """#)
    let live: JSONValue = [
      "apiVersion": "apps/v1", "kind": "Deployment",
      "metadata": ["name": "d", "namespace": "default", "uid": "u", "resourceVersion": "9", "labels": ["app": "a", "other": "b"],
                   "managedFields": [["manager": "kube-controller-manager", "operation": "Update", "fieldsV1": ["f:status": [:]]],
                                     ["manager": "edgeml-operator", "operation": "Apply", "fieldsV1": fields]]],
      "spec": ["replicas": 2, "revisionHistoryLimit": 10,
               "template": ["spec": ["containers": [["name": "serve", "image": "i", "imagePullPolicy": "IfNotPresent"], ["name": "sidecar", "image": "s"]]]]],
      "status": ["replicas": 2],
    ]
    let expected: JSONValue = [
      "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "d", "namespace": "default", "labels": ["app": "a"]],
      "spec": ["replicas": 2, "template": ["spec": ["containers": [["name": "serve", "image": "i"]]]]],
    ]
    #expect(OwnedFields.extract(live, manager: "edgeml-operator") == expected)
    #expect(OwnedFields.extract(live, manager: "someone-else") == nil)
  }

  @Test("the unified format is diff -u's", arguments: [
    ("a\nb\nc\n", "a\nB\nc\n", "--- old\n+++ new\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"),
    ("", "a\nb\n", "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n"),
    ("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\n5\n6\n7\n8\nnine\n", "--- old\n+++ new\n@@ -6,4 +6,4 @@\n 6\n 7\n 8\n-9\n+nine\n"),
    ("x\n", "x\n", ""),
  ])
  func unified(_ c: (String, String, String)) {
    #expect(UnifiedDiff.render(old: c.0, new: c.1, oldName: "old", newName: "new") == c.2)
  }
}
