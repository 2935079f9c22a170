import ControllerRuntime
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// The EdgeModel controller's reconciler: reads the caches, asks `EdgeModelPlanner` what the
/// cluster should hold, and returns that as a plan for the framework's applier (workloads and
/// Service by server-side apply, workloads of vanished node groups pruned, status and Events).
/// All decisions are the planner's; this type only gathers its input.
///
/// *Guarantees*: level-based and idempotent. The applier writes an object only when its applied
/// hash changed and the status only when it changed, so a steady cluster sees zero API writes.
/// Failures need no requeue of their own: the kubelet backs off a failing init container, and
/// every change of a pod, workload or node wakes the reconcile again.
public struct EdgeModelReconciler: ObjectReconciler {
  public static let resource = EdgeModel.resource
  public static let daemonSets = GroupVersionResource(group: "apps", version: "v1", resource: "daemonsets", namespaced: true)
  public static let services = GroupVersionResource(group: "", version: "v1", resource: "services", namespaced: true)
  public static let disruptionBudgets = GroupVersionResource(group: "policy", version: "v1", resource: "poddisruptionbudgets", namespaced: true)
  public static let rollouts = Rollout.resource

  /// Indexes Rollouts by the EdgeModel they roll out (`namespace/name` from `spec.modelRef.name`).
  public static let rolloutIndexers: [String: Store.IndexFunction] = ["model": rolloutModelKey(of:)]

  /// The key of the EdgeModel a Rollout rolls out.
  public static func rolloutModelKey(of object: JSONValue) -> [String] {
    guard let m = object[path: ["spec", "modelRef", "name"]]?.stringValue else { return [] }
    return ["\(object[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(m)"]
  }

  /// Indexes objects by the EdgeModel they belong to (`namespace/name` from `edgeml.io/model`).
  public static let modelIndexers: [String: Store.IndexFunction] = ["model": modelKey(of:)]

  /// The key of the EdgeModel an object belongs to, from its `edgeml.io/model` label.
  public static func modelKey(of object: JSONValue) -> [String] {
    guard let m = object[path: ["metadata", "labels", EdgeModelPlanner.Labels.model]]?.stringValue else { return [] }
    return ["\(object[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(m)"]
  }

  public let builderImage: String
  /// Builder images by L4T release (`BuilderImages.byL4T`).
  public let builderImagesByL4T: [String: String]
  /// GPUs the operator's pods hold per node, kept from the pod watch (see `GPUUsage`).
  let gpuUsage: GPUUsage
  /// Nodes read once per change and placements remembered while they stay the same (a fleet of a
  /// thousand nodes and a thousand models would otherwise re-read and re-check every node for every
  /// reconcile of every model).
  let nodeViews = NodeViews()

  /// Where a model named by an MLflow alias (`mlflow://NAME@ALIAS`) is resolved (docs/mlflow.md).
  let mlflow: any MLflowRegistry
  /// When each followed alias is looked at next.
  let followSchedule = FollowSchedule()
  /// The digests of the MLflow model versions read, and when to read again those that failed.
  let artifactPins = ArtifactPins()

  /// - Parameters:
  ///   - gpuUsage: the tally the controller's pod watch keeps (`OperatorAssembly` wires it).
  ///   - mlflow: the registry followed aliases are resolved in.
  init(builderImage: String, builderImagesByL4T: [String: String] = [:], gpuUsage: GPUUsage, mlflow: any MLflowRegistry) {
    self.builderImage = builderImage
    self.builderImagesByL4T = builderImagesByL4T
    self.gpuUsage = gpuUsage
    self.mlflow = mlflow
  }

  public func decode(_ json: JSONValue) throws -> EdgeModel { try Decoded.model(json) }

  public func plan(_ model: EdgeModel, json: JSONValue, context: ReconcileContext) async throws -> ReconcilePlan {
    guard let nodeStore = context.caches.store(.nodes), let podStore = context.caches.store(.pods) else {
      throw TerminalError(PlanError.badMetadata("the EdgeModel controller runs without its node and pod caches"))
    }
    let key = context.request.description
    var model = model
    let ownModel = model.spec.model
    var rollouts = await context.caches.store(Self.rollouts)?.byIndex("model", key).compactMap { try? Decoded.rollout($0) } ?? []
    let now = context.clock.timestamp.rfc3339
    // A model from MLflow (an alias, or a version without a digest) is planned as the version it
    // serves, pinned to that version and the digest of its model file.
    var follow: FollowPlanner.Plan?
    var followRequeue: Duration?
    if let resolved = await resolve(model, key: key, context: context) {
      let (digests, failure, retry) = await pin(model, name: resolved.name, lookup: resolved.lookup, context: context)
      let f = FollowPlanner.plan(.init(model: model, name: resolved.name, alias: resolved.alias, lookup: resolved.lookup,
                                       rollouts: rollouts, now: now, digests: digests, pinFailure: failure))
      try await deleteRollouts(f.deletions, namespace: model.metadata.namespace ?? "default", context: context)
      rollouts.removeAll { f.deletions.contains($0.metadata.name ?? "") }
      follow = f
      followRequeue = [resolved.next, retry].compactMap { $0 }.min()
      guard let source = f.source else {
        // No version known yet: nothing to deploy, and nothing pruned (workloads a former spec.model
        // left keep serving until the alias resolves).
        var status = model.status ?? EdgeModelStatus()
        status.follow = f.status
        status.conditions = Self.setting(f.condition, in: model.status?.conditions, now: now)
        status.phase = status.phase ?? .pending
        publishMetrics(model, status: status, request: context.request)
        return ReconcilePlan(status: ModelCoding.encode(status), events: f.events, requeueAfter: followRequeue)
      }
      model.spec.model = source
    } else {
      // Not following (any more): the Rollouts this model started for an alias go.
      let owned = FollowPlanner.followRollouts(of: model, in: rollouts)
      try await deleteRollouts(owned.compactMap(\.metadata.name), namespace: model.metadata.namespace ?? "default", context: context)
      rollouts.removeAll { r in owned.contains { $0.metadata.name == r.metadata.name } }
    }
    // A Rollout's candidate (or promoted candidate) named as an MLflow version without a digest is
    // planned with the digest of its model file, read once; the Rollouts' spec stays as it is.
    let unpinned = RolloutTracks(model: model, rollouts: rollouts, ownModel: ownModel)
    let (pins, pinFailure, pinRetry) = await pinRolloutModels(model, wanted: unpinned.urisToPin, context: context)
    // Built once more only when there are digests to plan with (built once per reconcile otherwise).
    let tracks = pins.isEmpty ? unpinned : RolloutTracks(model: model, rollouts: rollouts, pins: pins, ownModel: ownModel)
    if tracks.isStableUnpinned {
      // The stable workloads would serve a model the engine builder refuses: nothing is written
      // or pruned (they keep serving what they serve) until its file is read.
      var status = model.status ?? EdgeModelStatus()
      if let follow {
        status.follow = follow.status
        status.conditions = Self.setting(follow.condition, in: status.conditions, now: now)
      }
      let before = status
      if let condition = EdgeModelPlanner.pinCondition(tracks, failure: pinFailure, generation: model.metadata.generation ?? 0) {
        status.conditions = Self.setting(condition, in: status.conditions, now: now)
      }
      publishMetrics(model, status: status, request: context.request)
      return ReconcilePlan(status: ModelCoding.encode(status), events: (follow?.events ?? []) + EdgeModelPlanner.events(from: before, to: status),
                           requeueAfter: [followRequeue, pinRetry].compactMap { $0 }.min())
    }
    let (nodes, placement) = await nodeViews.placement(of: model.spec, nodes: nodeStore)
    let pods = await podStore.byIndex("model", key)
    // The planner wants the GPUs of other models' pods (the tally less this model's own) to choose
    // between node groups; with one group there is no choice to make.
    var inUse: [String: Int] = [:]
    if placement.groups.count > 1 { inUse = Self.gpusInUse(await gpuUsage.byNode, lessOwn: pods) }
    let daemonSets = model.spec.placement?.mode == .daemonSet ? await context.caches.store(Self.daemonSets)?.byIndex("model", key) ?? [] : []
    let policies = await context.caches.store(DriftPolicy.resource)?.byIndex("model", key).compactMap { try? DriftPolicy(json: $0) } ?? []
    var input = EdgeModelPlanner.Input(model: model, nodes: nodes, pods: pods, builderImage: builderImage,
                                       now: now, placement: placement, gpusInUse: inUse,
                                       rollouts: rollouts, daemonSets: daemonSets,
                                       driftAgent: DriftAgentSidecar.container(policies: policies, image: builderImage))
    input.builderImagesByL4T = builderImagesByL4T
    input.pins = pins
    input.pinFailure = pinFailure
    input.ownModel = ownModel
    input.tracks = tracks
    var plan = EdgeModelPlanner.plan(input)
    if let follow {
      plan.status.follow = follow.status
      plan.status.conditions = Self.setting(follow.condition, in: plan.status.conditions, previous: model.status?.conditions, now: now)
      plan.events += follow.events
      if let r = follow.rollout { plan.objects.append(r) }
    }
    publishMetrics(model, status: plan.status, request: context.request)
    let refused = await evict(plan.evictions, namespace: model.metadata.namespace ?? "default", context: context)
    let requeue = [refused ? Duration.seconds(10) : nil, followRequeue, pinRetry].compactMap { $0 }.min()
    return ReconcilePlan(objects: plan.objects, prune: [.deployments, Self.daemonSets, Self.services, Self.disruptionBudgets],
                         status: ModelCoding.encode(plan.status),
                         events: plan.events,
                         requeueAfter: requeue)
  }

  /// The GPUs other models' pods hold per node: `tally` (every pod of the operator's, as
  /// `GPUUsage` keeps it) less what the model's own `pods` hold (see `EdgeModelPlanner.Input.gpusInUse`).
  public static func gpusInUse(_ tally: [String: Int], lessOwn pods: [JSONValue]) -> [String: Int] {
    var inUse = tally
    for pod in pods {
      guard let node = GPUUsage.holder(pod) else { continue }
      inUse[node] = max(0, (inUse[node] ?? 0) - 1)
    }
    return inUse
  }

  /// The GPUs `pods` hold per node, counted as `GPUUsage` counts them from the pod watch.
  public static func gpuTally(_ pods: [JSONValue]) -> [String: Int] {
    var tally: [String: Int] = [:]
    for pod in pods { if let node = GPUUsage.holder(pod) { tally[node, default: 0] += 1 } }
    return tally
  }

  /// The model's series (`ResourceMetrics.edgeModel`) from the status about to be written.
  func publishMetrics(_ model: EdgeModel, status: EdgeModelStatus, request: ReconcileRequest) {
    let kept = Self.seriesStatus(status)
    let (namespace, name, specVersion) = (request.namespace, request.name, model.spec.model.version)
    ObjectMetrics.shared.setGauges(ResourceMetrics.key("EdgeModel", request)) { [kept] in
      ResourceMetrics.edgeModel(namespace: namespace, name: name, specVersion: specVersion, status: kept)
    }
  }

  /// What of `status` the model's series are made from (`ResourceMetrics.edgeModel`), kept until
  /// the next scrape: not the conditions, messages or pins.
  static func seriesStatus(_ status: EdgeModelStatus) -> EdgeModelStatus {
    var kept = EdgeModelStatus()
    kept.phase = status.phase
    kept.readyReplicas = status.readyReplicas
    kept.currentVersion = status.currentVersion
    kept.engines = status.engines?.map { engine in
      var e = EngineStatus()
      e.nodeGroup = engine.nodeGroup
      e.state = engine.state
      return e
    }
    return kept
  }

  /// The model was deleted: its series go.
  public func forget(_ request: ReconcileRequest) async {
    ObjectMetrics.shared.forget(ResourceMetrics.key("EdgeModel", request))
  }

  /// The registered model, alias and this pass's answer of a model from MLflow, with the delay
  /// until the next look at its alias; nil when the model is not one `FollowPlanner` plans (another
  /// scheme, or `mlflow://NAME/VERSION` with its digest given).
  ///
  /// A version named directly needs no look: it is its own answer, on every pass.
  func resolve(_ model: EdgeModel, key: String, context: ReconcileContext) async
    -> (name: String, alias: String?, lookup: AliasLookup?, next: Duration?)? {
    switch MLflowModelReference(uri: model.spec.model.uri) {
    case .alias(let name, let alias)?:
      let (lookup, next) = await lookUp(name: name, alias: alias, model: model, key: key, context: context)
      return (name, alias, lookup, next)
    case .version(let name, let version)? where model.spec.model.digest == nil:
      return (name, nil, .version(version), nil)
    default:
      return nil
    }
  }

  /// Asks MLflow for the alias when a look is due (on the controller's clock), and returns the
  /// answer (nil when none was due) with the delay until the next look.
  func lookUp(name: String, alias: String, model: EdgeModel, key: String, context: ReconcileContext) async -> (AliasLookup?, Duration) {
    let uri = model.spec.model.uri
    let interval = FollowPlanner.interval(model.spec.model.follow)
    guard await followSchedule.isDue(key, uri: uri, now: context.clock.now) else {
      return (nil, await followSchedule.remaining(key, now: context.clock.now) ?? interval)
    }
    let lookup = await mlflow.lookUp(name: name, alias: alias)
    var succeeded = false
    if case .version = lookup { succeeded = true }
    if !succeeded { context.logger.warning("MLflow alias not resolved", metadata: ["mlflow.alias": "\(uri)", "error": "\(lookup)"]) }
    let next = await followSchedule.record(key, uri: uri, succeeded: succeeded, interval: interval, now: context.clock.now)
    return (lookup, next)
  }

  /// The digests of the versions the pass needs and the status does not record
  /// (`FollowPlanner.versionsToPin`), read once per version (`ArtifactPins`); the first failure; and
  /// the delay until a failed read is tried again.
  func pin(_ model: EdgeModel, name: String, lookup: AliasLookup?, context: ReconcileContext) async
    -> ([String: String], FollowPlanner.PinFailure?, Duration?) {
    let read = await pinVersions(FollowPlanner.versionsToPin(model, lookup: lookup).map { (name, $0) }, model: model, context: context)
    var digests: [String: String] = [:]
    for p in read.pinned { digests[p.version] = p.digest }
    let failure = read.failure.map { FollowPlanner.PinFailure(version: $0.version, reason: $0.reason, message: $0.message) }
    return (digests, failure, read.retry)
  }

  /// The digests of `wanted`, the `mlflow://NAME/VERSION` models the Rollouts name without one
  /// (`RolloutTracks.urisToPin`): those `status.pins` records, and the others read once per version
  /// (`ArtifactPins`, under `spec.model.sizeLimit`, which a candidate inherits); the first failure;
  /// and the delay until a failed read is tried again.
  func pinRolloutModels(_ model: EdgeModel, wanted: [String], context: ReconcileContext) async
    -> ([String: String], EdgeModelPlanner.PinFailure?, Duration?) {
    guard !wanted.isEmpty else { return ([:], nil, nil) }
    var pins: [String: String] = [:]
    for p in model.status?.pins ?? [] where wanted.contains(p.uri) { pins[p.uri] = p.digest }
    var versions: [(name: String, version: String)] = []
    for uri in wanted where pins[uri] == nil {
      if case .version(let name, let version)? = MLflowModelReference(uri: uri) { versions.append((name, version)) }
    }
    let read = await pinVersions(versions, model: model, context: context)
    for p in read.pinned { pins[MLflowModelReference.pinned(name: p.name, version: p.version)] = p.digest }
    let failure = read.failure.map {
      EdgeModelPlanner.PinFailure(uri: MLflowModelReference.pinned(name: $0.name, version: $0.version), reason: $0.reason, message: $0.message)
    }
    return (pins, failure, read.retry)
  }

  /// Reads the digest of each of `versions` through `artifactPins`: the versions pinned with their digests, the
  /// first failure, and the delay until a failed read is tried again.
  func pinVersions(_ versions: [(name: String, version: String)], model: EdgeModel, context: ReconcileContext) async
    -> (pinned: [(name: String, version: String, digest: String)], failure: (name: String, version: String, reason: String, message: String)?,
        retry: Duration?) {
    var pinned: [(name: String, version: String, digest: String)] = []
    var failure: (name: String, version: String, reason: String, message: String)?
    var retry: Duration?
    let maxBytes = model.spec.model.sizeLimit.flatMap(EnginePlan.bytes) ?? Self.defaultMaxFetchBytes
    for (name, version) in versions {
      let outcome = await artifactPins.pin(name: name, version: version, maxBytes: maxBytes,
                                           interval: FollowPlanner.interval(model.spec.model.follow), registry: mlflow,
                                           now: context.clock.now)
      switch outcome {
      case .pinned(let digest):
        pinned.append((name, version, digest))
        context.logger.info("MLflow model version pinned", metadata: ["mlflow.model": "\(name)", "mlflow.version": "\(version)",
                                                                     "model.digest": "\(digest)"])
      case .failed(let reason, let message, let retryIn):
        if failure == nil { failure = (name, version, reason, message) }
        retry = min(retry ?? retryIn, retryIn)
        context.logger.warning("MLflow model version not pinned", metadata: ["mlflow.model": "\(name)", "mlflow.version": "\(version)",
                                                                            "reason": "\(reason)"])
      }
    }
    return (pinned, failure, retry)
  }

  /// The engine builder's own limit on a fetch when `spec.model.sizeLimit` is not set
  /// (`FetchContext.defaultMaxBytes`, 4 GiB): the operator reads no more than the builder would.
  static let defaultMaxFetchBytes = 4 << 30

  /// `condition` set among `conditions`, keeping its transition time from `previous` when its status is unchanged.
  static func setting(_ condition: StatusCondition, in conditions: [StatusCondition]?, previous: [StatusCondition]? = nil,
                      now: String) -> [StatusCondition] {
    var list = (conditions ?? []).filter { $0.type != condition.type }
    list.append(EdgeModelPlanner.keepTransitionTime(condition, previous: previous ?? conditions, now: now))
    return list
  }

  /// Deletes the follow Rollouts the plan no longer wants (a 404 is gone already).
  func deleteRollouts(_ names: [String], namespace: String, context: ReconcileContext) async throws {
    for name in names {
      do {
        _ = try await context.client.delete(Self.rollouts, namespace: namespace, name: name, propagationPolicy: "Background")
        context.logger.info("Deleted a superseded follow Rollout", metadata: ["rollout": "\(name)"])
      } catch let error as KubeAPIError where error.isNotFound {}
    }
  }

  /// Evicts a fleet wave's pods through the Eviction API, so the node group's PodDisruptionBudget
  /// has its say as it has in `kubectl drain`. The DaemonSet re-creates each on the candidate; the
  /// pod watch wakes the next pass. Returns whether any was refused (429: the budget is spent just
  /// now; looked at again in 10 s). The client retries a 429 a few times itself first.
  func evict(_ names: [String], namespace: String, context: ReconcileContext) async -> Bool {
    var refused = false
    for name in names {
      let eviction: JSONValue = ["apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": .string(name), "namespace": .string(namespace)]]
      do {
        _ = try await context.client.send(method: "POST", path: "/api/v1/namespaces/\(namespace)/pods/\(name)/eviction",
                                          body: eviction)
        context.logger.info("Evicted for a fleet wave", metadata: ["pod": "\(name)"])
      } catch let error as KubeAPIError where error.code == 404 {
        continue   // gone already
      } catch {
        refused = true
        context.logger.warning("Eviction refused", metadata: ["pod": "\(name)", "error": "\(error)"])
      }
    }
    return refused
  }
}

/// GPUs held by the operator's pods, per node, kept up to date from the pod watch's old and new
/// objects (a count per change, not a scan of every pod per reconcile: a thousand models reconcile
/// thousands of times while they come up).
///
/// *Assumptions*: a pod of ours holds one GPU while it is bound to a node and not finished, as its
/// template requests one `nvidia.com/gpu` wherever the device plugin runs (kube-scheduler counts a
/// terminating pod's requests until it is gone, and so does this). Pods of other workloads are not
/// cached, so their GPUs are not counted; the scheduler's word on them reaches the status instead.
actor GPUUsage {
  private(set) var byNode: [String: Int] = [:]

  func apply(_ change: ObjectChange) {
    if let node = change.old.flatMap(Self.holder) {
      let left = (byNode[node] ?? 0) - 1
      byNode[node] = left > 0 ? left : nil
    }
    if let node = change.new.flatMap(Self.holder) { byNode[node, default: 0] += 1 }
  }

  /// The node whose GPU `pod` holds, if it holds one.
  static func holder(_ pod: JSONValue) -> String? {
    guard let node = pod[path: ["spec", "nodeName"]]?.stringValue, !node.isEmpty else { return nil }
    let phase = pod[path: ["status", "phase"]]?.stringValue
    return phase == "Succeeded" || phase == "Failed" ? nil : node
  }
}

/// `JetsonNode` views of the cached Nodes, and the placements worked out from them.
///
/// Views are remade only when the node store changed, and then only for nodes whose resourceVersion
/// moved. A placement depends on nothing but the views and the spec's placement fields, so it is
/// remembered per distinct placement spec until a view changes: a thousand models with the same
/// placement are placed once per change of the fleet, not once per reconcile.
actor NodeViews {
  /// The spec fields `Placement.evaluate` reads (not replicas or mode).
  struct PlacementKey: Hashable {
    var jetson: JetsonRequirements?
    var nodeSelector: [String: String]?
    var tolerations: [Toleration]?
    var dlaCore: Int?
  }

  private var views: [String: (resourceVersion: String, view: JetsonNode)] = [:]
  private var snapshot: [JetsonNode] = []
  private var storeGeneration: UInt64?
  private var placements: [PlacementKey: Placement.Result] = [:]
  /// Distinct placement specs remembered at once; past it the memo starts over.
  static let memoLimit = 512

  func placement(of spec: EdgeModelSpec, nodes store: Store) async -> ([JetsonNode], Placement.Result) {
    let generation = await store.generation
    if generation != storeGeneration {
      refresh(await store.list())
      storeGeneration = generation
    }
    let key = PlacementKey(jetson: spec.placement?.jetson, nodeSelector: spec.placement?.nodeSelector,
                           tolerations: spec.placement?.tolerations, dlaCore: spec.engine?.dlaCore)
    if let hit = placements[key] { return (snapshot, hit) }
    let result = Placement.evaluate(spec, nodes: snapshot)
    if placements.count >= Self.memoLimit { placements.removeAll() }
    placements[key] = result
    return (snapshot, result)
  }

  private func refresh(_ nodes: [JSONValue]) {
    var next: [String: (resourceVersion: String, view: JetsonNode)] = [:]
    next.reserveCapacity(nodes.count)
    var out: [JetsonNode] = []
    out.reserveCapacity(nodes.count)
    for node in nodes {
      let name = node[path: ["metadata", "name"]]?.stringValue ?? ""
      let rv = node[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
      let view: JetsonNode
      if let hit = views[name], hit.resourceVersion == rv, !rv.isEmpty { view = hit.view } else { view = JetsonNode(json: node) }
      next[name] = (rv, view)
      out.append(view)
    }
    // The store lists in key order, which for Nodes is name order: what placement sorts by.
    if out != snapshot { placements.removeAll() }
    views = next
    snapshot = out
  }
}
