import ControllerRuntime
import Foundation
import KubeClient
import KubeCore
import TestServers
import Testing
@testable import EdgeML

/// EdgeModels that follow an MLflow alias, against a real `mlflow server` (3.x, SQLite backend) and
/// the emulator over HTTPS, with the operator on a manual clock: the alias is looked at again only
/// when the clock passes the interval.
@Suite("EdgeModels follow an MLflow alias in a real mlflow server", .serialized,
       .enabled(if: FetchTools.program("mlflow") != nil && FetchTools.python != nil,
                "mlflow is not installed (scripts/setup.sh installs it into the fetch-tools venv)"))
struct MLflowFollowTests {
  let cluster = EdgeModelReconcilerTests()

  /// One tracking server, spoken to through its REST API as a retraining Job or MLflow's UI would.
  struct Tracking {
    let url: String
    let transport: HTTPTransport

    @discardableResult
    func post(_ path: String, _ body: JSONValue) async throws -> JSONValue {
      let response = try await transport.send(HTTPRequest(method: "POST", url: url + "/api/2.0/mlflow/" + path,
                                                          headers: [("Content-Type", "application/json")], body: body.serialized()))
      try #require(response.status == 200, "\(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
      return try JSONValue(parsing: response.body)
    }

    /// Points `alias` of `name` at `version` (MLflow REST API, "Set Registered Model Alias").
    func setAlias(_ name: String, _ alias: String, _ version: String) async throws {
      try await post("registered-models/alias", ["name": .string(name), "alias": .string(alias), "version": .string(version)])
    }
  }

  static func edgeModel(_ name: String, uri: String, follow: JSONValue? = nil) -> JSONValue {
    var model: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": ["name": .string(name), "namespace": "default"],
      "spec": ["model": ["uri": .string(uri)], "placement": ["replicas": 1], "serving": ["image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"]],
    ]
    if let follow { model[path: ["spec", "model", "follow"]] = follow }
    return model
  }

  /// The `--model-uri` of each stable workload of `model` (what its pods fetch).
  func stableModelURIs(_ c: EdgeModelReconcilerTests.Cluster, _ model: String) async throws -> Set<String> {
    let deployments = try await c.client.list(.deployments, namespace: "default", labelSelector: "edgeml.io/model=\(model)").items
    return Set(deployments.filter { !($0[path: ["metadata", "name"]]?.stringValue ?? "").contains("-c-") }.compactMap { d in
      let args = d[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue?.first?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
      return args.firstIndex(of: "--model-uri").map { args[$0 + 1] }
    })
  }

  func follow(_ c: EdgeModelReconcilerTests.Cluster, _ model: String) async throws -> (follow: JSONValue?, resolved: JSONValue?) {
    let status = try await cluster.status(c, model)
    return (status["follow"], cluster.condition(status, "ModelResolved"))
  }

  @Test("an alias move starts a Rollout of the pinned version (mode rollout) or rolls the pods to it (mode update); a missing alias deploys nothing; MLflow stopping changes nothing served")
  func followsTheAlias() async throws {
    let dir = try FetchTools.temporaryDirectory("mlflow-follow")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let transport = try FetchTools.transport()
    let (server, url) = try await ServerProcess.startMLflow(in: dir, transport: transport)
    defer { server.stop() }
    let mlflow = Tracking(url: url, transport: transport)
    // Two versions of one registered model (MLflow REST API: "Create RegisteredModel", "Create
    // ModelVersion"; the operator never reads a version's files, the engine builder does), alias on 1.
    try await mlflow.post("registered-models/create", ["name": "detector"])
    for v in ["1", "2"] {
      let created = try await mlflow.post("model-versions/create", ["name": "detector", "source": .string("s3://models/detector/\(v)")])
      #expect(created[path: ["model_version", "version"]] == .string(v))
    }
    try await mlflow.setAlias("detector", "champion", "1")

    let c = try await cluster.start()
    let clock = ManualClock()
    let (task, manager) = await cluster.runOperator(c, mlflow: MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": mlflow.url]), clock: clock)
    defer { task.cancel() }
    let canary: JSONValue = ["mode": "rollout", "rollout": ["strategy": ["canary": ["steps": [["setWeight": 50], ["setWeight": 100]]]]]]
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("detector", uri: "mlflow://detector@champion", follow: canary))
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("counter", uri: "mlflow://detector@champion"))
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("lost", uri: "mlflow://detector@staging"))

    // Resolved to version 1; the pods fetch mlflow://detector/1, never the alias.
    for model in ["detector", "counter"] {
      #expect(try await cluster.eventually(20) { try await stableModelURIs(c, model) == ["mlflow://detector/1"] }, "\(model)")
      // The status is written after the workloads, and a status seen mid-way may not carry the
      // ModelResolved condition yet: wait for both, then check them together.
      #expect(try await cluster.eventually {
        let (f, resolved) = try await follow(c, model)
        return f?["servingVersion"] != nil && resolved?["status"] == "True"
      })
      let (f, resolved) = try await follow(c, model)
      #expect(f?["resolvedVersion"] == "1" && f?["servingVersion"] == "1" && resolved?["status"] == "True", "\(model): \(String(describing: f))")
    }
    // The missing alias: a condition that says so, and nothing deployed.
    #expect(try await cluster.eventually(20) { try await follow(c, "lost").resolved?["reason"] == "AliasNotFound" })
    #expect(try await follow(c, "lost").resolved?["message"]?.stringValue?.contains("no alias staging") == true)
    #expect(try await c.client.list(.deployments, namespace: "default", labelSelector: "edgeml.io/model=lost").items.isEmpty)
    // The next look is one interval (3 minutes by default) away on the operator's clock.
    let edgemodels = try #require(manager.controller("edgemodel"))
    #expect(try await cluster.eventually { edgemodels.queue.delayedUntil(ReconcileRequest(namespace: "default", name: "counter")) == clock.now + .seconds(180) })

    // A look that finds the same version writes nothing.
    let before = try await c.client.get(EdgeModel.resource, namespace: "default", name: "counter")[path: ["metadata", "resourceVersion"]]
    clock.advance(by: .seconds(180))
    #expect(try await cluster.eventually { edgemodels.queue.delayedUntil(ReconcileRequest(namespace: "default", name: "counter")) == clock.now + .seconds(180) })
    try await Task.sleep(for: .milliseconds(300))
    #expect(try await c.client.get(EdgeModel.resource, namespace: "default", name: "counter")[path: ["metadata", "resourceVersion"]] == before)

    // A retraining moves the alias to version 2. Nothing happens before the interval passes.
    try await mlflow.setAlias("detector", "champion", "2")
    clock.advance(by: .seconds(90))
    try await Task.sleep(for: .milliseconds(500))
    #expect(try await follow(c, "counter").follow?["resolvedVersion"] == "1")
    clock.advance(by: .seconds(90))

    // Mode rollout: a Rollout of the pinned version 2; the stable pods stay on version 1 until it is promoted.
    #expect(try await cluster.eventually(20) {
      (try? await c.client.get(Rollout.resource, namespace: "default", name: "detector-mlflow-v2")) != nil
    })
    let rollout = try await c.client.get(Rollout.resource, namespace: "default", name: "detector-mlflow-v2")
    #expect(rollout[path: ["spec", "candidate", "model"]] == ["uri": "mlflow://detector/2", "version": "2"])
    #expect(rollout[path: ["spec", "strategy", "canary", "steps"]]?.arrayValue?.count == 2)
    #expect(rollout[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["name"] == "detector")
    #expect(try await cluster.eventually { try await follow(c, "detector").follow?["rollout"] == "detector-mlflow-v2" })
    let (detector, _) = try await follow(c, "detector")
    #expect(detector?["resolvedVersion"] == "2" && detector?["servingVersion"] == "1")
    #expect(try await stableModelURIs(c, "detector") == ["mlflow://detector/1"])
    // Mode update: the pods roll to version 2.
    #expect(try await cluster.eventually(20) { try await stableModelURIs(c, "counter") == ["mlflow://detector/2"] })
    #expect(try await follow(c, "counter").follow?["servingVersion"] == "2")
    let wanted: Set<String> = ["AliasMoved", "RolloutCreated", "ModelUpdating", "AliasNotFound"]
    func reasons() async throws -> Set<String> {
      Set(try await c.client.list(.events, namespace: "default").items.compactMap { $0["reason"]?.stringValue })
    }
    let recorded = try await cluster.eventually { try await reasons().isSuperset(of: wanted) }
    let seen = try await reasons()
    #expect(recorded, "events: \(seen.sorted())")

    // MLflow stops answering: a condition and an Event, and every served version stays.
    server.stop()
    clock.advance(by: .seconds(180))
    #expect(try await cluster.eventually(20) { try await follow(c, "counter").resolved?["reason"] == "MLflowUnreachable" })
    #expect(try await cluster.eventually(20) { try await follow(c, "detector").resolved?["reason"] == "MLflowUnreachable" })
    #expect(try await follow(c, "counter").resolved?["message"]?.stringValue?.hasSuffix("version 2 stays served") == true)
    #expect(try await stableModelURIs(c, "counter") == ["mlflow://detector/2"])
    #expect(try await stableModelURIs(c, "detector") == ["mlflow://detector/1"])
    #expect(try await c.client.get(Rollout.resource, namespace: "default", name: "detector-mlflow-v2")["metadata"] != nil)
    #expect(try await cluster.eventually {
      try await c.client.list(.events, namespace: "default").items.contains { $0["reason"] == "MLflowUnreachable" && $0["type"] == "Warning" }
    })
    await c.stop()
  }
}
