import ControllerRuntime
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// What the Rollouts of a model ask of its EdgeModel: the model the stable workloads serve, and the
/// candidate to run beside them. Worked out from the Rollouts' spec and status alone
/// (docs/rollouts.md, "Who owns which field").
struct RolloutTracks: Sendable {
  struct Candidate: Sendable {
    var rollout: Rollout
    var source: ModelSource
    var hash: String
    /// The weight the candidate is scaled for (`RolloutPlanner.scaleWeight`).
    var weight: Int
    /// A router splits traffic by weight between two Services (Traefik, Gateway API, NGINX);
    /// false for the replica ratio, where the replica counts are the split.
    var weighted: Bool
  }

  /// The model the stable workloads serve: `spec.model`, unless a Rollout promoted a candidate over
  /// exactly this `spec.model` (the newest such promotion wins), or one is promoting now.
  var stableSource: ModelSource
  var candidate: Candidate?
  /// The active rollout finished its steps: the stable workloads move to its candidate.
  var promoting: Bool
  /// The active rollout's candidate while it has no workloads: its `mlflow://NAME/VERSION` has no
  /// digest, in its spec or in `pins` (the engine builder refuses such a model).
  var unpinnedCandidate: Candidate?
  /// The `mlflow://NAME/VERSION` URIs of the stable source and the candidate that the Rollouts name
  /// without a digest, stable first: what the reconciler pins (`ArtifactPins`) before planning.
  var urisToPin: [String] = []
  /// The digests of `urisToPin` found in `pins`, as the status records them (`EdgeModelStatus.pins`).
  var usedPins: [ModelPin] = []

  /// - Parameter pins: digests of `mlflow://NAME/VERSION` URIs read by the operator, by URI; they
  ///   fill the digest of a stable or candidate source that a Rollout names without one. The
  ///   Rollouts themselves are not changed: `candidateHash`, `isActive` and `promotedOver` keep
  ///   comparing their own spec (a digest written into it would make the Rollout look changed).
  /// - Parameter ownModel: the EdgeModel's `spec.model` as written, when `model.spec.model` holds
  ///   what the reconciler resolved it to (an MLflow alias or version pinned by `FollowPlanner`):
  ///   a promotion records the hash of the spec as written (`promotedOver`), so that is what the
  ///   stable workloads keep serving the promoted candidate over.
  init(model: EdgeModel, rollouts: [Rollout], pins: [String: String] = [:], ownModel: ModelSource? = nil) {
    let specSource = model.spec.model
    let specHash = RolloutPlanner.modelHash(ownModel ?? specSource)
    // The oldest active Rollout runs; the Rollout controller pauses the others (Conflict).
    let active = rollouts.filter(RolloutPlanner.isActive).min { Self.order($0) < Self.order($1) }
    let promoted = rollouts.filter { $0.status?.phase == .promoted && $0.status?.promotedOver == specHash }
      .max { ($0.status?.promotedAt ?? "") < ($1.status?.promotedAt ?? "") }
    var toPin: [String] = []
    var used: [ModelPin] = []
    /// `source` with the digest `pins` holds for it, when a Rollout named it without one.
    func pinned(_ source: ModelSource) -> ModelSource {
      guard Self.lacksDigest(source) else { return source }
      if !toPin.contains(source.uri) { toPin.append(source.uri) }
      guard let digest = pins[source.uri] else { return source }
      if !used.contains(where: { $0.uri == source.uri }) { used.append(ModelPin(uri: source.uri, digest: digest)) }
      var s = source
      s.digest = digest
      return s
    }
    var stable = promoted.map { pinned(RolloutPlanner.candidateSource($0, over: specSource)) } ?? specSource
    promoting = active?.status?.promotedAt != nil
    if let active {
      let source = pinned(RolloutPlanner.candidateSource(active, over: stable))
      if promoting { stable = source }
      let routing = active.spec.trafficRouting
      let weighted = routing?.gatewayAPI != nil || routing?.traefik != nil || routing?.nginx != nil
      let c = Candidate(rollout: active, source: source, hash: active.status?.candidateHash ?? "",
                        weight: RolloutPlanner.scaleWeight(active), weighted: weighted)
      if Self.lacksDigest(source) { unpinnedCandidate = c } else { candidate = c }
    }
    stableSource = stable
    urisToPin = toPin
    usedPins = used
  }

  /// The stable workloads would serve an `mlflow://NAME/VERSION` without a digest (a promoted
  /// candidate whose model file could not be read): the reconciler leaves them as they are.
  var isStableUnpinned: Bool { Self.lacksDigest(stableSource) }

  /// An `mlflow://NAME/VERSION` without a digest, which the engine builder refuses.
  static func lacksDigest(_ source: ModelSource) -> Bool {
    guard source.digest == nil, case .version? = MLflowModelReference(uri: source.uri) else { return false }
    return true
  }

  /// Creation time, then name: which of two Rollouts came first.
  static func order(_ r: Rollout) -> String {
    (r.metadata.creationTimestamp?.rfc3339 ?? "") + "/" + (r.metadata.name ?? "")
  }
}

extension EdgeModelPlanner {
  /// The candidate's replicas per node group, for the stable replicas `stable` of each group.
  ///
  /// A weighted router carries the weight itself, so the candidate needs only enough pods for its
  /// share, and at least one in every group with stable replicas from the start: its engines are
  /// built before any traffic is sent to it. With the replica ratio the pods *are* the split:
  /// none at weight 0, then ⌈total × weight / 100⌉ in all (Argo Rollouts scales a canary without
  /// traffic routing the same way, docs "Canary" → "Overview"), placed first in the groups with the
  /// most ready nodes to spare, where a pod beside the stable ones can be scheduled at all.
  static func candidateReplicaCounts(stable: [Int], weight: Int, weighted: Bool, groups: [Placement.NodeGroup]) -> [Int] {
    if weighted { return stable.map { $0 > 0 ? max(1, ($0 * weight + 99) / 100) : 0 } }
    let total = stable.reduce(0, +)
    var left = weight == 0 ? 0 : max(1, (total * weight + 99) / 100)
    var out = stable.map { _ in 0 }
    let order = stable.indices.filter { stable[$0] > 0 }.sorted { a, b in
      let spareA = groups[a].readyNodes.count - stable[a], spareB = groups[b].readyNodes.count - stable[b]
      return spareA != spareB ? spareA > spareB : a < b
    }
    for i in order where left > 0 {
      out[i] = min(stable[i], left)
      left -= out[i]
    }
    return out
  }

  /// With the replica ratio, the stable replicas per group: one steps aside for each candidate
  /// pod that is Ready (so capacity does not drop), or that waits for a GPU the stable pods hold
  /// (on a fleet with no GPU to spare, as a full group's rolling update does with maxUnavailable
  /// 1); one stays in all until the candidate has every request (weight 100).
  static func stableReplicaCounts(stable: [Int], candidates: [Int], readyCandidates: [Int], weight: Int) -> [Int] {
    var out = stable.indices.map { stable[$0] - min(candidates[$0], readyCandidates[$0]) }
    if weight < 100, out.reduce(0, +) == 0, let first = stable.indices.first(where: { stable[$0] > 0 }) { out[first] = 1 }
    return out
  }

  /// Candidate pods per group that are Ready, not terminating, and run the candidate's engine
  /// (`waiting`: instead, those the scheduler found no node for, in a group whose GPUs are all taken).
  static func readyCandidatePods(_ pods: [JSONValue], model: EdgeModel, candidate: RolloutTracks.Candidate,
                                 groups: [Placement.NodeGroup], waiting: Bool = false) -> [Int] {
    var spec = model.spec
    spec.model = candidate.source
    let name = model.metadata.name ?? ""
    return groups.map { group in
      let key = EnginePlan(spec: spec, group: group, modelName: name).key
      return pods.filter { pod in
        pod[path: ["metadata", "labels", Labels.track]]?.stringValue == Labels.candidateTrack
          && pod[path: ["metadata", "labels", Labels.nodeGroup]]?.stringValue == group.slug
          && pod[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue == key
          && pod[path: ["metadata", "deletionTimestamp"]] == nil && (waiting ? unschedulable([pod]) != nil : isReady(pod))
      }.count
    }
  }

  /// The candidate's workloads (and engines to report), one per node group with stable replicas.
  static func candidateObjects(model: EdgeModel, candidate: RolloutTracks.Candidate, groups: [Placement.NodeGroup], replicas: [Int],
                               pods: [JSONValue], builders: BuilderImages, previous: CandidateStatus?)
    -> (objects: [DesiredObject], status: CandidateStatus)
  {
    var candidateModel = model
    candidateModel.spec.model = candidate.source
    let name = model.metadata.name ?? ""
    var before: [String: EngineStatus] = [:]
    for e in previous?.engines ?? [] { if let k = e.key { before[k] = e } }
    var objects: [DesiredObject] = []
    var engines: [EngineStatus] = []
    for (i, group) in groups.enumerated() {
      let plan = EnginePlan(spec: candidateModel.spec, group: group, modelName: name)
      let template = podTemplate(model: candidateModel, group: group, plan: plan, builders: builders, track: Labels.candidateTrack)
      objects.append(DesiredObject(.deployments, workload(model: candidateModel, group: group, mode: .deployment, replicas: replicas[i],
                                                          template: template, candidate: true)))
      guard replicas[i] > 0 else { continue }
      let groupPods = pods.filter {
        $0[path: ["metadata", "labels", Labels.track]]?.stringValue == Labels.candidateTrack
          && $0[path: ["metadata", "labels", Labels.nodeGroup]]?.stringValue == group.slug
      }
      engines.append(engineStatus(plan: plan, group: group, pods: groupPods, previous: before[plan.key]))
    }
    var status = CandidateStatus()
    status.rollout = candidate.rollout.metadata.name
    status.hash = candidate.hash
    status.version = candidate.source.version
    status.weight = candidate.weight
    status.replicas = replicas.reduce(0, +)
    status.engines = engines.isEmpty ? nil : engines
    return (objects, status)
  }

  /// The candidate workload of a group: the stable name with `-c` before the group's slug, cut as
  /// `workloadName` cuts (both stay valid pod-name prefixes).
  public static func candidateWorkloadName(model: String, group: Placement.NodeGroup) -> String {
    let suffix = "-c-" + group.slug
    return String(model.prefix(max(1, 52 - suffix.count))) + suffix
  }

  /// The Service of a rollout's candidate pods, the second backend of a weighted router.
  public static func candidateServiceName(model: String) -> String {
    String(model.prefix(63 - "-candidate".count)) + "-candidate"
  }

  /// The PodDisruptionBudget of one node group's serving pods (stable and candidate alike), so
  /// that neither `kubectl drain` nor a fleet wave takes more of them at once than the spec allows
  /// (default `maxUnavailable: 1`). `unhealthyPodEvictionPolicy: AlwaysAllow` lets a drain evict a
  /// pod that is not Ready anyway (an engine still building), which the default `IfHealthyBudget`
  /// would refuse while the budget is spent (policy/v1 PodDisruptionBudgetSpec docs).
  ///
  /// A DaemonSet's pods get an integer `minAvailable` worked out from `daemonPods` (the pods the
  /// DaemonSet runs in the group): the disruption controller finds the expected count of pods only
  /// for controllers with a scale (ReplicaSets, Deployments, StatefulSets, ReplicationControllers,
  /// custom resources with a scale subresource), so for any other owner "only an integer value can
  /// be used with .spec.minAvailable" (kubernetes.io, "Specifying a Disruption Budget for your
  /// Application", arbitrary controllers); `maxUnavailable` there blocks every eviction.
  static func disruptionBudget(_ model: EdgeModel, group: Placement.NodeGroup, daemonPods: Int? = nil) -> JSONValue {
    let name = model.metadata.name ?? ""
    var spec: JSONObject = [
      "selector": ["matchLabels": [.init(Labels.model): .string(name), .init(Labels.nodeGroup): .string(group.slug)]],
      "unhealthyPodEvictionPolicy": "AlwaysAllow",
    ]
    let budget = model.spec.placement?.disruptionBudget
    if let pods = daemonPods {
      // Percentages as the disruption controller reads them: minAvailable rounds up, and
      // maxUnavailable rounds up too (intstr.GetScaledValueFromIntOrPercent with roundUp true).
      func scaled(_ v: IntOrString) -> Int {
        switch v {
        case .int(let n): return n
        case .string(let s): return (pods * (Int(s.dropLast()) ?? 0) + 99) / 100
        }
      }
      let minimum = budget?.minAvailable.map(scaled) ?? (pods - (budget?.maxUnavailable.map(scaled) ?? 1))
      spec["minAvailable"] = JSONValue(max(0, minimum))
    } else if let min = budget?.minAvailable {
      spec["minAvailable"] = ModelCoding.encode(min)
    } else {
      spec["maxUnavailable"] = budget?.maxUnavailable.map { ModelCoding.encode($0) } ?? 1
    }
    return [
      "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
      "metadata": [
        "name": .string(workloadName(model: name, group: group)),
        "namespace": .string(model.metadata.namespace ?? "default"),
        "labels": .object(podLabels(name: name, group: group, version: nil, track: nil)),
        "ownerReferences": [ownerReference(model)],
      ],
      "spec": .object(spec),
    ]
  }
}
