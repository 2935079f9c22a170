import ControllerRuntime
import EdgeMLVocabulary
import KubeCore

/// A followed MLflow alias → the version the stable workloads serve (pinned), the Rollout that
/// moves them to a new version, the `status.follow` and `ModelResolved` condition, and Events.
/// Pure: the lookup's answer and `now` come from the caller (docs/mlflow.md).
///
/// *Guarantees*: the pods only ever fetch `mlflow://NAME/VERSION`, never the alias, so a later move of
/// the alias cannot change a running pod, and a failed or missing lookup never changes what is served.
/// In mode `update` the served version becomes the resolved one at once; in mode `rollout` only when
/// the follow Rollout of that version is `Promoted`. Rollout names are deterministic
/// (`followRolloutName`), so a restarted operator adopts the Rollout it created before.
public enum FollowPlanner {
  public struct Input: Sendable {
    public var model: EdgeModel
    /// The registered model `spec.model.uri` names.
    public var name: String
    /// The alias `spec.model.uri` names; nil for `mlflow://NAME/VERSION` without a digest, which is
    /// pinned the same way and never moves.
    public var alias: String?
    /// This pass's answer from MLflow; nil when no look was due.
    public var lookup: AliasLookup?
    /// The Rollouts whose `spec.modelRef` names the model (the follow Rollouts among them are those
    /// the model controls).
    public var rollouts: [Rollout]
    public var now: String
    /// Digests of versions read this pass (`versionsToPin`), by version; those in the status count too.
    public var digests: [String: String]
    /// Why a version of `versionsToPin` has no digest, when one has none.
    public var pinFailure: PinFailure?
    public init(model: EdgeModel, name: String, alias: String?, lookup: AliasLookup?, rollouts: [Rollout], now: String,
                digests: [String: String] = [:], pinFailure: PinFailure? = nil) {
      self.model = model
      self.name = name
      self.alias = alias
      self.lookup = lookup
      self.rollouts = rollouts
      self.now = now
      self.digests = digests
      self.pinFailure = pinFailure
    }
  }

  /// A version whose model file could not be read to pin its digest.
  public struct PinFailure: Sendable, Equatable {
    public var version: String
    /// The `ModelResolved` reason (`pinReasons`).
    public var reason: String
    public var message: String
  }

  /// The `ModelResolved=False` reasons of a version that could not be pinned (docs/mlflow.md).
  public static let pinReasons: Set<String> = ["ArtifactUnreachable", "ArtifactNotFound", "ArtifactTooLarge", "ArtifactUnreadable"]

  public struct Plan: Sendable {
    /// What the stable workloads serve: `mlflow://NAME/VERSION`; nil while no version was ever resolved.
    public var source: ModelSource?
    /// The follow Rollout to exist (mode `rollout`, while the resolved version is not served yet).
    public var rollout: DesiredObject?
    /// Follow Rollouts to delete: superseded by a newer version, or of a version neither served nor resolved.
    public var deletions: [String]
    public var status: FollowStatus
    public var condition: StatusCondition
    public var events: [PlannedEvent]
  }

  /// Between two looks at the alias when the last one succeeded, unless `follow.interval` says
  /// otherwise: Argo CD's default polling of a git repository (`timeout.reconciliation`, 180 s,
  /// argo-cd docs "Reconcile Optimization" / argocd-cm.yaml), one GET per model.
  public static let defaultInterval: Duration = .seconds(180)

  /// The look interval of `follow` (its `interval`, else the default; at least a second).
  public static func interval(_ follow: ModelFollow?) -> Duration {
    guard let text = follow?.interval, let d = try? GoDuration(parsing: text), d.nanoseconds >= 1_000_000_000 else { return defaultInterval }
    return .nanoseconds(d.nanoseconds)
  }

  /// The delay before the next look after `failures` failed looks in a row: 10 s, doubling, at most
  /// the larger of the interval and 5 minutes — backoff, never a retry storm against a server that
  /// is down (client-go's item backoff doubles the same way, util/workqueue/default_rate_limiters.go).
  public static func retryDelay(failures: Int, interval: Duration) -> Duration {
    let cap = max(interval, .seconds(300))
    let exponent = min(max(failures - 1, 0), 16)
    return min(.seconds(10) * (1 << exponent), cap)
  }

  /// The follow Rollout of `version`: `<model>-mlflow-v<version>`, cut to 63 characters.
  public static func followRolloutName(model: String, version: String) -> String {
    let suffix = "-mlflow-v" + version
    return String(model.prefix(max(1, 63 - suffix.count))) + suffix
  }

  /// The status this pass starts from: the recorded one, unless it is about another URI.
  static func currentStatus(_ model: EdgeModel) -> FollowStatus {
    let status = model.status?.follow ?? FollowStatus()
    return status.uri == model.spec.model.uri ? status : FollowStatus()
  }

  /// The digests `status` records, by version.
  static func recordedDigests(_ status: FollowStatus) -> [String: String] {
    var digests: [String: String] = [:]
    if let v = status.servingVersion, let d = status.servingDigest { digests[v] = d }
    if let v = status.resolvedVersion, let d = status.resolvedDigest { digests[v] = d }
    return digests
  }

  /// The versions whose digest this pass needs and the status does not record: the one resolved
  /// (this look's answer, else the last), then the one served. The reconciler reads them
  /// (`ArtifactPins`) before planning.
  public static func versionsToPin(_ model: EdgeModel, lookup: AliasLookup?) -> [String] {
    let status = currentStatus(model)
    var resolved = status.resolvedVersion
    if case .version(let v)? = lookup { resolved = v }
    let known = recordedDigests(status)
    var out: [String] = []
    for v in [resolved, status.servingVersion].compactMap({ $0 }) where known[v] == nil && !out.contains(v) { out.append(v) }
    return out
  }

  public static func plan(_ input: Input) -> Plan {
    let model = input.model
    let modelName = model.metadata.name ?? ""
    let uri = model.spec.model.uri
    let follow = model.spec.model.follow
    let mode = follow?.mode ?? .update
    let generation = Int64(model.metadata.generation ?? 0)
    var status = currentStatus(model)  // another alias (or model): start over
    status.uri = uri
    let digests = recordedDigests(status).merging(input.digests) { _, new in new }
    let previous = model.status?.conditions?.first { $0.type == "ModelResolved" }
    var events: [PlannedEvent] = []
    let subject = input.alias.map { "alias \($0) of \(input.name)" } ?? "mlflow://\(input.name)"

    var condition: StatusCondition
    switch input.lookup {
    case .version(let v)?:
      condition = StatusCondition(type: "ModelResolved", status: "True", observedGeneration: generation, reason: "Resolved",
                                  message: input.alias == nil ? "version \(v) of \(input.name)" : "\(subject) names version \(v)")
      if let before = status.resolvedVersion, before != v {
        events.append(PlannedEvent(type: "Normal", reason: "AliasMoved", note: "\(subject) moved from version \(before) to \(v)"))
      }
      if status.resolvedVersion != v { status.resolvedAt = input.now }
      status.resolvedVersion = v
    case .failed(let reason, let message)?:
      let keeps = status.servingVersion.map { "; version \($0) stays served" } ?? "; nothing is deployed until it resolves"
      condition = StatusCondition(type: "ModelResolved", status: "False", observedGeneration: generation, reason: reason,
                                  message: message + keeps)
    case nil:
      condition = previous.flatMap { p in
        guard p.status == "True" || p.status == "False" else { return nil }
        var kept = p
        kept.observedGeneration = generation
        return kept
      } ?? StatusCondition(type: "ModelResolved", status: "Unknown", observedGeneration: generation, reason: "Resolving",
                           message: "asking MLflow which version \(subject) names")
    }
    // Pinning: a version is deployed (or rolled out) only with the digest of its model file.
    let resolvedDigest = status.resolvedVersion.flatMap { digests[$0] }
    if case .failed? = input.lookup {
      // The alias's failure is the news; the pin is retried with it.
    } else if let f = input.pinFailure {
      let keeps = status.servingVersion.map { $0 == f.version ? "; version \($0) stays served as it was" : "; version \($0) stays served" }
        ?? "; nothing is deployed until it is read"
      condition = StatusCondition(type: "ModelResolved", status: "False", observedGeneration: generation, reason: f.reason,
                                  message: "version \(f.version) of \(input.name) cannot be pinned: \(f.message)\(keeps)")
    } else if let digest = resolvedDigest, let v = status.resolvedVersion,
              input.lookup != nil || (condition.status == "False" && (input.alias == nil || pinReasons.contains(condition.reason ?? ""))) {
      // Resolved this pass, or read now after failing before: say what is pinned.
      condition = StatusCondition(type: "ModelResolved", status: "True", observedGeneration: generation, reason: "Resolved",
                                  message: (input.alias == nil ? "version \(v) of \(input.name)" : "\(subject) names version \(v)")
                                    + ", pinned to \(digest)")
    }
    if condition.status == "False", previous?.status != "False" || previous?.reason != condition.reason {
      events.append(PlannedEvent(type: "Warning", reason: condition.reason ?? "MLflowError", note: condition.message ?? ""))
    }

    let owned = followRollouts(of: model, in: input.rollouts)
    // The first version is deployed as it is, once pinned; a served version of an older operator
    // (no digest recorded) stays served while its digest is read.
    var serving = status.servingVersion ?? (resolvedDigest != nil ? status.resolvedVersion : nil)
    var rollout: DesiredObject?
    status.rollout = nil
    status.message = nil
    if let resolved = status.resolvedVersion, let current = serving, resolved != current {
      if resolvedDigest == nil {
        // Not pinned yet: nothing moves (a follow Rollout already made for it stays as it is).
        status.rollout = owned.first { $0.metadata.name == followRolloutName(model: modelName, version: resolved) }?.metadata.name
      } else {
        switch mode {
        case .update:
          events.append(PlannedEvent(type: "Normal", reason: "ModelUpdating", note: "serving version \(resolved) of \(input.name) (was \(current))"))
          serving = resolved
        case .rollout:
          let name = followRolloutName(model: modelName, version: resolved)
          let existing = owned.first { $0.metadata.name == name }
          if existing?.status?.phase == .promoted {
            serving = resolved
          } else {
            let object = followRollout(model: model, name: name, pinned: MLflowModelReference.pinned(name: input.name, version: resolved),
                                       version: resolved, digest: resolvedDigest)
            if let refusal = refusal(of: object) {
              // A Rollout the API server would refuse is not sent (its error would hold back every
              // status write of the model): the old version stays served and the status says why.
              let message = "follow.rollout does not make a valid Rollout (\(refusal)): version \(current) stays served"
              if model.status?.follow?.message != message {
                events.append(PlannedEvent(type: "Warning", reason: "InvalidFollowRollout", note: message))
              }
              status.message = message
            } else {
              if existing == nil {
                events.append(PlannedEvent(type: "Normal", reason: "RolloutCreated",
                                           note: "Rollout \(name) moves \(modelName) from version \(current) to \(resolved)"))
              }
              rollout = DesiredObject(Rollout.resource, object)
              status.rollout = name
              if existing?.status?.phase == .aborted {
                status.message = "Rollout \(name) was aborted: version \(current) stays served until the alias moves again or `kubectl edgeml retry \(name)`"
              }
            }
          }
        }
      }
    }
    status.servingVersion = serving
    status.servingDigest = serving.flatMap { digests[$0] }
    status.resolvedDigest = resolvedDigest
    // Keep the follow Rollout of the served version (its history) and of the resolved one; the rest
    // were superseded (an alias that moved on, or back, mid-rollout: the newest version wins). A
    // version named directly keeps none.
    let keep = input.alias == nil ? [] : Set([serving, status.resolvedVersion].compactMap { $0 }.map { followRolloutName(model: modelName, version: $0) })
    let deletions = owned.compactMap(\.metadata.name).filter { !keep.contains($0) }.sorted()

    var source: ModelSource?
    if let serving {
      var s = model.spec.model
      s.uri = MLflowModelReference.pinned(name: input.name, version: serving)
      s.version = serving
      s.digest = status.servingDigest
      s.follow = nil
      source = s
    }
    return Plan(source: source, rollout: rollout, deletions: deletions, status: status, condition: condition, events: events)
  }

  /// Why `rollout` would not read as a Rollout (a field missing or of the wrong type), nil when it reads.
  static func refusal(of rollout: JSONValue) -> String? {
    do {
      _ = try Rollout(json: rollout)
      return nil
    } catch {
      return "\(error)"
    }
  }

  /// The Rollouts `model` controls: those a followed alias started (no other Rollout is owned by an EdgeModel).
  public static func followRollouts(of model: EdgeModel, in rollouts: [Rollout]) -> [Rollout] {
    rollouts.filter { r in r.metadata.ownerReferences?.contains { $0.uid == model.metadata.uid && $0.controller == true } == true }
  }

  /// A Rollout of `version`: the user's `follow.rollout` fields, with the operator's `modelRef` and
  /// `candidate`, controlled by the EdgeModel (deleted with it).
  static func followRollout(model: EdgeModel, name: String, pinned: String, version: String, digest: String?) -> JSONValue {
    var spec: JSONObject = [:]
    if case .object(let template)? = model.spec.model.follow?.rollout {
      for (key, value) in template where key != "modelRef" && key != "candidate" { spec[key] = value }
    }
    spec["modelRef"] = ["name": .string(model.metadata.name ?? "")]
    var candidate: JSONValue = ["uri": .string(pinned), "version": .string(version)]
    if let digest { candidate["digest"] = .string(digest) }
    spec["candidate"] = ["model": candidate]
    return [
      "apiVersion": .string(EdgeMLAPI.apiVersion), "kind": "Rollout",
      "metadata": [
        "name": .string(name), "namespace": .string(model.metadata.namespace ?? "default"),
        "labels": [.init(ObjectLabels.model): .string(model.metadata.name ?? ""),
                   .init(ObjectLabels.managedBy): .string(ObjectLabels.managedByValue)],
        "ownerReferences": [EdgeModelPlanner.ownerReference(model)],
      ],
      "spec": .object(spec),
    ]
  }
}
