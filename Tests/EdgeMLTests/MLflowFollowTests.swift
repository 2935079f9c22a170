import ControllerRuntime
import Crypto
import EdgeMLVocabulary
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
    func post(_ path: String, _ body: JSONValue, accepting: String? = nil) async throws -> JSONValue {
      let response = try await transport.send(HTTPRequest(method: "POST", url: url + "/api/2.0/mlflow/" + path,
                                                          headers: [("Content-Type", "application/json")], body: body.serialized()))
      if let accepting, (try? JSONValue(parsing: response.body))?["error_code"]?.stringValue == accepting { return [:] }
      try #require(response.status == 200, "\(path): \(response.status) \(String(decoding: response.body, as: UTF8.self))")
      return try JSONValue(parsing: response.body)
    }

    /// Points `alias` of `name` at `version` (MLflow REST API, "Set Registered Model Alias").
    func setAlias(_ name: String, _ alias: String, _ version: String) async throws {
      try await post("registered-models/alias", ["name": .string(name), "alias": .string(alias), "version": .string(version)])
    }

    /// Registers `model` (nil: a version whose folder holds no file) as a new version of `name`, as
    /// MLflow's Python client does: a run in experiment 0, the file uploaded through the server's
    /// artifact proxy (`PUT /api/2.0/mlflow-artifacts/artifacts/<run's path>/model/model.onnx`), then
    /// `model-versions/create` with the run's `model` folder as `source`. Returns the version.
    func register(_ name: String, model: [UInt8]?) async throws -> String {
      let run = try await post("runs/create", ["experiment_id": "0"])
      let runID = try #require(run[path: ["run", "info", "run_id"]]?.stringValue)
      let artifacts = try #require(run[path: ["run", "info", "artifact_uri"]]?.stringValue)
      let folder = try #require(MLflowArtifactLocation.proxiedPath(artifacts), "\(artifacts) is not proxied by the server")
      if let model {
        let put = try await transport.send(HTTPRequest(method: "PUT", url: url + "/api/2.0/mlflow-artifacts/artifacts/\(folder)/model/model.onnx",
                                                       headers: [("Content-Type", "application/octet-stream")], body: model))
        try #require(put.status == 200, "upload: \(put.status)")
      }
      try await post("registered-models/create", ["name": .string(name)], accepting: "RESOURCE_ALREADY_EXISTS")
      let created = try await post("model-versions/create", ["name": .string(name), "source": .string(artifacts + "/model"), "run_id": .string(runID)])
      return try #require(created[path: ["model_version", "version"]]?.stringValue)
    }
  }

  /// A tracking server of its own (3.x, SQLite, artifacts proxied) in a fresh directory, returned
  /// for the caller to remove once the server stopped.
  static func startTracking(_ name: String) async throws -> (Tracking, ServerProcess, String) {
    let dir = try FetchTools.temporaryDirectory(name)
    let transport = try FetchTools.transport()
    let (server, url) = try await ServerProcess.startMLflow(in: dir, transport: transport)
    return (Tracking(url: url, transport: transport), server, dir)
  }

  /// A model file's bytes and their `sha256:` pin, as the engine builder checks it.
  static func modelFile(_ text: String) -> (bytes: [UInt8], digest: String) {
    let bytes = Array("onnx stand-in: \(text)\n".utf8)
    return (bytes, "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined())
  }

  /// Counts the alias looks and the digest reads (by `NAME/VERSION`) of a registry.
  actor CountingRegistry: MLflowRegistry {
    let lookups: any MLflowRegistry
    let digests: any MLflowRegistry
    private(set) var looks = 0
    private(set) var reads: [String: Int] = [:]
    init(_ registry: any MLflowRegistry, digestsFrom digests: (any MLflowRegistry)? = nil) {
      lookups = registry
      self.digests = digests ?? registry
    }
    func lookUp(name: String, alias: String) async -> AliasLookup {
      looks += 1
      return await lookups.lookUp(name: name, alias: alias)
    }
    func artifactDigest(name: String, version: String, maxBytes: Int) async -> ArtifactPin {
      reads[name + "/" + version, default: 0] += 1
      return await digests.artifactDigest(name: name, version: version, maxBytes: maxBytes)
    }
  }

  /// The value after `flag` in the engine init container of each stable workload of `model`.
  func stableArgument(_ c: EdgeModelReconcilerTests.Cluster, _ model: String, _ flag: String) async throws -> Set<String> {
    let deployments = try await c.client.list(.deployments, namespace: "default", labelSelector: "edgeml.io/model=\(model)").items
    return Set(deployments.filter { !($0[path: ["metadata", "name"]]?.stringValue ?? "").contains("-c-") }.compactMap { d in
      let args = d[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue?.first?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
      return args.firstIndex(of: flag).map { args[$0 + 1] }
    })
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
    try await stableArgument(c, model, "--model-uri")
  }

  func follow(_ c: EdgeModelReconcilerTests.Cluster, _ model: String) async throws -> (follow: JSONValue?, resolved: JSONValue?) {
    let status = try await cluster.status(c, model)
    return (status["follow"], cluster.condition(status, "ModelResolved"))
  }

  @Test("an alias move starts a Rollout of the pinned version (mode rollout) or rolls the pods to it (mode update); a missing alias deploys nothing; MLflow stopping changes nothing served")
  func followsTheAlias() async throws {
    let (mlflow, server, dir) = try await Self.startTracking("mlflow-follow")
    defer { server.stop(); try? FileManager.default.removeItem(atPath: dir) }
    // Two versions of one registered model, each with its model file, alias on 1.
    for v in ["1", "2"] {
      #expect(try await mlflow.register("detector", model: Self.modelFile("version \(v)").bytes) == v)
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
    #expect(rollout[path: ["spec", "candidate", "model"]] == ["uri": "mlflow://detector/2", "version": "2",
                                                              "digest": .string(Self.modelFile("version 2").digest)])
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

  @Test("the engine builds of an MLflow version check the sha256 of the file MLflow holds, read once per version, not again after a restart; a missing or too large file deploys nothing")
  func pinsTheDigest() async throws {
    let (mlflow, server, dir) = try await Self.startTracking("mlflow-pin")
    defer { server.stop(); try? FileManager.default.removeItem(atPath: dir) }
    let files = ["1", "2", "3"].map { Self.modelFile("pinned \($0)") }
    for (i, file) in files.enumerated() { #expect(try await mlflow.register("pinned", model: file.bytes) == String(i + 1)) }
    try await mlflow.setAlias("pinned", "champion", "1")
    #expect(try await mlflow.register("bulky", model: Self.modelFile("bulky").bytes) == "1")
    try await mlflow.setAlias("bulky", "champion", "1")
    #expect(try await mlflow.register("hollow", model: nil) == "1")
    try await mlflow.setAlias("hollow", "champion", "1")

    let c = try await cluster.start()
    let clock = ManualClock()
    let registry = CountingRegistry(MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": mlflow.url]))
    let (task, _) = await cluster.runOperator(c, mlflow: registry, clock: clock)
    defer { task.cancel() }
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("follower", uri: "mlflow://pinned@champion"))
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("direct", uri: "mlflow://pinned/3"))
    var tiny = Self.edgeModel("tiny", uri: "mlflow://bulky@champion")
    tiny[path: ["spec", "model", "sizeLimit"]] = 8
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", tiny)
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("empty", uri: "mlflow://hollow@champion"))

    // The alias's version and a version named directly, each built from the file MLflow holds, checked against its sha256.
    #expect(try await cluster.eventually(20) { try await stableArgument(c, "follower", "--model-digest") == [files[0].digest] })
    #expect(try await stableModelURIs(c, "follower") == ["mlflow://pinned/1"])
    #expect(try await cluster.eventually(20) { try await stableArgument(c, "direct", "--model-digest") == [files[2].digest] })
    #expect(try await stableModelURIs(c, "direct") == ["mlflow://pinned/3"])
    #expect(try await cluster.eventually { try await follow(c, "follower").follow?["servingDigest"] == .string(files[0].digest) })
    #expect(try await cluster.eventually { try await follow(c, "direct").resolved?["status"] == "True" })
    // A file over spec.model.sizeLimit, and a version without a file: nothing deployed, the condition says why.
    #expect(try await cluster.eventually(20) { try await follow(c, "tiny").resolved?["reason"] == "ArtifactTooLarge" })
    #expect(try await cluster.eventually(20) { try await follow(c, "empty").resolved?["reason"] == "ArtifactNotFound" })
    #expect(try await follow(c, "empty").resolved?["message"]?.stringValue?.contains("has no model.onnx and 0 files") == true)
    for model in ["tiny", "empty"] {
      #expect(try await c.client.list(.deployments, namespace: "default", labelSelector: "edgeml.io/model=\(model)").items.isEmpty)
    }

    // Looks at the alias that find the same version read nothing.
    for _ in 0..<3 {
      clock.advance(by: .seconds(180))
      try await Task.sleep(for: .milliseconds(300))
    }
    let reads = await registry.reads
    #expect(reads["pinned/1"] == 1 && reads["pinned/3"] == 1, "\(reads)")
    // The alias moves: version 2 is read once, and the pods build it checked against its digest.
    try await mlflow.setAlias("pinned", "champion", "2")
    clock.advance(by: .seconds(180))
    #expect(try await cluster.eventually(20) { try await stableArgument(c, "follower", "--model-digest") == [files[1].digest] })
    #expect(await registry.reads["pinned/2"] == 1)

    // A new operator (nothing in memory) reads no file again: the digests are in the status.
    for model in ["tiny", "empty"] { _ = try await c.client.delete(EdgeModel.resource, namespace: "default", name: model) }
    task.cancel()
    _ = await task.result
    let restarted = CountingRegistry(MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": mlflow.url]))
    let (again, _) = await cluster.runOperator(c, mlflow: restarted, clock: clock)
    defer { again.cancel() }
    // It looks at the alias once (its schedule is empty), and plans both models.
    #expect(try await cluster.eventually(20) { await restarted.looks >= 1 })
    try await Task.sleep(for: .milliseconds(500))
    #expect(await restarted.reads.isEmpty)
    #expect(try await stableArgument(c, "follower", "--model-digest") == [files[1].digest])
    #expect(try await stableArgument(c, "direct", "--model-digest") == [files[2].digest])
    await c.stop()
  }

  @Test("a model file MLflow's server cannot serve leaves the model undeployed with ModelResolved=False and one Warning, read again only as the backoff allows on the clock")
  func unreachableArtifactBacksOff() async throws {
    let (mlflow, server, dir) = try await Self.startTracking("mlflow-unreachable")
    defer { server.stop(); try? FileManager.default.removeItem(atPath: dir) }
    #expect(try await mlflow.register("far", model: Self.modelFile("far").bytes) == "1")
    try await mlflow.setAlias("far", "champion", "1")

    let c = try await cluster.start()
    let clock = ManualClock()
    // The alias resolves in the real server; the file lives where nothing answers (a port no one listens on).
    let nowhere = MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": "http://127.0.0.1:\(try FetchTools.freePort())"])
    let registry = CountingRegistry(MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": mlflow.url]), digestsFrom: nowhere)
    let (task, _) = await cluster.runOperator(c, mlflow: registry, clock: clock)
    defer { task.cancel() }
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", Self.edgeModel("far", uri: "mlflow://far@champion"))
    #expect(try await cluster.eventually(20) { try await follow(c, "far").resolved?["reason"] == "ArtifactUnreachable" })
    let message = try await follow(c, "far").resolved?["message"]?.stringValue ?? ""
    #expect(message.hasPrefix("version 1 of far cannot be pinned: ") && message.hasSuffix("nothing is deployed until it is read"), "\(message)")
    #expect(try await cluster.status(c, "far")["phase"] == "Pending")
    #expect(await registry.reads["far/1"] == 1)

    // Woken again and again without the clock moving: no new read.
    for i in 0..<3 {
      _ = try await c.client.patch(EdgeModel.resource, namespace: "default", name: "far", ["metadata": ["labels": ["poke": .string("\(i)")]]], type: .merge)
      try await Task.sleep(for: .milliseconds(200))
    }
    #expect(await registry.reads["far/1"] == 1)
    #expect(try await c.client.list(.deployments, namespace: "default", labelSelector: "edgeml.io/model=far").items.isEmpty)
    let warnings = try await c.client.list(.events, namespace: "default").items.filter { $0["reason"] == "ArtifactUnreachable" }
    #expect(warnings.count == 1 && warnings.first?["type"] == "Warning")
    // 10 s on the clock: one more read; then 20 s between reads.
    clock.advance(by: .seconds(10))
    #expect(try await cluster.eventually { await registry.reads["far/1"] == 2 })
    clock.advance(by: .seconds(10))
    try await Task.sleep(for: .milliseconds(300))
    #expect(await registry.reads["far/1"] == 2)
    clock.advance(by: .seconds(10))
    #expect(try await cluster.eventually { await registry.reads["far/1"] == 3 })
    await c.stop()
  }

  /// The value after `flag` in the engine init container of each candidate workload of `model`.
  func candidateArgument(_ c: EdgeModelReconcilerTests.Cluster, _ model: String, _ flag: String) async throws -> Set<String> {
    let deployments = try await c.client.list(.deployments, namespace: "default", labelSelector: "edgeml.io/model=\(model),edgeml.io/track=candidate").items
    return Set(deployments.compactMap { d in
      let args = d[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue?.first?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
      return args.firstIndex(of: flag).map { args[$0 + 1] }
    })
  }

  /// A canary Rollout of `model` to `candidate` as a person (or a DriftPolicy's `promote.rollout`)
  /// writes it: an MLflow version and no digest.
  static func rollout(_ name: String, model: String, candidate: String, version: String) -> JSONValue {
    ["apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout", "metadata": ["name": .string(name), "namespace": "default"],
     "spec": ["modelRef": ["name": .string(model)], "candidate": ["model": ["uri": .string(candidate), "version": .string(version)]],
              "strategy": ["canary": ["steps": [["setWeight": 50], ["setWeight": 100]]]]]]
  }

  @Test("a Rollout's candidate named mlflow://NAME/VERSION without a digest is built checked against the sha256 of MLflow's file, and so is the stable model after promotion, read once; an unknown version gets no candidate workloads")
  func pinsARolloutCandidate() async throws {
    let (mlflow, server, dir) = try await Self.startTracking("mlflow-candidate")
    defer { server.stop(); try? FileManager.default.removeItem(atPath: dir) }
    let files = ["1", "2"].map { Self.modelFile("retrained \($0)") }
    for (i, file) in files.enumerated() { #expect(try await mlflow.register("retrained", model: file.bytes) == String(i + 1)) }

    let c = try await cluster.start()
    let clock = ManualClock()
    let registry = CountingRegistry(MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": mlflow.url]))
    let (task, _) = await cluster.runOperator(c, mlflow: registry, clock: clock)
    defer { task.cancel() }
    for name in ["retrained", "missing"] {
      var model = Self.edgeModel(name, uri: "mlflow://retrained/1")
      model[path: ["spec", "model", "digest"]] = .string(files[0].digest)
      _ = try await c.client.create(EdgeModel.resource, namespace: "default", model)
    }
    #expect(try await cluster.eventually(20) { try await stableArgument(c, "retrained", "--model-digest") == [files[0].digest] })
    _ = try await c.client.create(Rollout.resource, namespace: "default",
                                  Self.rollout("retrained-v2", model: "retrained", candidate: "mlflow://retrained/2", version: "2"))
    _ = try await c.client.create(Rollout.resource, namespace: "default",
                                  Self.rollout("missing-v9", model: "missing", candidate: "mlflow://retrained/9", version: "9"))

    // The candidate's engine builds check the sha256 of version 2's file; the status keeps it.
    #expect(try await cluster.eventually(20) { try await candidateArgument(c, "retrained", "--model-digest") == [files[1].digest] })
    #expect(try await candidateArgument(c, "retrained", "--model-uri") == ["mlflow://retrained/2"])
    #expect(try await cluster.eventually { try await cluster.status(c, "retrained")["pins"] == [["uri": "mlflow://retrained/2", "digest": .string(files[1].digest)]] })
    #expect(cluster.condition(try await cluster.status(c, "retrained"), "RolloutModelPinned")?["status"] == "True")
    // The Rollout's spec is the user's (or git's): no digest is written into it.
    #expect(try await c.client.get(Rollout.resource, namespace: "default", name: "retrained-v2")[path: ["spec", "candidate", "model", "digest"]] == nil)
    #expect(try await cluster.eventually {
      try await c.client.get(Rollout.resource, namespace: "default", name: "retrained-v2")[path: ["status", "message"]]?.stringValue?
        .contains("waiting for the candidate's pods for weight 50%") == true
    })

    // An unknown version: no candidate workloads, a condition and one Warning on the EdgeModel, and the Rollout says why it waits.
    #expect(try await cluster.eventually(20) { cluster.condition(try await cluster.status(c, "missing"), "RolloutModelPinned")?["reason"] == "ArtifactNotFound" })
    #expect(try await candidateArgument(c, "missing", "--model-uri").isEmpty)
    #expect(try await stableArgument(c, "missing", "--model-digest") == [files[0].digest])
    #expect(try await cluster.eventually {
      try await c.client.get(Rollout.resource, namespace: "default", name: "missing-v9")[path: ["status", "message"]]?.stringValue?
        .hasPrefix("waiting for the candidate's model to be pinned: mlflow://retrained/9 cannot be pinned") == true
    })
    let warnings = try await c.client.list(.events, namespace: "default").items.filter {
      $0["reason"] == "ArtifactNotFound" && $0[path: ["regarding", "name"]] == "missing"
    }
    #expect(warnings.count == 1 && warnings.first?["type"] == "Warning", "\(warnings)")
    // Read once, then again only when the backoff (10 s on the operator's clock) has passed.
    #expect(await registry.reads["retrained/9"] == 1)
    clock.advance(by: .seconds(10))
    #expect(try await cluster.eventually { await registry.reads["retrained/9"] == 2 })

    // Promoted (every step skipped): the stable workloads move to version 2, built against the same digest, read once.
    _ = try await c.client.patch(Rollout.resource, namespace: "default", name: "retrained-v2",
                                 RolloutGate.request(.promote, full: true, by: "test", at: "2026-12-07T12:00:00Z"), type: .merge, subresource: "status")
    #expect(try await cluster.eventually(20) { try await stableArgument(c, "retrained", "--model-digest") == [files[1].digest] })
    #expect(try await stableModelURIs(c, "retrained") == ["mlflow://retrained/2"])
    #expect(await registry.reads["retrained/2"] == 1)

    // A new operator (nothing in memory) does not read version 2's file again: its digest is in the status.
    task.cancel()
    _ = await task.result
    let restarted = CountingRegistry(MLflowRESTRegistry(environment: ["MLFLOW_TRACKING_URI": mlflow.url]))
    let (again, _) = await cluster.runOperator(c, mlflow: restarted, clock: clock)
    defer { again.cancel() }
    // It tries the unknown version again (failures are kept in memory only), so it has reconciled.
    #expect(try await cluster.eventually(20) { await restarted.reads["retrained/9"] == 1 })
    try await Task.sleep(for: .milliseconds(500))
    #expect(await restarted.reads["retrained/2"] == nil)
    #expect(try await stableArgument(c, "retrained", "--model-digest") == [files[1].digest])
    await c.stop()
  }
}
