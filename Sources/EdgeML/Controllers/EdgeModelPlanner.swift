import ControllerRuntime
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// Observed EdgeModel, nodes and owned objects → desired workloads, Service and status, plus the
/// Events a change of state deserves. Pure: no clock, no I/O (the caller passes `now`), so the
/// whole behaviour of the EdgeModel controller is testable without a server.
public enum EdgeModelPlanner {
  public struct Input: Sendable {
    public var model: EdgeModel
    public var nodes: [JetsonNode]
    /// Pods labelled `edgeml.io/model=<name>` in the model's namespace.
    public var pods: [JSONValue]
    /// The operator's engine builder image: used for a model whose model changed (or that has none
    /// recorded), else the one `status.builder` recorded stays (see `builder(for:default:)`).
    public var builderImage: String
    /// Builder images by L4T release (`BuilderImages.byL4T`; the operator's `--builder-images`).
    public var builderImagesByL4T: [String: String] = [:]
    public var now: String
    /// `Placement.evaluate(model.spec, nodes: nodes)` when the caller already has it (the reconciler
    /// remembers it while the nodes stay the same); worked out here when nil.
    public var placement: Placement.Result?
    /// `RolloutTracks(model:rollouts:pins:ownModel:)` of this input when the caller already has it
    /// (the reconciler builds it to know what to pin); worked out here when nil.
    var tracks: RolloutTracks?
    /// `nvidia.com/gpu` requested on each node (by node name) by pods that are not this model's:
    /// other EdgeModels' pods, and anything else the caller knows to hold a GPU there.
    ///
    /// Replicas are split among node groups by the GPUs free for this model: each ready node's
    /// allocatable minus this. Count only pods bound to the node (`spec.nodeName`) that are not
    /// finished (phase Succeeded or Failed): a Pending pod holds no GPU.
    ///
    /// *Assumptions:* the model's own pods are left out. The GPUs they hold count as free for it,
    /// so its running replicas are where it has room and never move; counting them here would
    /// make a model move away from its own pods.
    ///
    /// *Caveats:* the caller's view may lag (other models' pods arrive through the pod cache). A
    /// stale view only sends a replica to a group that turns out full; its pod then waits there
    /// as Pending (the status says Unschedulable) and the next reconcile moves it to a free GPU.
    /// Empty (the default): every allocatable GPU counts as free, as if the model were alone.
    public var gpusInUse: [String: Int]
    /// The Rollouts whose `spec.modelRef` names this model: an active one adds the candidate's
    /// workloads, a promoted one may change the model the stable workloads serve.
    public var rollouts: [Rollout]
    /// The model's DaemonSets as cached (their metadata is enough): a fleet rollout evicts pods
    /// only once they carry its template.
    public var daemonSets: [JSONValue]
    /// The `drift-agent` sidecar of the DriftPolicies targeting the model (`DriftAgentSidecar`),
    /// added to every serving pod template; nil: none.
    public var driftAgent: JSONValue?
    /// Digests of the `mlflow://NAME/VERSION` models the Rollouts name without one, by URI
    /// (`RolloutTracks.urisToPin`): the status's `pins` and those the reconciler just read.
    public var pins: [String: String] = [:]
    /// Why one of those URIs has no digest, when one has none.
    public var pinFailure: PinFailure?
    /// The EdgeModel's `spec.model` as written, when `model.spec.model` is what the reconciler
    /// resolved it to (`FollowPlanner.Plan.source`); a promotion's `promotedOver` is its hash.
    public var ownModel: ModelSource?
    public init(model: EdgeModel, nodes: [JetsonNode], pods: [JSONValue], builderImage: String, now: String,
                placement: Placement.Result? = nil, gpusInUse: [String: Int] = [:], rollouts: [Rollout] = [],
                daemonSets: [JSONValue] = [], driftAgent: JSONValue? = nil) {
      self.driftAgent = driftAgent
      self.rollouts = rollouts
      self.daemonSets = daemonSets
      self.model = model
      self.nodes = nodes
      self.placement = placement
      self.gpusInUse = gpusInUse
      self.pods = pods
      self.builderImage = builderImage
      self.now = now
    }
  }

  public struct Plan: Sendable {
    /// Objects to apply (server-side apply), each with the resource it is written to; the applier
    /// stamps `edgeml.io/applied-hash` on them.
    public var objects: [DesiredObject]
    public var status: EdgeModelStatus
    public var events: [PlannedEvent]
    public var placement: Placement.Result
    /// Serving pods to evict (policy/v1 Eviction) for a fleet rollout's wave, by name.
    public var evictions: [String] = []
  }

  public static let fieldManager = "edgeml-operator"
  /// The labels and annotations on what the operator creates: the shared vocabulary's list.
  public typealias Labels = ObjectLabels

  /// An `mlflow://NAME/VERSION` a Rollout names whose model file could not be read to pin its digest.
  public struct PinFailure: Sendable, Equatable {
    public var uri: String
    /// One of `FollowPlanner.pinReasons`.
    public var reason: String
    public var message: String
    public init(uri: String, reason: String, message: String) {
      self.uri = uri
      self.reason = reason
      self.message = message
    }
  }

  public static func plan(_ input: Input) -> Plan {
    let tracks = input.tracks ?? RolloutTracks(model: input.model, rollouts: input.rollouts, pins: input.pins, ownModel: input.ownModel)
    let pinned = pinCondition(tracks, failure: input.pinFailure, generation: input.model.metadata.generation ?? 0)
    var model = input.model
    model.spec.model = tracks.stableSource
    let spec = model.spec
    let allPods = input.pods
    let stablePods = allPods.filter { $0[path: ["metadata", "labels", Labels.track]]?.stringValue != Labels.candidateTrack }
    let name = model.metadata.name ?? ""
    let generation = Int(model.metadata.generation ?? 0)
    let placement = input.placement ?? Placement.evaluate(spec, nodes: input.nodes)
    let mode = spec.placement?.mode ?? .deployment
    let replicas: [Int]
    switch mode {
    case .deployment:
      // With one group there is nothing to choose between (every pass fills the one group up to its
      // cap), so the loads, O(nodes) per reconcile, are worked out only when there is a choice.
      replicas = distribute(spec.placement?.replicas ?? 1, over: placement.groups,
                            loads: placement.groups.count > 1
                              ? loads(of: placement.groups, nodes: input.nodes, gpusInUse: input.gpusInUse, pods: stablePods) : nil)
    case .daemonSet:
      replicas = placement.groups.map(\.readyNodes.count)
    }

    let builder = builder(for: model, default: input.builderImage)
    let builders = BuilderImages(tools: builder.image ?? input.builderImage, byL4T: input.builderImagesByL4T)
    // A fleet rollout changes the DaemonSets' template itself (with OnDelete): see +Fleet.
    let fleetCandidate = mode == .daemonSet ? tracks.candidate.flatMap { $0.rollout.spec.strategy.fleet != nil ? $0 : nil } : nil
    var candidateModel = model
    if let f = fleetCandidate { candidateModel.spec.model = f.source }
    var objects: [DesiredObject] = []
    var engines: [EngineStatus] = []
    var desiredTotal = 0
    var previousEngines: [String: EngineStatus] = [:]
    for e in model.status?.engines ?? [] { if let k = e.key { previousEngines[k] = e } }
    // The candidate's replicas per group, and the stable replicas they stand in for (replica ratio).
    var candidateReplicas = tracks.candidate.map {
      candidateReplicaCounts(stable: replicas, weight: $0.weight, weighted: $0.weighted, groups: placement.groups)
    } ?? replicas.map { _ in 0 }
    let readyCandidates = tracks.candidate.map { readyCandidatePods(allPods, model: model, candidate: $0, groups: placement.groups) }
      ?? replicas.map { _ in 0 }
    let waitingCandidates = tracks.candidate.map { readyCandidatePods(allPods, model: model, candidate: $0, groups: placement.groups, waiting: true) }
      ?? replicas.map { _ in 0 }
    var stableCounts = replicas
    if let c = tracks.candidate, !c.weighted, mode == .deployment {
      if tracks.promoting {
        // The stable workloads come back to full size on the candidate's engines, and a candidate
        // pod steps aside for each of their pods that is Ready or waits for a GPU (so a full
        // fleet frees the GPU the stable pod waits for).
        let arrived = placement.groups.map { group in
          let key = EnginePlan(spec: spec, group: group, modelName: name).key
          return stablePods.filter { pod in
            pod[path: ["metadata", "labels", Labels.nodeGroup]]?.stringValue == group.slug
              && pod[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue == key && holdsPlace(pod)
              && (isReady(pod) || unschedulable([pod]) != nil)
          }.count
        }
        candidateReplicas = candidateReplicas.indices.map { max(0, candidateReplicas[$0] - arrived[$0]) }
      } else {
        stableCounts = stableReplicaCounts(stable: replicas, candidates: candidateReplicas,
                                           readyCandidates: readyCandidates.indices.map { readyCandidates[$0] + waitingCandidates[$0] },
                                           weight: c.weight)
      }
    }
    for (i, group) in placement.groups.enumerated() {
      let plan = EnginePlan(spec: spec, group: group, modelName: name)
      let templatePlan = fleetCandidate == nil ? plan : EnginePlan(spec: candidateModel.spec, group: group, modelName: name)
      let template = podTemplate(model: fleetCandidate == nil ? model : candidateModel, group: group, plan: templatePlan,
                                 builders: builders)
      let stableReplicas = stableCounts[i]
      // A group without replicas keeps its Deployment, scaled to zero (as `kubectl scale` would
      // leave it), but has no engine to report.
      objects.append(DesiredObject(mode == .deployment ? .deployments : EdgeModelReconciler.daemonSets,
                                   workload(model: model, group: group, mode: mode, replicas: stableReplicas, template: template,
                                            fleetRollout: fleetCandidate?.hash)))
      if mode == .deployment || replicas[i] > 0 { objects.append(DesiredObject(EdgeModelReconciler.disruptionBudgets, disruptionBudget(model, group: group, daemonPods: mode == .daemonSet ? replicas[i] : nil))) }
      desiredTotal += stableReplicas
      guard mode == .daemonSet || stableReplicas > 0 else { continue }
      let slug = group.slug
      let groupPods = stablePods.filter { $0[path: ["metadata", "labels", Labels.nodeGroup]]?.stringValue == slug }
      if fleetCandidate != nil, templatePlan.key != plan.key {
        // Both versions serve in the group while a fleet rollout moves it: an engine each.
        let keys = Set(groupPods.filter(holdsPlace).compactMap { $0[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue })
        if keys.contains(plan.key) || !keys.contains(templatePlan.key) {
          engines.append(engineStatus(plan: plan, group: group, pods: groupPods, previous: previousEngines[plan.key]))
        }
        if keys.contains(templatePlan.key) {
          engines.append(engineStatus(plan: templatePlan, group: group, pods: groupPods, previous: previousEngines[templatePlan.key]))
        }
        continue
      }
      engines.append(engineStatus(plan: plan, group: group, pods: groupPods, previous: previousEngines[plan.key]))
    }
    var candidateStatus: CandidateStatus?
    var evictions: [String] = []
    var fleetComplete = false
    if let f = fleetCandidate, let fleet = f.rollout.spec.strategy.fleet {
      let fp = fleetPlan(fleet: fleet, groups: placement.groups,
                         candidateKeys: placement.groups.map { EnginePlan(spec: candidateModel.spec, group: $0, modelName: name).key },
                         nodes: input.nodes, pods: stablePods,
                         // Nothing moves while the rollout is paused (a person, an analysis or a failed node stopped it).
                         applied: fleetApplied(input.daemonSets, names: placement.groups.map { workloadName(model: name, group: $0) }, hash: f.hash)
                           && (f.rollout.status?.phase ?? .progressing) == .progressing,
                         target: { RolloutPlanner.fleetTarget(f.rollout, eligible: $0) })
      evictions = fp.evictions
      fleetComplete = fp.complete
      var c = CandidateStatus()
      c.rollout = f.rollout.metadata.name
      c.hash = f.hash
      c.version = f.source.version
      c.replicas = fp.report.targetNodes
      c.readyReplicas = fp.report.updatedNodes
      let keys = Set(placement.groups.map { EnginePlan(spec: candidateModel.spec, group: $0, modelName: name).key })
      let candidateEngines = engines.filter { keys.contains($0.key ?? "") }
      c.engines = candidateEngines.isEmpty ? nil : candidateEngines
      c.fleet = fp.report
      candidateStatus = c
    } else if let c = tracks.candidate {
      let planned = candidateObjects(model: model, candidate: c, groups: placement.groups, replicas: candidateReplicas, pods: allPods,
                                     builders: builders, previous: model.status?.candidate)
      objects += planned.objects
      candidateStatus = planned.status
      candidateStatus?.readyReplicas = readyCandidates.reduce(0, +)
    } else if let u = tracks.unpinnedCandidate {
      // No workloads for a candidate the engine builder would refuse: the Rollout waits on this.
      var c = CandidateStatus()
      c.rollout = u.rollout.metadata.name
      c.hash = u.hash
      c.version = u.source.version
      c.message = pinned?.message
      candidateStatus = c
    }
    if !placement.groups.isEmpty {
      objects.append(DesiredObject(EdgeModelReconciler.services, service(model, track: tracks.candidate?.weighted == true ? Labels.stableTrack : nil)))
      if tracks.candidate?.weighted == true {
        objects.append(DesiredObject(EdgeModelReconciler.services, service(model, track: Labels.candidateTrack)))
      }
    }

    // Readiness from the pods themselves: a pod counts once Ready and not terminating.
    let live = stablePods.filter { $0[path: ["metadata", "deletionTimestamp"]] == nil }
    let ready = live.filter(isReady)
    let currentKeys = Set(engines.compactMap(\.key))
    let readyCurrent = ready.filter { currentKeys.contains($0[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue ?? "") }
    let readyVersions = ready.compactMap { $0[path: ["metadata", "labels", Labels.version]]?.stringValue }
    // Pods of the current engines the scheduler found no node for (kube-scheduler's verdict, as is).
    let waiting = unschedulable(stablePods.filter { holdsPlace($0) && currentKeys.contains($0[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue ?? "") })

    var status = EdgeModelStatus()
    status.observedGeneration = generation
    status.placement = PlacementStatus(eligibleNodes: placement.eligibleCount, nodeGroups: placement.groups.count,
                                       unschedulableReason: placement.eligibleCount == 0 ? placement.summary : nil)
    status.engines = engines.isEmpty ? nil : engines
    status.readyReplicas = ready.count
    status.builder = builder
    status.candidate = candidateStatus
    let specVersion = spec.model.version ?? ""
    if !readyCurrent.isEmpty && readyCurrent.count == ready.count && readyCurrent.count >= desiredTotal {
      status.currentVersion = specVersion.isEmpty ? nil : specVersion
    } else if let mostServed = mostCommon(readyVersions) {
      status.currentVersion = mostServed
    } else {
      status.currentVersion = model.status?.currentVersion
    }

    // Conditions (metav1.Condition; KEP-1623): reasons are CamelCase, messages for people.
    var conditions: [StatusCondition] = []
    let scheduled = placement.eligibleCount > 0
    let failed = engines.first { $0.state == .failed }
    let built = engines.filter { $0.state == .built }.count
    let pending = engines.filter { $0.state == .pending }
    if scheduled, !engines.isEmpty, pending.count == engines.count, let waiting {
      // Nodes are eligible, but the scheduler placed no pod of the current engines on any of them.
      conditions.append(StatusCondition(type: "Scheduled", status: "False", observedGeneration: Int64(generation), reason: "Unschedulable",
                                        message: waiting.summary))
    } else {
      conditions.append(StatusCondition(type: "Scheduled", status: scheduled ? "True" : "False", observedGeneration: Int64(generation),
                                        reason: scheduled ? "NodesEligible" : "NoEligibleNodes",
                                        message: scheduled ? "\(placement.summary); \(placement.groups.count) node group(s)" : placement.summary))
    }
    let engineReady: StatusCondition
    if !scheduled {
      engineReady = StatusCondition(type: "EngineReady", status: "False", observedGeneration: Int64(generation), reason: "NotScheduled",
                                    message: "no node group to build an engine for")
    } else if let failed {
      engineReady = StatusCondition(type: "EngineReady", status: "False", observedGeneration: Int64(generation),
                                    reason: failureReason(failed), message: failed.message ?? "engine build failed")
    } else if engines.isEmpty {
      engineReady = StatusCondition(type: "EngineReady", status: "True", observedGeneration: Int64(generation), reason: "NoReplicas",
                                    message: "scaled to zero: no engine is needed")
    } else if built == engines.count {
      let hits = engines.reduce(0) { $0 + ($1.cacheHits ?? 0) }
      engineReady = StatusCondition(type: "EngineReady", status: "True", observedGeneration: Int64(generation), reason: "EnginesBuilt",
                                    message: "\(built)/\(engines.count) engine(s) built, \(hits) cache hit(s)")
    } else {
      let building = engines.filter { $0.state == .building }.compactMap { $0.nodeGroup?.module }
      let stuck = pending.map { "\($0.nodeGroup?.module ?? "?"): \($0.message ?? "")" }
      let parts = stuck + (building.isEmpty ? [] : ["building for \(building.joined(separator: ", "))"])
      // A group whose pods wait for a node is not building: it waits for someone to free a GPU,
      // add a node or change the spec, so it outranks the groups that are building.
      engineReady = StatusCondition(type: "EngineReady", status: "False", observedGeneration: Int64(generation),
                                    reason: pending.isEmpty ? "Building" : "Unschedulable",
                                    message: "\(built)/\(engines.count) engine(s) built; \(parts.joined(separator: "; "))")
    }
    conditions.append(engineReady)
    let available = !ready.isEmpty
    conditions.append(StatusCondition(type: "Available", status: available ? "True" : "False", observedGeneration: Int64(generation),
                                      reason: available ? "MinimumReplicasAvailable" : "NoReplicasReady",
                                      message: "\(ready.count) ready replica(s)" + (readyVersions.isEmpty ? "" : " serving version \(Set(readyVersions).sorted().joined(separator: ", "))")))
    let allCurrent = scheduled && engineReady.status == "True" && readyCurrent.count >= desiredTotal
      && readyCurrent.count == ready.count
    let readyCondition: StatusCondition
    if allCurrent {
      var message = "\(readyCurrent.count)/\(desiredTotal) replica(s) ready on version \(specVersion.isEmpty ? "?" : specVersion)"
      // While a Rollout's candidate serves, the stable count alone reads as nothing serving (0/0
      // once the candidate has all the traffic): say what the candidate serves with.
      if let c = candidateStatus, let replicas = c.replicas, replicas > 0 {
        message += "; candidate" + (c.version.map { " version \($0)" } ?? "") + (c.rollout.map { " of Rollout \($0)" } ?? "")
          + ": \(c.readyReplicas ?? 0)/\(replicas) ready at weight \(c.weight ?? 0)"
      }
      readyCondition = StatusCondition(type: "Ready", status: "True", observedGeneration: Int64(generation), reason: "Ready", message: message)
    } else if engineReady.status != "True" {
      readyCondition = StatusCondition(type: "Ready", status: "False", observedGeneration: Int64(generation), reason: engineReady.reason,
                                       message: engineReady.message)
    } else if let waiting {
      // Engines are built, but replicas wait for a node (scaled up into full groups, say).
      readyCondition = StatusCondition(type: "Ready", status: "False", observedGeneration: Int64(generation), reason: "Unschedulable",
                                       message: "\(readyCurrent.count)/\(desiredTotal) replica(s) ready on the current engine; \(waiting.summary)")
    } else {
      readyCondition = StatusCondition(type: "Ready", status: "False", observedGeneration: Int64(generation), reason: "RollingOut",
                                       message: "\(readyCurrent.count)/\(desiredTotal) replica(s) ready on the current engine")
    }
    conditions.append(readyCondition)
    if let pinned { conditions.append(pinned) }
    status.pins = tracks.usedPins.isEmpty ? nil : tracks.usedPins
    if fleetCandidate != nil {
      // Every node able to move serves the candidate: what promotion waits for.
      if tracks.promoting, fleetComplete { status.candidate?.stableServesCandidate = true }
      status.currentVersion = mostCommon(readyVersions) ?? model.status?.currentVersion
    } else if tracks.promoting, readyCondition.status == "True" {
      status.candidate?.stableServesCandidate = true
    }
    status.conditions = conditions.map { keepTransitionTime($0, previous: model.status?.conditions, now: input.now) }

    if readyCondition.status == "True" {
      status.phase = .ready
    } else if !scheduled {
      status.phase = .pending
    } else if failed != nil {
      status.phase = ready.isEmpty ? .failed : .degraded
    } else if engineReady.reason == "Building" {
      status.phase = .building
    } else {
      status.phase = ready.isEmpty ? .pending : .degraded
    }

    if let agent = input.driftAgent { DriftAgentSidecar.inject(agent, into: &objects) }
    return Plan(objects: objects, status: status, events: events(from: model.status, to: status), placement: placement, evictions: evictions)
  }

  /// Our image in `model`'s pod templates (the `engine` init container, or the `edgeml-tools` one
  /// that copies `edgeml-engine` into another builder image): the one recorded in status while the
  /// model (digest, else URI and version) is the one it was recorded for; else the operator's. So
  /// upgrading the operator, which changes its default image, restarts no serving pod: a model
  /// moves to the new image with its next version. The spec's own `engine.builderImage` is the
  /// builder's image, not this one (`BuilderImages`).
  static func builder(for model: EdgeModel, default image: String) -> BuilderRecord {
    let source = model.spec.model
    let identity = source.digest ?? "\(source.uri)@\(source.version ?? "")"
    if let recorded = model.status?.builder, recorded.model == identity, let kept = recorded.image {
      return BuilderRecord(image: kept, model: identity)
    }
    return BuilderRecord(image: image, model: identity)
  }

  // MARK: objects

  static func ownerReference(_ model: EdgeModel) -> JSONValue {
    ["apiVersion": .string(EdgeMLAPI.apiVersion), "kind": "EdgeModel", "name": .string(model.metadata.name ?? ""),
     "uid": .string(model.metadata.uid ?? ""), "controller": true, "blockOwnerDeletion": true]
  }

  /// Workload name: the model's name and the group's slug, cut to stay a valid pod-name prefix.
  public static func workloadName(model: String, group: Placement.NodeGroup) -> String {
    let suffix = "-" + group.slug
    return String(model.prefix(max(1, 52 - suffix.count))) + suffix
  }

  static func podTemplate(model: EdgeModel, group: Placement.NodeGroup, plan: EnginePlan, builders: BuilderImages,
                          track: String = Labels.stableTrack) -> JSONValue {
    let spec = model.spec
    let name = model.metadata.name ?? ""
    let layout = spec.serving.modelRepositoryLayout ?? .triton
    let ports = spec.serving.ports
    let http = ports?.http ?? 8000, grpc = ports?.grpc ?? 8001, metrics = ports?.metrics ?? 8002
    var volumes: [JSONValue] = [
      ["name": "engine-cache", "hostPath": ["path": .string(spec.engine?.cache?.hostPath ?? EnginePlan.Paths.cache), "type": "DirectoryOrCreate"]],
      ["name": "model-repository", "emptyDir": [:]],
    ]
    var initMounts: [JSONValue] = [
      ["name": "engine-cache", "mountPath": .string(EnginePlan.Paths.cache)],
      ["name": "model-repository", "mountPath": .string(EnginePlan.Paths.models)],
    ]
    if let claim = spec.engine?.cache?.sharedClaimName {
      volumes.append(["name": "engine-shared-cache", "persistentVolumeClaim": ["claimName": .string(claim)]])
      initMounts.append(["name": "engine-shared-cache", "mountPath": .string(EnginePlan.Paths.sharedCache)])
    }
    if let s = spec.model.signature {
      volumes.append(["name": "signature-key", "secret": ["secretName": .string(s.publicKeySecretRef.name),
                                                          "items": [["key": .string(s.publicKeySecretRef.key), "path": .string(s.publicKeySecretRef.key)]]]])
      initMounts.append(["name": "signature-key", "mountPath": .string(EnginePlan.Paths.signatureKey), "readOnly": true])
    }
    if let e = spec.model.encryption {
      volumes.append(["name": "encryption-key", "secret": ["secretName": .string(e.keySecretRef.name),
                                                           "items": [["key": .string(e.keySecretRef.key), "path": .string(e.keySecretRef.key)]]]])
      initMounts.append(["name": "encryption-key", "mountPath": .string(EnginePlan.Paths.encryptionKey), "readOnly": true])
    }
    // Another image builds (NVIDIA's for the group's L4T release, or the model's own): our
    // `edgeml-tools` init container first copies edgeml-engine into a volume that one runs it from.
    let builderImage = spec.engine?.builderImage ?? builders.image(forL4T: group.l4t)
    var initContainers: [JSONValue] = []
    var engineCommand: JSONValue = ["edgeml-engine"]
    var engineArguments = plan.arguments
    if builderImage != nil {
      volumes.append(["name": .string(BuilderImages.Copy.volume), "emptyDir": [:]])
      initContainers.append([
        "name": .string(BuilderImages.Copy.volume),
        "image": .string(builders.tools),
        "command": ["edgeml-engine"],
        "args": ["--install-to", .string(BuilderImages.Copy.directory)],
        "volumeMounts": [["name": .string(BuilderImages.Copy.volume), "mountPath": .string(BuilderImages.Copy.directory)]],
      ])
      initMounts.append(["name": .string(BuilderImages.Copy.volume), "mountPath": .string(BuilderImages.Copy.directory), "readOnly": true])
      engineCommand = .array(BuilderImages.Copy.command.map { .string($0) })
      engineArguments += ["--ca-file", BuilderImages.Copy.caFile]
    }
    let initContainer: JSONValue = [
      "name": "engine",
      "image": .string(builderImage ?? builders.tools),
      "command": engineCommand,
      "args": .array(engineArguments.map { .string($0) }),
      // Registry and object-store credentials, when the namespace has them (docs/edgemodel-contracts.md §2).
      "envFrom": [["secretRef": ["name": "edgeml-source-credentials", "optional": true]]],
      "volumeMounts": .array(initMounts),
      "terminationMessagePath": .string(EnginePlan.Paths.terminationLog),
      "terminationMessagePolicy": "File",
    ]
    var serving: JSONObject = [
      "name": "serving",
      "image": .string(spec.serving.image),
      "ports": [["name": "http", "containerPort": JSONValue(http)], ["name": "grpc", "containerPort": JSONValue(grpc)],
                ["name": "metrics", "containerPort": JSONValue(metrics)]],
      "volumeMounts": [["name": "model-repository", "mountPath": .string(EnginePlan.Paths.models), "readOnly": true]],
    ]
    switch layout {
    case .triton:
      serving["command"] = ["tritonserver"]
      // Latency summaries (p50/p90/p99 per model) are opt-in in Triton (triton.md §4): a Rollout's
      // latency analysis reads them.
      serving["args"] = .array(["--model-repository=\(EnginePlan.Paths.models)", "--http-port=\(http)", "--grpc-port=\(grpc)",
                                "--metrics-port=\(metrics)", "--metrics-config=summary_latencies=true"].map { .string($0) })
      // Triton answers 200 on /v2/health/ready once its models loaded (triton.md §3).
      serving["readinessProbe"] = ["httpGet": ["path": "/v2/health/ready", "port": "http"], "periodSeconds": 5]
    case .plain:
      serving["env"] = [["name": "MODEL_PATH", "value": .string("\(EnginePlan.Paths.models)/model.plan")]]
      serving["readinessProbe"] = ["tcpSocket": ["port": "http"], "periodSeconds": 5]
    }
    var resources = ModelCoding.encode(spec.serving.resources ?? ResourceRequirements())
    if group.deviceplugin {
      resources[path: ["limits", "nvidia.com/gpu"]] = "1"
      resources[path: ["requests", "nvidia.com/gpu"]] = "1"
    }
    if resources.objectValue?.isEmpty == false { serving["resources"] = resources }

    var podSpec: JSONObject = [
      // Exactly the group's nodes, by the labels placement judged them on, so the template does
      // not change when nodes come and go and stays small on a large fleet.
      "affinity": ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [[
        "matchExpressions": .array(groupSelector(spec: spec, group: group)),
      ]]]]],
      "initContainers": .array(initContainers + [initContainer]),
      "containers": [.object(serving)],
      "volumes": .array(volumes),
      "runtimeClassName": .string(spec.serving.runtimeClassName ?? "nvidia"),
    ]
    if let selector = spec.placement?.nodeSelector, !selector.isEmpty {
      podSpec["nodeSelector"] = .object(JSONObject(selector.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
    }
    if let t = spec.placement?.tolerations, !t.isEmpty { podSpec["tolerations"] = ModelCoding.encode(t) }
    return [
      "metadata": [
        "labels": .object(podLabels(name: name, group: group, version: spec.model.version, track: track)),
        "annotations": [.init(Labels.engineKey): .string(plan.key)],
      ],
      "spec": .object(podSpec),
    ]
  }

  /// Node selector requirements equivalent to the static placement checks for this group: its
  /// module, TensorRT, GPU architecture and the L4T releases that passed, plus the memory, DLA and
  /// secure-boot minimums (integer labels compare with Gt, as NodeSelectorRequirement allows).
  static func groupSelector(spec: EdgeModelSpec, group: Placement.NodeGroup) -> [JSONValue] {
    func inList(_ key: String, _ values: [String]) -> JSONValue {
      ["key": .string(key), "operator": "In", "values": .array(values.map { .string($0) })]
    }
    var out = [inList(JetsonLabels.module, [group.module]), inList(JetsonLabels.tensorRT, [group.tensorRT]),
               inList(JetsonLabels.gpuArch, [group.gpuArch])]
    if spec.placement?.jetson?.l4t != nil, !group.l4ts.isEmpty { out.append(inList(JetsonLabels.l4t, group.l4ts)) }
    if let min = spec.placement?.jetson?.minMemoryMiB, min > 0 {
      out.append(["key": .string(JetsonLabels.memoryMiB), "operator": "Gt", "values": [.string(String(min - 1))]])
    }
    if spec.placement?.jetson?.requireDLA == true || group.dlaCore != nil {
      out.append(["key": .string(JetsonLabels.dlaCores), "operator": "Gt", "values": [.string(String(group.dlaCore ?? 0))]])
    }
    if spec.placement?.jetson?.requireSecureBoot == true { out.append(inList(JetsonLabels.secureBoot, ["true"])) }
    return out
  }

  static func podLabels(name: String, group: Placement.NodeGroup, version: String?, track: String?) -> JSONObject {
    var labels: JSONObject = [
      "app.kubernetes.io/name": .string(name),
      .init(Labels.managedBy): .string(Labels.managedByValue),
      .init(Labels.model): .string(name),
      .init(Labels.nodeGroup): .string(group.slug),
    ]
    if let v = version, isLabelValue(v) { labels[Labels.version] = .string(v) }
    if let track { labels[Labels.track] = .string(track) }
    return labels
  }

  /// A node group's workload. The stable one selects the model's pods of the group (as it always
  /// has: a selector cannot change); a candidate's also selects its track.
  /// `fleetRollout`: the hash of a fleet rollout whose template a DaemonSet carries; it then waits
  /// for the rollout's evictions (`OnDelete`) instead of replacing every pod by itself.
  static func workload(model: EdgeModel, group: Placement.NodeGroup, mode: PlacementMode, replicas: Int, template: JSONValue,
                       candidate: Bool = false, fleetRollout: String? = nil) -> JSONValue {
    let name = model.metadata.name ?? ""
    var matchLabels: JSONObject = [.init(Labels.model): .string(name), .init(Labels.nodeGroup): .string(group.slug)]
    if candidate { matchLabels[Labels.track] = .string(Labels.candidateTrack) }
    let selector: JSONValue = ["matchLabels": .object(matchLabels)]
    var spec: JSONObject = ["selector": selector, "template": template]
    let kind: String
    switch mode {
    case .deployment:
      kind = "Deployment"
      spec["replicas"] = JSONValue(replicas)
      // Keep the old version serving while a new engine builds (maxUnavailable 0) unless every
      // GPU of the group is taken, where a surge pod could never be scheduled.
      let full = group.deviceplugin && replicas >= group.nodes.count
      spec["strategy"] = ["type": "RollingUpdate", "rollingUpdate": ["maxSurge": JSONValue(full ? 0 : 1), "maxUnavailable": JSONValue(full ? 1 : 0)]]
    case .daemonSet:
      kind = "DaemonSet"
      spec["updateStrategy"] = fleetRollout == nil ? ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": 1]] : ["type": "OnDelete"]
    }
    var metadata: JSONObject = [
      "name": .string(candidate ? candidateWorkloadName(model: name, group: group) : workloadName(model: name, group: group)),
      "namespace": .string(model.metadata.namespace ?? "default"),
      "labels": .object(podLabels(name: name, group: group, version: nil, track: candidate ? Labels.candidateTrack : nil)),
      "ownerReferences": [ownerReference(model)],
    ]
    if let fleetRollout, mode == .daemonSet { metadata["annotations"] = [.init(Labels.fleetRollout): .string(fleetRollout)] }
    return ["apiVersion": "apps/v1", "kind": .string(kind), "metadata": .object(metadata), "spec": .object(spec)]
  }

  /// The model's Service (`track` nil: every serving pod), or, while a Rollout with a weighted
  /// router runs, the stable one (`<model>`, stable pods only) and the candidate one
  /// (`<model>-candidate`), between which the router splits traffic.
  static func service(_ model: EdgeModel, track: String? = nil) -> JSONValue {
    let name = model.metadata.name ?? ""
    let ports = model.spec.serving.ports
    var selector: JSONObject = [.init(Labels.model): .string(name)]
    if let track { selector[Labels.track] = .string(track) }
    return [
      "apiVersion": "v1", "kind": "Service",
      "metadata": [
        "name": .string(track == Labels.candidateTrack ? candidateServiceName(model: name) : name), "namespace": .string(model.metadata.namespace ?? "default"),
        "labels": ["app.kubernetes.io/name": .string(name), .init(Labels.managedBy): .string(Labels.managedByValue), .init(Labels.model): .string(name)],
        "ownerReferences": [ownerReference(model)],
      ],
      "spec": [
        "selector": .object(selector),
        "ports": [["name": "http", "port": JSONValue(ports?.http ?? 8000), "targetPort": "http"],
                  ["name": "grpc", "port": JSONValue(ports?.grpc ?? 8001), "targetPort": "grpc"],
                  ["name": "metrics", "port": JSONValue(ports?.metrics ?? 8002), "targetPort": "metrics"]],
      ],
    ]
  }

  // MARK: status

  static func isReady(_ pod: JSONValue) -> Bool {
    (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains { $0["type"] == "Ready" && $0["status"] == "True" }
  }

  /// The message of an engine no pod built this time: every pod found it in its node's cache.
  static let servedFromNodeCache = "served from the node cache"

  /// One group's engine, from the `engine` init containers of its pods at the current key.
  static func engineStatus(plan: EnginePlan, group: Placement.NodeGroup, pods: [JSONValue], previous: EngineStatus?) -> EngineStatus {
    var status = EngineStatus()
    status.key = plan.key
    status.nodeGroup = NodeGroupFacts(module: group.module, l4t: group.l4t, tensorrt: group.tensorRT, gpuArch: group.gpuArch)
    let current = pods.filter { $0[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue == plan.key }
    let live = current.filter(holdsPlace)
    var results: [EngineResult] = []
    var failures: [EngineResult] = []
    for pod in current {
      let outcome = engineOutcome(pod)
      if let r = outcome.result { results.append(r) }
      if let f = outcome.failure { failures.append(f) }
    }
    if !results.isEmpty {
      status.state = .built
      status.cacheHits = results.filter { $0.cacheHit == true }.count
      let build = results.first { $0.cacheHit != true }
      status.buildSeconds = build?.buildSeconds ?? previous?.buildSeconds ?? results.first?.buildSeconds
      status.sizeBytes = results.compactMap(\.sizeBytes).first ?? previous?.sizeBytes
      if let hits = previous?.cacheHits, previous?.state == .built { status.cacheHits = max(status.cacheHits ?? 0, hits) }
      status.message = build == nil ? servedFromNodeCache : nil
    } else if let f = failures.first {
      status.state = .failed
      status.message = [f.reason, f.message].compactMap { $0 }.joined(separator: ": ")
      if status.message?.isEmpty != false { status.message = "engine build failed" }
    } else if !live.contains(where: isBound), let refused = unschedulable(live) {
      // No pod on a node, so no engine container runs: the scheduler said no.
      status.state = .pending
      status.message = refused.summary
    } else {
      // An engine container runs or waits to start on a node, or a pod was just created and the
      // scheduler has not answered yet.
      status.state = .building
      status.buildSeconds = nil
    }
    return status
  }

  /// Pods kube-scheduler found no node for, and what it said about them.
  struct Unschedulable: Sendable, Equatable {
    var pods: Int
    /// The scheduler's message, the most frequent one among the pods: "0/25 nodes are available:
    /// 20 Insufficient nvidia.com/gpu, 5 node(s) didn't match Pod's node affinity/selector".
    var message: String
    var summary: String { "\(pods) pod(s) cannot be scheduled: \(message)" }
  }

  /// The pods of `pods` the scheduler refused (condition PodScheduled False, reason Unschedulable,
  /// and no node), or nil when there is none.
  static func unschedulable(_ pods: [JSONValue]) -> Unschedulable? {
    let messages = pods.compactMap { pod -> String? in
      guard !isBound(pod) else { return nil }
      let refusal = (pod[path: ["status", "conditions"]]?.arrayValue ?? []).first {
        $0["type"] == "PodScheduled" && $0["status"] == "False" && $0["reason"] == "Unschedulable"
      }
      return refusal.map { $0["message"]?.stringValue ?? "" }
    }
    guard let message = mostCommon(messages) else { return nil }
    return Unschedulable(pods: messages.count, message: message.isEmpty ? "no message from the scheduler" : message)
  }

  static func failedWithoutResult(_ terminated: JSONValue) -> EngineResult {
    var r = EngineResult()
    r.state = "Failed"
    r.reason = terminated["reason"]?.stringValue ?? "Error"
    r.message = "exit code \(terminated["exitCode"]?.intValue ?? -1)" + (terminated["message"]?.stringValue.map { ": \($0.prefix(200))" } ?? "")
    return r
  }

  static func failureReason(_ engine: EngineStatus) -> String {
    let head = engine.message?.split(separator: ":").first.map(String.init) ?? ""
    return (EngineFailureReason(rawValue: head) ?? .buildFailed).rawValue
  }

  /// `c` with the transition time `Condition.set` gives it against the previous status: kept while
  /// the status is the same, `now` when it changes (apimachinery's `meta.SetStatusCondition`).
  static func keepTransitionTime(_ c: StatusCondition, previous: [StatusCondition]?, now: String) -> StatusCondition {
    var list = (previous ?? []).filter { $0.type == c.type }
    Condition.set(c, in: &list, now: (try? Timestamp(rfc3339: now)) ?? Timestamp(secondsSinceEpoch: 0))
    return list.first ?? c
  }

  /// An Event per condition whose status or reason changed and per engine that finished or failed.
  static func events(from old: EdgeModelStatus?, to new: EdgeModelStatus) -> [PlannedEvent] {
    var out: [PlannedEvent] = []
    // Work in progress (building, rolling, no replica ready yet) is in the status; an Event is for
    // an outcome — something reached, or something wrong — so a thousand models starting up do not
    // write several thousand Events.
    // Unschedulable is an outcome: a Warning once when it starts (kube-scheduler's own
    // FailedScheduling Events go to the pod, which a user of an EdgeModel does not look at).
    let inProgress: Set<String> = ["Building", "NotScheduled", "RollingOut", "NoReplicasReady", "Pinning"]
    // Several conditions often change to the same reason at once (Scheduled, EngineReady and
    // Ready to Unschedulable; EngineReady and Ready to a build failure): one Event says it.
    var said: Set<String> = []
    for c in new.conditions ?? [] {
      let p = old?.conditions?.first { $0.type == c.type }
      guard p?.status != c.status || p?.reason != c.reason, !inProgress.contains(c.reason ?? "") else { continue }
      guard said.insert("\(c.status)/\(c.reason ?? c.type)").inserted else { continue }
      let warning = c.status == "False"
      out.append(PlannedEvent(type: warning ? "Warning" : "Normal", reason: c.reason ?? c.type, note: "\(c.type)=\(c.status): \(c.message ?? "")"))
    }
    let before = Dictionary((old?.engines ?? []).compactMap { e in e.key.map { ($0, e) } }, uniquingKeysWith: { a, _ in a })
    for e in new.engines ?? [] where before[e.key ?? ""]?.state != e.state {
      let group = [e.nodeGroup?.module, e.nodeGroup?.tensorrt.map { "TensorRT \($0)" }, e.nodeGroup?.gpuArch].compactMap { $0 }.joined(separator: ", ")
      let short = String((e.key ?? "").dropFirst(7).prefix(12))
      switch e.state {
      case .built:
        // A cache hit reports the seconds of the build that made the engine, not of this pod's start.
        let seconds = e.buildSeconds.map { "\(formatSeconds($0)) s" }
        let how = e.message == servedFromNodeCache || seconds == nil
          ? "from the node cache" + (seconds.map { " (built there in \($0))" } ?? "")
          : "built in \(seconds!)"
        out.append(PlannedEvent(type: "Normal", reason: "EngineBuilt", note: "engine \(short) for \(group) \(how)"))
      case .failed:
        out.append(PlannedEvent(type: "Warning", reason: "EngineFailed", note: "engine \(short) for \(group): \(e.message ?? "")"))
      case .building, .pending, nil: break   // in the conditions (Unschedulable has its Event there)
      }
    }
    return out
  }

  /// The `RolloutModelPinned` condition: whether the `mlflow://NAME/VERSION` models the Rollouts
  /// name without a digest are pinned (`FollowPlanner.pinReasons` when one cannot be); nil when
  /// no Rollout names one.
  static func pinCondition(_ tracks: RolloutTracks, failure: PinFailure?, generation: Int64) -> StatusCondition? {
    guard !tracks.urisToPin.isEmpty else { return nil }
    let pinned = Set(tracks.usedPins.map(\.uri))
    let missing = tracks.urisToPin.filter { !pinned.contains($0) }
    guard let first = missing.first else {
      return StatusCondition(type: "RolloutModelPinned", status: "True", observedGeneration: generation, reason: "Pinned",
                             message: tracks.usedPins.map { "\($0.uri) pinned to \($0.digest)" }.joined(separator: "; "))
    }
    func held(_ uri: String) -> String {
      tracks.isStableUnpinned && tracks.stableSource.uri == uri
        ? "the stable workloads stay as they are"
        : "Rollout \(tracks.unpinnedCandidate?.rollout.metadata.name ?? "") gets no candidate workloads and waits"
    }
    guard let failure, missing.contains(failure.uri) else {
      return StatusCondition(type: "RolloutModelPinned", status: "Unknown", observedGeneration: generation, reason: "Pinning",
                             message: "reading the model file of \(first) to pin its digest; \(held(first))")
    }
    return StatusCondition(type: "RolloutModelPinned", status: "False", observedGeneration: generation, reason: failure.reason,
                           message: "\(failure.uri) cannot be pinned: \(failure.message); \(held(failure.uri)) (read again with backoff)")
  }

  static func formatSeconds(_ s: Double) -> String {
    let tenths = Int((s * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }

  static func mostCommon(_ values: [String]) -> String? {
    var counts: [String: Int] = [:]
    for v in values { counts[v, default: 0] += 1 }
    return counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
  }

  static func isLabelValue(_ s: String) -> Bool {
    s.count <= 63 && (s.isEmpty || (s.first!.isLetterOrDigitASCII && s.last!.isLetterOrDigitASCII
      && s.allSatisfy { $0.isLetterOrDigitASCII || $0 == "-" || $0 == "_" || $0 == "." }))
  }
}

extension Character {
  var isLetterOrDigitASCII: Bool { isASCII && (isLetter || isNumber) }
}
