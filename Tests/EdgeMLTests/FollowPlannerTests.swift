import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

/// `FollowPlanner`, `FollowSchedule` and the MLflow answer decoding with literal inputs: what a
/// followed alias does to the served version, the Rollouts and the status (docs/mlflow.md).
struct FollowPlannerTests {
  static let now = "2027-01-15T08:00:00Z"

  static func model(mode: String? = nil, follow: FollowStatus? = nil, conditions: JSONValue? = nil) throws -> EdgeModel {
    var json: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
      "metadata": ["name": "detector", "namespace": "vision", "uid": "uid-1", "generation": 2],
      "spec": ["model": ["uri": "mlflow://detector@champion", "format": "onnx"], "serving": ["image": "triton"]],
    ]
    if let mode {
      json[path: ["spec", "model", "follow"]] = ["mode": .string(mode), "rollout": [
        "strategy": ["canary": ["steps": [["setWeight": 50], ["setWeight": 100]]]], "abortOnFailure": true,
        "modelRef": ["name": "elsewhere"]]]   // the operator's modelRef wins
    }
    if let follow { json["status"] = ["follow": ModelCoding.encode(follow)] }
    if let conditions { json[path: ["status", "conditions"]] = conditions }
    return try EdgeModel(json: json)
  }

  static func status(resolved: String?, serving: String?) -> FollowStatus {
    var s = FollowStatus()
    s.uri = "mlflow://detector@champion"
    s.resolvedVersion = resolved
    s.servingVersion = serving
    return s
  }

  static func followRollout(version: String, phase: String?) throws -> Rollout {
    try Rollout(json: [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout",
      "metadata": ["name": .string("detector-mlflow-v\(version)"), "namespace": "vision",
                   "ownerReferences": [["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "name": "detector", "uid": "uid-1",
                                        "controller": true]]],
      "spec": ["modelRef": ["name": "detector"],
               "candidate": ["model": ["uri": .string("mlflow://detector/\(version)"), "version": .string(version), "digest": .string(digest(version))]],
               "strategy": ["canary": ["steps": [["setWeight": 100]]]]],
      "status": phase.map { ["phase": .string($0)] } ?? [:],
    ])
  }

  /// A made-up sha256 pin of version `v`'s model file.
  static func digest(_ v: String) -> String { "sha256:" + String(repeating: v, count: 64) }

  /// Plans a pass whose versions 1-3 are pinned unless `digests` says otherwise.
  static func plan(_ model: EdgeModel, _ lookup: AliasLookup?, rollouts: [Rollout] = [],
                   digests: [String: String] = ["1": digest("1"), "2": digest("2"), "3": digest("3")],
                   pinFailure: FollowPlanner.PinFailure? = nil, alias: String? = "champion") -> FollowPlanner.Plan {
    FollowPlanner.plan(.init(model: model, name: "detector", alias: alias, lookup: lookup, rollouts: rollouts, now: now,
                             digests: digests, pinFailure: pinFailure))
  }

  @Test("the version an alias first names is served, pinned as mlflow://NAME/VERSION")
  func firstVersionIsPinned() throws {
    let p = Self.plan(try Self.model(), .version("1"))
    #expect(p.source?.uri == "mlflow://detector/1" && p.source?.version == "1" && p.source?.format == .onnx && p.source?.follow == nil)
    #expect(p.source?.digest == Self.digest("1") && p.status.servingDigest == Self.digest("1") && p.status.resolvedDigest == Self.digest("1"))
    #expect(p.status.resolvedVersion == "1" && p.status.servingVersion == "1" && p.status.resolvedAt == Self.now)
    #expect(p.condition.status == "True" && p.condition.reason == "Resolved")
    #expect(p.condition.message == "alias champion of detector names version 1, pinned to \(Self.digest("1"))")
    #expect(p.rollout == nil && p.deletions.isEmpty)
  }

  @Test("in mode update a moved alias changes the served version at once")
  func updateModeMoves() throws {
    let p = Self.plan(try Self.model(mode: "update", follow: Self.status(resolved: "1", serving: "1")), .version("2"))
    #expect(p.source?.uri == "mlflow://detector/2" && p.status.servingVersion == "2" && p.rollout == nil)
    #expect(p.events.map(\.reason) == ["AliasMoved", "ModelUpdating"])
  }

  @Test("in mode rollout a moved alias starts a Rollout of the pinned version, and the served version waits for its promotion")
  func rolloutModeStartsARollout() throws {
    let model = try Self.model(mode: "rollout", follow: Self.status(resolved: "1", serving: "1"))
    let p = Self.plan(model, .version("2"))
    #expect(p.source?.uri == "mlflow://detector/1" && p.status.servingVersion == "1" && p.status.resolvedVersion == "2")
    let rollout = try #require(p.rollout)
    #expect(rollout.resource == Rollout.resource && rollout.name == "detector-mlflow-v2" && p.status.rollout == "detector-mlflow-v2")
    #expect(rollout.object[path: ["spec", "candidate"]] == ["model": ["uri": "mlflow://detector/2", "version": "2", "digest": .string(Self.digest("2"))]])
    #expect(rollout.object[path: ["spec", "modelRef", "name"]] == "detector")
    #expect(rollout.object[path: ["spec", "strategy", "canary", "steps"]]?.arrayValue?.count == 2)
    #expect(rollout.object[path: ["spec", "abortOnFailure"]] == true)
    #expect(rollout.object[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"] == "uid-1")
    #expect(p.events.map(\.reason) == ["AliasMoved", "RolloutCreated"])

    // Progressing: the same Rollout, no new Event. Promoted: version 2 is served, and the Rollout stays as history.
    let moved = try Self.model(mode: "rollout", follow: p.status)
    let progressing = Self.plan(moved, nil, rollouts: [try Self.followRollout(version: "2", phase: "Progressing")])
    #expect(progressing.rollout?.object == rollout.object && progressing.events.isEmpty && progressing.source?.uri == "mlflow://detector/1")
    let promoted = Self.plan(moved, nil, rollouts: [try Self.followRollout(version: "2", phase: "Promoted")])
    #expect(promoted.source?.uri == "mlflow://detector/2" && promoted.status.servingVersion == "2")
    #expect(promoted.rollout == nil && promoted.deletions.isEmpty && promoted.status.rollout == nil)
  }

  @Test("a follow.rollout that would not make a Rollout is not sent: the old version stays served, one Warning says why")
  func invalidTemplate() throws {
    var model = try Self.model(mode: "rollout", follow: Self.status(resolved: "1", serving: "1"))
    model.spec.model.follow?.rollout = ["strategy": ["canary": ["steps": "many"]]]
    let p = Self.plan(model, .version("2"))
    #expect(p.rollout == nil && p.source?.uri == "mlflow://detector/1" && p.status.servingVersion == "1")
    let message = try #require(p.status.message)
    #expect(message.hasPrefix("follow.rollout does not make a valid Rollout (") && message.contains("steps"), "\(message)")
    #expect(p.events.map(\.reason) == ["AliasMoved", "InvalidFollowRollout"])
    model.status?.follow = p.status
    #expect(Self.plan(model, .version("2")).events.isEmpty)
  }

  @Test("promoting a follow Rollout restarts nothing: the stable pods' template while promoting is the one served after")
  func promotionRestartsNothing() throws {
    let model = try Self.model(mode: "rollout", follow: Self.status(resolved: "2", serving: "1"))
    var rollout = try Self.followRollout(version: "2", phase: "Progressing")
    rollout.status?.candidateHash = RolloutPlanner.candidateHash(rollout.spec)
    rollout.status?.promotedAt = "2027-01-15T07:50:00Z"
    rollout.status?.promotedOver = RolloutPlanner.modelHash(model.spec.model)   // what the Rollout controller reads: the alias
    func stableTemplates(_ rollout: Rollout) throws -> (FollowPlanner.Plan, [JSONValue]) {
      let follow = Self.plan(model, nil, rollouts: [rollout])
      var pinned = model
      pinned.spec.model = try #require(follow.source)
      let plan = EdgeModelPlanner.plan(.init(model: pinned, nodes: fleet, pods: [], builderImage: "ghcr.io/edgeml/edgeml:0.1.0",
                                             now: Self.now, rollouts: [rollout]))
      let stable = plan.objects.map(\.object).filter {
        $0["kind"] == "Deployment" && $0[path: ["metadata", "labels", EdgeModelPlanner.Labels.track]] == nil
      }
      return (follow, stable.compactMap { $0[path: ["spec", "template"]] })
    }
    let (during, promoting) = try stableTemplates(rollout)
    #expect(during.status.servingVersion == "1" && !promoting.isEmpty)
    rollout.status?.phase = .promoted
    let (after, promoted) = try stableTemplates(rollout)
    #expect(after.status.servingVersion == "2" && after.source?.uri == "mlflow://detector/2")
    #expect(promoted == promoting)
    let args = promoted.first?[path: ["spec", "initContainers"]]?.arrayValue?.first?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(args.firstIndex(of: "--model-uri").map { args[$0 + 1] } == "mlflow://detector/2")
  }

  @Test("an aborted follow Rollout keeps the old version served and says how to go on")
  func abortedRolloutKeepsServing() throws {
    let model = try Self.model(mode: "rollout", follow: Self.status(resolved: "2", serving: "1"))
    let p = Self.plan(model, .version("2"), rollouts: [try Self.followRollout(version: "2", phase: "Aborted")])
    #expect(p.source?.uri == "mlflow://detector/1" && p.status.servingVersion == "1")
    #expect(p.status.message?.contains("kubectl edgeml retry detector-mlflow-v2") == true)
    #expect(p.events.isEmpty)
  }

  @Test("an alias that moves on mid-rollout supersedes that Rollout: the newest version wins")
  func newerVersionSupersedes() throws {
    let model = try Self.model(mode: "rollout", follow: Self.status(resolved: "2", serving: "1"))
    let old = [try Self.followRollout(version: "1", phase: "Promoted"), try Self.followRollout(version: "2", phase: "Progressing")]
    let p = Self.plan(model, .version("3"), rollouts: old)
    #expect(p.rollout?.name == "detector-mlflow-v3" && p.deletions == ["detector-mlflow-v2"])
    // Moved back to the served version: the Rollout in flight goes, nothing new starts.
    let back = Self.plan(model, .version("1"), rollouts: old)
    #expect(back.rollout == nil && back.deletions == ["detector-mlflow-v2"] && back.source?.uri == "mlflow://detector/1")
  }

  @Test("MLflow not answering or a missing alias leaves the served version alone, with a condition and one Warning", arguments: [
    AliasLookup.failed(reason: "MLflowUnreachable", message: "MLflow at http://mlflow:5000 did not answer"),
    AliasLookup.failed(reason: "AliasNotFound", message: "registered model detector has no alias champion"),
  ])
  func failuresKeepServing(_ failure: AliasLookup) throws {
    guard case .failed(let reason, let message) = failure else { return }
    let p = Self.plan(try Self.model(mode: "rollout", follow: Self.status(resolved: "1", serving: "1")), failure)
    #expect(p.source?.uri == "mlflow://detector/1" && p.status.resolvedVersion == "1" && p.rollout == nil)
    #expect(p.condition.status == "False" && p.condition.reason == reason)
    #expect(p.condition.message == message + "; version 1 stays served")
    #expect(p.events.map(\.type) == ["Warning"] && p.events.first?.reason == reason)
    // The same failure again: the condition stands, no second Event.
    let again = Self.plan(try Self.model(mode: "rollout", follow: p.status, conditions: [ModelCoding.encode(p.condition)]), failure)
    #expect(again.events.isEmpty && again.condition.reason == reason)
  }

  @Test("a model whose alias never resolved gets no workloads, only the reason")
  func neverResolved() throws {
    let p = Self.plan(try Self.model(), .failed(reason: "MLflowNotConfigured", message: "set MLFLOW_TRACKING_URI"))
    #expect(p.source == nil && p.status.servingVersion == nil)
    #expect(p.condition.message == "set MLFLOW_TRACKING_URI; nothing is deployed until it resolves")
    let waiting = Self.plan(try Self.model(), nil)
    #expect(waiting.source == nil && waiting.condition.status == "Unknown" && waiting.condition.reason == "Resolving")
  }

  @Test("a resolved version is deployed only once its model file is pinned; a file that cannot be read says why, with one Warning")
  func firstVersionWaitsForItsDigest() throws {
    let unreachable = FollowPlanner.PinFailure(version: "1", reason: "ArtifactUnreachable", message: "the model file of version 1 of detector could not be read: timed out")
    let p = Self.plan(try Self.model(), .version("1"), digests: [:], pinFailure: unreachable)
    #expect(p.source == nil && p.status.servingVersion == nil && p.status.resolvedVersion == "1" && p.status.resolvedDigest == nil)
    #expect(p.condition.status == "False" && p.condition.reason == "ArtifactUnreachable")
    #expect(p.condition.message == "version 1 of detector cannot be pinned: \(unreachable.message); nothing is deployed until it is read")
    #expect(p.events.map(\.reason) == ["ArtifactUnreachable"] && p.events.first?.type == "Warning")
    // The next pass, still failing (no look at the alias due): the condition stands, no second Event.
    let failed = try Self.model(follow: p.status, conditions: [ModelCoding.encode(p.condition)])
    let again = Self.plan(failed, nil, digests: [:], pinFailure: unreachable)
    #expect(again.source == nil && again.events.isEmpty && again.condition.reason == "ArtifactUnreachable")
    // Read at last: deployed, pinned, and the condition says so.
    let read = Self.plan(failed, nil, digests: ["1": Self.digest("1")])
    #expect(read.source?.uri == "mlflow://detector/1" && read.source?.digest == Self.digest("1") && read.status.servingDigest == Self.digest("1"))
    #expect(read.condition.status == "True" && read.condition.message?.hasSuffix("pinned to \(Self.digest("1"))") == true)
  }

  @Test("a moved alias whose new version cannot be pinned moves nothing: the served version and its digest stay, in either mode",
        arguments: ["update", "rollout"])
  func moveWaitsForTheDigest(_ mode: String) throws {
    var served = Self.status(resolved: "1", serving: "1")
    served.servingDigest = Self.digest("1")
    served.resolvedDigest = Self.digest("1")
    let tooLarge = FollowPlanner.PinFailure(version: "2", reason: "ArtifactTooLarge", message: "the model file of version 2 of detector is more than the limit of 1024 bytes")
    let p = Self.plan(try Self.model(mode: mode, follow: served), .version("2"), digests: [:], pinFailure: tooLarge)
    #expect(p.source?.uri == "mlflow://detector/1" && p.source?.digest == Self.digest("1"))
    #expect(p.status.servingVersion == "1" && p.status.servingDigest == Self.digest("1") && p.status.resolvedVersion == "2" && p.status.resolvedDigest == nil)
    #expect(p.rollout == nil && p.status.rollout == nil)
    #expect(p.condition.status == "False" && p.condition.reason == "ArtifactTooLarge" && p.condition.message?.hasSuffix("; version 1 stays served") == true)
    #expect(p.events.map(\.reason) == ["AliasMoved", "ArtifactTooLarge"])
  }

  @Test("only versions whose digest the status does not record are read: the resolved one, then the served one")
  func versionsToPin() throws {
    var pinned = Self.status(resolved: "1", serving: "1")
    pinned.resolvedDigest = Self.digest("1")
    pinned.servingDigest = Self.digest("1")
    #expect(FollowPlanner.versionsToPin(try Self.model(follow: pinned), lookup: .version("1")).isEmpty)
    #expect(FollowPlanner.versionsToPin(try Self.model(follow: pinned), lookup: nil).isEmpty)
    #expect(FollowPlanner.versionsToPin(try Self.model(follow: pinned), lookup: .version("2")) == ["2"])
    // Served by an operator that pinned nothing (an upgrade), mid-rollout: both are read.
    #expect(FollowPlanner.versionsToPin(try Self.model(follow: Self.status(resolved: "2", serving: "1")), lookup: nil) == ["2", "1"])
    #expect(FollowPlanner.versionsToPin(try Self.model(), lookup: .failed(reason: "MLflowUnreachable", message: "")).isEmpty)
    // Another URI than the status is about: its versions start over.
    var other = pinned
    other.uri = "mlflow://detector@challenger"
    #expect(FollowPlanner.versionsToPin(try Self.model(follow: other), lookup: .version("1")) == ["1"])
  }

  @Test("mlflow://NAME/VERSION without a digest is pinned like an alias's version, and keeps no follow Rollout")
  func directVersionIsPinned() throws {
    var model = try Self.model()
    model.spec.model.uri = "mlflow://detector/3"
    let p = Self.plan(model, .version("3"), rollouts: [try Self.followRollout(version: "3", phase: "Promoted")], alias: nil)
    #expect(p.source?.uri == "mlflow://detector/3" && p.source?.digest == Self.digest("3") && p.source?.version == "3")
    #expect(p.status.uri == "mlflow://detector/3" && p.status.servingDigest == Self.digest("3"))
    #expect(p.condition.status == "True" && p.condition.message == "version 3 of detector, pinned to \(Self.digest("3"))")
    #expect(p.events.isEmpty && p.deletions == ["detector-mlflow-v3"])
    let missing = FollowPlanner.PinFailure(version: "3", reason: "ArtifactNotFound", message: "version 3 of detector: MLflow answered 404 RESOURCE_DOES_NOT_EXIST")
    let refused = Self.plan(model, .version("3"), digests: [:], pinFailure: missing, alias: nil)
    #expect(refused.source == nil && refused.condition.reason == "ArtifactNotFound")
  }

  @Test("a version's file is read once however many passes and models want it; a failed read waits out its backoff on the clock")
  func pinsAreReadOnce() async throws {
    let registry = ScriptedRegistry(answers: ["1": [.digest(Self.digest("1"), size: 10)],
                                              "2": [.failed(reason: "ArtifactUnreachable", message: "down"), .digest(Self.digest("2"), size: 10)],
                                              "3": [.failed(reason: "ArtifactTooLarge", message: "big"), .digest(Self.digest("3"), size: 500)]])
    let pins = ArtifactPins()
    let clock = ManualClock()
    func pin(_ v: String, maxBytes: Int = 100) async -> ArtifactPins.Outcome {
      await pins.pin(name: "detector", version: v, maxBytes: maxBytes, interval: .seconds(180), registry: registry, now: clock.now)
    }
    // Many models asking at once: one read.
    let outcomes = await withTaskGroup(of: ArtifactPins.Outcome.self) { group in
      for _ in 0..<8 {
        group.addTask { await pins.pin(name: "detector", version: "1", maxBytes: 100, interval: .seconds(180), registry: registry, now: clock.now) }
      }
      return await group.reduce(into: [ArtifactPins.Outcome]()) { $0.append($1) }
    }
    #expect(outcomes == Array(repeating: .pinned(Self.digest("1")), count: 8))
    #expect(await pin("1") == .pinned(Self.digest("1")))
    #expect(await registry.reads == ["1"])
    // A smaller limit than the file: too large, without reading it again.
    guard case .failed(let reason, _, _) = await pin("1", maxBytes: 5) else { Issue.record("a 10-byte file passed a 5-byte limit"); return }
    #expect(reason == "ArtifactTooLarge")
    // A failed read: not again before 10 s on the clock, then read and pinned.
    #expect(await pin("2") == .failed(reason: "ArtifactUnreachable", message: "down", retryIn: .seconds(10)))
    clock.advance(by: .seconds(9))
    #expect(await pin("2") == .failed(reason: "ArtifactUnreachable", message: "down", retryIn: .seconds(1)))
    #expect(await registry.reads == ["1", "2"])
    clock.advance(by: .seconds(1))
    #expect(await pin("2") == .pinned(Self.digest("2")))
    #expect(await registry.reads == ["1", "2", "2"])
    // A file larger than the limit is not read again under that limit, however late; a larger limit reads it.
    #expect(await pin("3") == .failed(reason: "ArtifactTooLarge", message: "big", retryIn: .seconds(180)))
    clock.advance(by: .seconds(3600))
    guard case .failed(let again, _, _) = await pin("3", maxBytes: 50) else { Issue.record("pinned a file over its limit"); return }
    #expect(again == "ArtifactTooLarge")
    #expect(await registry.reads == ["1", "2", "2", "3"])
    #expect(await pin("3", maxBytes: 1000) == .pinned(Self.digest("3")))
    #expect(await registry.reads == ["1", "2", "2", "3", "3"])
  }

  @Test("a look that fails is retried after 10 s, doubling, at most the larger of the interval and 5 minutes", arguments: [
    (1, 180, 10), (2, 180, 20), (5, 180, 160), (6, 180, 300), (40, 180, 300), (6, 3600, 320), (12, 3600, 3600),
  ])
  func retryDelays(_ failures: Int, _ interval: Int, _ expected: Int) {
    #expect(FollowPlanner.retryDelay(failures: failures, interval: .seconds(interval)) == .seconds(expected))
  }

  @Test("the interval is follow.interval, else 3 minutes")
  func intervals() {
    #expect(FollowPlanner.interval(nil) == .seconds(180))
    #expect(FollowPlanner.interval(ModelFollow(interval: "30s")) == .seconds(30))
    #expect(FollowPlanner.interval(ModelFollow(interval: "1h30m")) == .seconds(5400))
    #expect(FollowPlanner.interval(ModelFollow(interval: "soon")) == .seconds(180))
  }

  @Test("the schedule looks again only when the interval has passed on the clock, sooner after a failure, and at once for a new URI")
  func schedule() async {
    let clock = ManualClock()
    let s = FollowSchedule()
    let uri = "mlflow://detector@champion"
    #expect(await s.isDue("vision/detector", uri: uri, now: clock.now))
    #expect(await s.record("vision/detector", uri: uri, succeeded: true, interval: .seconds(180), now: clock.now) == .seconds(180))
    clock.advance(by: .seconds(179))
    #expect(await !s.isDue("vision/detector", uri: uri, now: clock.now))
    #expect(await s.isDue("vision/detector", uri: "mlflow://detector@challenger", now: clock.now))
    clock.advance(by: .seconds(1))
    #expect(await s.isDue("vision/detector", uri: uri, now: clock.now))
    #expect(await s.record("vision/detector", uri: uri, succeeded: false, interval: .seconds(180), now: clock.now) == .seconds(10))
    #expect(await s.record("vision/detector", uri: uri, succeeded: false, interval: .seconds(180), now: clock.now) == .seconds(20))
    #expect(await s.remaining("vision/detector", now: clock.now) == .seconds(20))
    #expect(await s.record("vision/detector", uri: uri, succeeded: true, interval: .seconds(180), now: clock.now) == .seconds(180))
  }

  @Test("MLflow's answers become versions or reasons", arguments: [
    (200, #"{"model_version":{"name":"detector","version":"7","aliases":["champion"]}}"#, AliasLookup.version("7")),
    (404, #"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered model alias champion not found."}"#,
     AliasLookup.failed(reason: "AliasNotFound", message: "registered model detector has no alias champion (MLflow answered 404 RESOURCE_DOES_NOT_EXIST: Registered model alias champion not found.)")),
    (400, #"{"error_code":"INVALID_PARAMETER_VALUE","message":"Registered model alias champion not found."}"#,
     AliasLookup.failed(reason: "AliasNotFound", message: "registered model detector has no alias champion (MLflow answered 400 INVALID_PARAMETER_VALUE: Registered model alias champion not found.)")),
    (400, #"{"error_code":"INVALID_PARAMETER_VALUE","message":"Missing value for required parameter 'alias'."}"#,
     AliasLookup.failed(reason: "MLflowError", message: "MLflow answered 400 INVALID_PARAMETER_VALUE: Missing value for required parameter 'alias'.")),
    (503, "upstream down", AliasLookup.failed(reason: "MLflowUnreachable", message: "MLflow answered 503")),
    (403, #"{"error_code":"PERMISSION_DENIED","message":"no"}"#, AliasLookup.failed(reason: "MLflowError", message: "MLflow answered 403 PERMISSION_DENIED: no")),
    (200, #"{"model_version":{"version":"../7"}}"#,
     AliasLookup.failed(reason: "MLflowError", message: "MLflow's answer for detector@champion names no model version (a number)")),
    (200, "not json", AliasLookup.failed(reason: "MLflowError", message: "MLflow's answer for detector@champion names no model version (a number)")),
  ])
  func decodesAnswers(_ status: Int, _ body: String, _ expected: AliasLookup) {
    #expect(MLflowRESTRegistry.decode(status: status, body: Array(body.utf8), name: "detector", alias: "champion") == expected)
  }

  @Test("MLflow's refusals while a version's file is read become pin reasons", arguments: [
    (404, #"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Model Version (name=detector, version=9) not found"}"#, "ArtifactNotFound",
     "version 9 of detector: MLflow answered 404 RESOURCE_DOES_NOT_EXIST: Model Version (name=detector, version=9) not found"),
    (502, "bad gateway", "ArtifactUnreachable", "version 9 of detector: MLflow answered 502"),
    (403, #"{"error_code":"PERMISSION_DENIED","message":"no"}"#, "ArtifactUnreadable", "version 9 of detector: MLflow answered 403 PERMISSION_DENIED: no"),
  ])
  func pinRefusals(_ status: Int, _ body: String, _ reason: String, _ message: String) {
    #expect(MLflowRESTRegistry.refusal(status: status, body: Array(body.utf8), what: "version 9 of detector") == .failed(reason: reason, message: message))
  }

  @Test("an operator without MLFLOW_TRACKING_URI pins nothing and says why")
  func pinNotConfigured() async {
    let pin = await MLflowRESTRegistry(environment: [:]).artifactDigest(name: "detector", version: "1", maxBytes: 100)
    guard case .failed(let reason, _) = pin else { Issue.record("pinned without a server: \(pin)"); return }
    #expect(reason == "MLflowNotConfigured")
  }

  @Test("an operator without MLFLOW_TRACKING_URI says so instead of guessing a server")
  func notConfigured() async {
    let lookup = await MLflowRESTRegistry(environment: [:]).lookUp(name: "detector", alias: "champion")
    guard case .failed(let reason, _) = lookup else { Issue.record("resolved without a server: \(lookup)"); return }
    #expect(reason == "MLflowNotConfigured")
  }
}

/// An `MLflowRegistry` that answers digests from a script, one answer per read (the last repeats),
/// and records which versions were read.
actor ScriptedRegistry: MLflowRegistry {
  private var answers: [String: [ArtifactPin]]
  private(set) var reads: [String] = []
  init(answers: [String: [ArtifactPin]]) { self.answers = answers }

  nonisolated func lookUp(name: String, alias: String) async -> AliasLookup { .failed(reason: "MLflowError", message: "not scripted") }

  func artifactDigest(name: String, version: String, maxBytes: Int) async -> ArtifactPin {
    reads.append(version)
    // Let other askers arrive while this read is "in flight".
    await Task.yield()
    var list = answers[version] ?? [.failed(reason: "ArtifactNotFound", message: "no version \(version)")]
    let answer = list.count > 1 ? list.removeFirst() : list[0]
    answers[version] = list
    return answer
  }
}
