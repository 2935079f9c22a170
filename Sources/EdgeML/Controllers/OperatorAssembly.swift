import ControllerRuntime
import KubeClient
import KubeCore
import Logging

/// The operator's controllers, declared: what `edgeml operator` runs and what `edgeml demo` runs
/// in-process. A `Manager` turns them into shared informers and workers.
public enum OperatorAssembly {
  /// The label selector of everything the operator creates: only those are cached, so memory does
  /// not grow with the other pods and workloads of the cluster.
  public static let managedSelector = "\(EdgeModelPlanner.Labels.managedBy)=\(EdgeModelPlanner.Labels.managedByValue)"

  /// Every controller of the operator.
  /// - Parameters:
  ///   - builderImage: our own image, which carries `edgeml-engine` (the `engine` init container's, or
  ///     the `edgeml-tools` one that copies it into another builder image).
  ///   - builderImagesByL4T: builder images by L4T release (`BuilderImages.byL4T`).
  ///   - mlflow: where `mlflow://NAME@ALIAS` models are resolved (default: none configured, so such a
  ///     model reports `ModelResolved=False` with reason `MLflowNotConfigured`).
  ///   - driftAgentPort: where the DriftPolicy controller scrapes the agents (the sidecar's 9470).
  public static func controllers(builderImage: String, builderImagesByL4T: [String: String] = [:], workers: Int,
                                 mlflow: any MLflowRegistry = MLflowRESTRegistry(environment: [:]),
                                 driftAgentPort: Int = DriftPolicyReconciler.agentPort) -> [ControllerSpec] {
    [edgeModelController(builderImage: builderImage, builderImagesByL4T: builderImagesByL4T, workers: workers, mlflow: mlflow),
     rolloutController(workers: workers),
     driftPolicyController(workers: workers, reconciler: DriftPolicyReconciler(scrape: DriftIO.scrape(port: driftAgentPort)))]
  }

  /// Indexes DriftPolicies (and Rollouts) by the EdgeModel their `spec.modelRef` names.
  static let policyIndexers: [String: Store.IndexFunction] = ["model": EdgeModelReconciler.rolloutModelKey(of:)]

  /// The DriftPolicy controller: DriftPolicies, the Jobs, ConfigMaps, Rollouts and Flower workloads they own, woken
  /// also by their EdgeModel (`spec.modelRef`). Evaluations are time-driven: each pass returns the
  /// time to the next one (the framework's clock), so a steady policy costs one pass per interval.
  /// - Parameter reconciler: the reconciler (tests give one with their own scrape and clock).
  public static func driftPolicyController(workers: Int, reconciler: DriftPolicyReconciler = DriftPolicyReconciler()) -> ControllerSpec {
    ControllerSpec(name: "driftpolicy", for: DriftPolicyReconciler.resource, kind: "DriftPolicy",
                   fieldManager: EdgeModelPlanner.fieldManager, hashAnnotation: EdgeModelPlanner.Labels.appliedHash,
                   reconciler: TypedReconciler(reconciler, resource: DriftPolicyReconciler.resource))
      .caching(.all, indexers: policyIndexers, filter: { change in
        // Not for the status it wrote itself.
        guard let old = change.old, let new = change.new else { return true }
        return ChangeFilters.without(old, "status") != ChangeFilters.without(new, "status")
      })
      .owns(DriftPolicyReconciler.jobs, labelSelector: managedSelector, fields: CachedFields(spec: [], status: ["conditions", "succeeded", "failed", "active"]))
      .owns(.configMaps, labelSelector: managedSelector, fields: .all)
      .owns(RolloutReconciler.resource, fields: .all, indexers: EdgeModelReconciler.rolloutIndexers)
      // Federated retraining's SuperLink Deployment and Service and SuperNode DaemonSet (docs/federated.md).
      .owns(.deployments, labelSelector: managedSelector, fields: cachedFields(for: .deployments))
      .owns(EdgeModelReconciler.daemonSets, labelSelector: managedSelector, fields: cachedFields(for: EdgeModelReconciler.daemonSets))
      .owns(EdgeModelReconciler.services, labelSelector: managedSelector, fields: cachedFields(for: EdgeModelReconciler.services))
      // The model's spec (its lineage goes into retraining Jobs) or its coming and going; not its status.
      .watches(EdgeModelReconciler.resource, fields: .all, filter: { change in change.old?["spec"] != change.new?["spec"] }) { change, caches in
        let keys = Set([change.old, change.new].compactMap { $0 }.map(Store.key(of:)))
        var out: [ReconcileRequest] = []
        for key in keys {
          for policy in await caches.store(DriftPolicyReconciler.resource)?.byIndex("model", key) ?? [] {
            out.append(ReconcileRequest(for: policy))
          }
        }
        return out
      }
      .workers(workers)
  }

  /// The Rollout controller: Rollouts, woken also by their EdgeModel (whose status reports the
  /// candidate's pods) and by the other Rollouts of the same model (one finishing lets the next go).
  public static func rolloutController(workers: Int, measure: RolloutReconciler.Measure? = nil,
                                       route: RolloutReconciler.Route? = nil) -> ControllerSpec {
    let reconciler = TypedReconciler(RolloutReconciler(measure: measure ?? RolloutRouting.defaultMeasure,
                                                       route: route ?? RolloutRouting.route(memory: RouterObjectMemory()), count: RolloutRouting.count),
                                     resource: RolloutReconciler.resource)
    return ControllerSpec(name: "rollout", for: RolloutReconciler.resource, kind: "Rollout",
                          fieldManager: RolloutRouting.fieldManager, hashAnnotation: EdgeModelPlanner.Labels.appliedHash,
                          reconciler: reconciler)
      .caching(.all, indexers: EdgeModelReconciler.rolloutIndexers, filter: ChangeFilters.rolloutNeedsItsController)
      .watches(EdgeModelReconciler.resource, fields: .all, filter: ChangeFilters.edgeModelMattersToRollouts) { change, caches in
        let keys = Set([change.old, change.new].compactMap { $0 }.map { object in
          "\(object[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(object[path: ["metadata", "name"]]?.stringValue ?? "")"
        })
        var out: [ReconcileRequest] = []
        for key in keys {
          for rollout in await caches.store(RolloutReconciler.resource)?.byIndex("model", key) ?? [] {
            out.append(ReconcileRequest(for: rollout))
          }
        }
        return out
      }
      .watches(RolloutReconciler.resource, fields: .all, indexers: EdgeModelReconciler.rolloutIndexers) { change, caches in
        // The other Rollouts of the same model: one that finishes lets a waiting one start.
        let keys = Set([change.old, change.new].compactMap { $0 }.flatMap(EdgeModelReconciler.rolloutModelKey(of:)))
        var out: [ReconcileRequest] = []
        for key in keys {
          for rollout in await caches.store(RolloutReconciler.resource)?.byIndex("model", key) ?? []
          where Store.key(of: rollout) != change.new.map(Store.key(of:)) {
            out.append(ReconcileRequest(for: rollout))
          }
        }
        return out
      }
      .workers(workers)
  }

  /// The EdgeModel controller: EdgeModels, the workloads and Service it owns, the pods of those
  /// workloads (by the `edgeml.io/model` label: pods are owned by ReplicaSets, not by the model),
  /// and the nodes, whose changes matter to every model only when what placement reads changed.
  public static func edgeModelController(builderImage: String, builderImagesByL4T: [String: String] = [:], workers: Int,
                                         mlflow: any MLflowRegistry = MLflowRESTRegistry(environment: [:])) -> ControllerSpec {
    let usage = GPUUsage()
    let reconciler = TypedReconciler(EdgeModelReconciler(builderImage: builderImage, builderImagesByL4T: builderImagesByL4T,
                                                         gpuUsage: usage, mlflow: mlflow),
                                     resource: EdgeModelReconciler.resource)
    let byModel = EdgeModelReconciler.modelIndexers
    return ControllerSpec(name: "edgemodel", for: EdgeModelReconciler.resource, kind: "EdgeModel",
                          fieldManager: EdgeModelPlanner.fieldManager, hashAnnotation: EdgeModelPlanner.Labels.appliedHash,
                          reconciler: reconciler)
      .caching(cachedFields(for: EdgeModelReconciler.resource))
      .owns(.deployments, labelSelector: managedSelector, fields: cachedFields(for: .deployments), indexers: byModel)
      .owns(EdgeModelReconciler.daemonSets, labelSelector: managedSelector, fields: cachedFields(for: EdgeModelReconciler.daemonSets),
            indexers: byModel)
      .owns(EdgeModelReconciler.services, labelSelector: managedSelector, fields: cachedFields(for: EdgeModelReconciler.services),
            indexers: byModel)
      .watches(.pods, labelSelector: managedSelector, fields: cachedFields(for: .pods), indexers: byModel) { change, _ in
        await usage.apply(change)
        return Set([change.old, change.new].compactMap { $0 }.flatMap(EdgeModelReconciler.modelKey(of:))).map { ReconcileRequest(key: $0) }
      }
      .owns(EdgeModelReconciler.disruptionBudgets, labelSelector: managedSelector, fields: .metadata)
      .watches(EdgeModelReconciler.rollouts, fields: .all, indexers: EdgeModelReconciler.rolloutIndexers,
               filter: ChangeFilters.rolloutMattersToItsModel) { change, _ in
        Set([change.old, change.new].compactMap { $0 }.flatMap(EdgeModelReconciler.rolloutModelKey(of:))).map { ReconcileRequest(key: $0) }
      }
      // The Rollouts a followed MLflow alias starts (docs/mlflow.md): the same informer, and owned
      // so the applier may write them; the watch above already wakes the model for what matters.
      .owns(EdgeModelReconciler.rollouts, fields: .all, indexers: EdgeModelReconciler.rolloutIndexers,
            filter: { _ in false })
      .watches(DriftPolicyReconciler.resource, fields: .all, indexers: policyIndexers, filter: ChangeFilters.policyMattersToItsModel) { change, _ in
        // A policy's features and source decide the serving pods' drift-agent sidecar.
        Set([change.old, change.new].compactMap { $0 }.flatMap(EdgeModelReconciler.rolloutModelKey(of:))).map { ReconcileRequest(key: $0) }
      }
      .watches(.nodes, fields: cachedFields(for: .nodes), filter: { change in
        change.old.map(NodeFingerprint.of) != change.new.map(NodeFingerprint.of)
      }) { _, caches in
        await caches.store(EdgeModelReconciler.resource)?.keys.map { ReconcileRequest(key: $0) } ?? []
      }
      .workers(workers)
  }

  /// What the operator caches of each resource: only the fields the reconciler and its indexers
  /// read (controller-runtime's per-object cache options). A cached pod without its spec is a
  /// third of the size, and the cache of a large fleet is most of the operator's memory. A field a
  /// controller starts to read must be added here; the planner tests run on transformed objects.
  public static func cachedFields(for resource: GroupVersionResource) -> CachedFields {
    switch (resource.group, resource.resource) {
    // EdgeModelPlanner: labels, annotations, deletion, status conditions and init containers;
    // the nodeName indexer: spec.nodeName.
    // (Not status.podIP: the Rollout controller lists the few pods it scrapes when it measures,
    // once per interval, rather than keep every pod's address in memory.)
    case ("", "pods"): return CachedFields(spec: ["nodeName"], status: ["phase", "conditions", "initContainerStatuses"])
    // The reconciler reads a workload's or Service's metadata only (applied hash, owner, deletion).
    case ("apps", "deployments"), ("apps", "daemonsets"), ("", "services"): return .metadata
    // JetsonNode: labels, taints, cordon, conditions, allocatable.
    case ("", "nodes"): return CachedFields(spec: ["taints", "unschedulable"], status: ["conditions", "allocatable"])
    default: return .all
    }
  }

  /// What every informer of the operator applies before caching an object of a resource it keeps
  /// whole (the EdgeModels): managedFields and kubectl's last-applied annotation go.
  public static let cacheTransform: Reflector.TransformFunction = CachedFields.all.transform

  /// What the operator's informer of `resource` applies before caching an object.
  public static func cacheTransform(for resource: GroupVersionResource) -> Reflector.TransformFunction {
    cachedFields(for: resource).transform
  }

  /// What the informer of `resource` builds of each object as it parses it (nil: the EdgeModels).
  public static func cacheProjection(for resource: GroupVersionResource?) -> JSONProjection {
    (resource.map(cachedFields(for:)) ?? .all).projection
  }
}

/// The part of a Node placement depends on: a change elsewhere (a heartbeat, an image list) wakes
/// no EdgeModel.
enum NodeFingerprint {
  static func of(_ node: JSONValue) -> JSONValue {
    let n = JetsonNode(json: node)
    return ["labels": .object(JSONObject(n.labels.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
            "ready": .bool(n.ready), "unschedulable": .bool(n.unschedulable),
            "taints": .array(n.taints.map { ["key": .string($0.key), "value": .string($0.value ?? ""), "effect": .string($0.effect)] }),
            "gpus": n.allocatableGPUs.map { JSONValue($0) } ?? .null]
  }
}

/// Which changes wake which controller: each controller reconciles on a change of what its planner
/// reads, not on every write of a shared object (controller-runtime's predicates, such as
/// `GenerationChangedPredicate`). Most writes during a rollout are status writes that only their
/// writer cares about; without these, every one of them woke the other controller and its writer
/// again, and the queues of a hundred rollouts at once held two or three times the work.
enum ChangeFilters {
  /// A Rollout's own controller: not for the status it wrote itself, but for a change of spec
  /// (generation), metadata or deletion, and for a manual gate (`status.request`, written by
  /// `kubectl edgeml`).
  @Sendable static func rolloutNeedsItsController(_ change: ObjectChange) -> Bool {
    guard let old = change.old, let new = change.new else { return true }
    if new[path: ["status", "request"]] != nil, old[path: ["status", "request"]] != new[path: ["status", "request"]] { return true }
    return without(old, "status") != without(new, "status")
  }

  /// The EdgeModel controller, for a Rollout of its model: the spec (generation) and the status
  /// fields `RolloutTracks` and the fleet and canary targets read.
  @Sendable static func rolloutMattersToItsModel(_ change: ObjectChange) -> Bool {
    guard let old = change.old, let new = change.new else { return true }
    return rolloutFingerprint(old) != rolloutFingerprint(new)
  }

  /// The Rollout controller, for its EdgeModel: what `RolloutPlanner` reads of it — the model
  /// spec, the placement mode, the generations and the candidate report.
  @Sendable static func edgeModelMattersToRollouts(_ change: ObjectChange) -> Bool {
    guard let old = change.old, let new = change.new else { return true }
    return edgeModelFingerprint(old) != edgeModelFingerprint(new)
  }

  /// The EdgeModel controller, for a DriftPolicy of its model: what the sidecar is made of.
  @Sendable static func policyMattersToItsModel(_ change: ObjectChange) -> Bool {
    guard let old = change.old, let new = change.new else { return true }
    func fingerprint(_ p: JSONValue) -> JSONValue {
      ["features": p[path: ["spec", "features"]] ?? .null, "source": p[path: ["spec", "source"]] ?? .null,
       "schedule": p[path: ["spec", "schedule"]] ?? .null, "reference": p[path: ["spec", "reference"]] ?? .null,
       "deleting": .bool(p[path: ["metadata", "deletionTimestamp"]] != nil)]
    }
    return fingerprint(old) != fingerprint(new)
  }

  static func rolloutFingerprint(_ r: JSONValue) -> JSONValue {
    let status = r["status"]
    return ["generation": r[path: ["metadata", "generation"]] ?? .null, "labels": r[path: ["metadata", "labels"]] ?? .null,
            "phase": status?["phase"] ?? .null, "step": status?["currentStep"] ?? .null, "hash": status?["candidateHash"] ?? .null,
            "promotedAt": status?["promotedAt"] ?? .null, "promotedOver": status?["promotedOver"] ?? .null,
            "created": r[path: ["metadata", "creationTimestamp"]] ?? .null]
  }

  static func edgeModelFingerprint(_ m: JSONValue) -> JSONValue {
    ["generation": m[path: ["metadata", "generation"]] ?? .null, "model": m[path: ["spec", "model"]] ?? .null,
     "mode": m[path: ["spec", "placement", "mode"]] ?? .null,
     "observed": m[path: ["status", "observedGeneration"]] ?? .null, "candidate": m[path: ["status", "candidate"]] ?? .null]
  }

  static func without(_ object: JSONValue, _ field: String) -> JSONValue {
    var o = object
    o[field] = nil
    // The resourceVersion moves with every write, status included.
    o[path: ["metadata", "resourceVersion"]] = nil
    o[path: ["metadata", "managedFields"]] = nil
    return o
  }
}
