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
    /// The alias `spec.model.uri` names.
    public var name: String
    public var alias: String
    /// This pass's answer from MLflow; nil when no look was due.
    public var lookup: AliasLookup?
    /// The Rollouts whose `spec.modelRef` names the model (the follow Rollouts among them are those
    /// the model controls).
    public var rollouts: [Rollout]
    public var now: String
    public init(model: EdgeModel, name: String, alias: String, lookup: AliasLookup?, rollouts: [Rollout], now: String) {
      self.model = model
      self.name = name
      self.alias = alias
      self.lookup = lookup
      self.rollouts = rollouts
      self.now = now
    }
  }

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

  public static func plan(_ input: Input) -> Plan {
    let model = input.model
    let modelName = model.metadata.name ?? ""
    let uri = model.spec.model.uri
    let follow = model.spec.model.follow
    let mode = follow?.mode ?? .update
    let generation = Int64(model.metadata.generation ?? 0)
    var status = model.status?.follow ?? FollowStatus()
    if status.uri != uri { status = FollowStatus() }  // another alias (or model): start over
    status.uri = uri
    let previous = model.status?.conditions?.first { $0.type == "ModelResolved" }
    var events: [PlannedEvent] = []

    var condition: StatusCondition
    switch input.lookup {
    case .version(let v)?:
      condition = StatusCondition(type: "ModelResolved", status: "True", observedGeneration: generation, reason: "Resolved",
                                  message: "alias \(input.alias) of \(input.name) names version \(v)")
      if let before = status.resolvedVersion, before != v {
        events.append(PlannedEvent(type: "Normal", reason: "AliasMoved",
                                   note: "alias \(input.alias) of \(input.name) moved from version \(before) to \(v)"))
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
                           message: "asking MLflow which version alias \(input.alias) of \(input.name) names")
    }
    if condition.status == "False", previous?.status != "False" || previous?.reason != condition.reason {
      events.append(PlannedEvent(type: "Warning", reason: condition.reason ?? "MLflowError", note: condition.message ?? ""))
    }

    let owned = followRollouts(of: model, in: input.rollouts)
    var serving = status.servingVersion ?? status.resolvedVersion   // the first version is deployed as it is
    var rollout: DesiredObject?
    status.rollout = nil
    status.message = nil
    if let resolved = status.resolvedVersion, let current = serving, resolved != current {
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
                                     version: resolved)
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
    status.servingVersion = serving
    // Keep the follow Rollout of the served version (its history) and of the resolved one; the rest
    // were superseded (an alias that moved on, or back, mid-rollout: the newest version wins).
    let keep = Set([serving, status.resolvedVersion].compactMap { $0 }.map { followRolloutName(model: modelName, version: $0) })
    let deletions = owned.compactMap(\.metadata.name).filter { !keep.contains($0) }.sorted()

    var source: ModelSource?
    if let serving {
      var s = model.spec.model
      s.uri = MLflowModelReference.pinned(name: input.name, version: serving)
      s.version = serving
      s.digest = nil
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
  static func followRollout(model: EdgeModel, name: String, pinned: String, version: String) -> JSONValue {
    var spec: JSONObject = [:]
    if case .object(let template)? = model.spec.model.follow?.rollout {
      for (key, value) in template where key != "modelRef" && key != "candidate" { spec[key] = value }
    }
    spec["modelRef"] = ["name": .string(model.metadata.name ?? "")]
    spec["candidate"] = ["model": ["uri": .string(pinned), "version": .string(version)]]
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
