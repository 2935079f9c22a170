import ControllerRuntime
import EdgeML
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// The three controllers' planners run on an observed state, as their reconcilers run them, without
/// any write, measurement or scrape: `edgeml diff`'s core. Each reconciler's own input function
/// (`RolloutReconciler.input`, `DriftPolicyReconciler.input`, `EdgeModelReconciler.gpusInUse`) builds
/// the planner's input, so the diff can never disagree with the operator about it.
enum ControllerPlans {
  /// What the EdgeModel controller reads for one model.
  struct ModelObserved {
    var model: EdgeModel
    var nodes: [JSONValue]
    /// The model's pods, as the operator caches them.
    var pods: [JSONValue]
    /// GPUs every pod of the operator's holds, per node.
    var gpuTally: [String: Int] = [:]
    var rollouts: [Rollout] = []
    var daemonSets: [JSONValue] = []
    var policies: [DriftPolicy] = []
    /// The model's workloads, Services and budgets in the cluster: those the plan no longer wants
    /// are pruned.
    var owned: [(GroupVersionResource, JSONValue)] = []
  }

  static let prunedByModel: [GroupVersionResource] = [.deployments, EdgeModelReconciler.daemonSets, EdgeModelReconciler.services,
                                                      EdgeModelReconciler.disruptionBudgets]

  static func stamped(_ objects: [DesiredObject], namespace: String) -> [PlannedObject] {
    objects.map { d in
      PlannedObject(resource: d.resource, namespace: namespace, name: d.name, kind: d.object["kind"]?.stringValue ?? "",
                    object: PlanApplier.stamp(d.object, hashAnnotation: EdgeModelPlanner.Labels.appliedHash),
                    write: .apply(fieldManager: EdgeModelPlanner.fieldManager))
    }
  }

  /// Deletions of the owned objects the plan no longer wants, as `PlanApplier`'s prune finds them
  /// (controlled by the owner's uid).
  static func pruned(_ owned: [(GroupVersionResource, JSONValue)], keeping planned: [PlannedObject], ownerUID: String,
                     namespace: String) -> [PlannedObject] {
    let wanted = Set(planned.map { "\($0.resource.resource)/\($0.name)" })
    return owned.compactMap { resource, object in
      let controlled = (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains {
        $0["uid"]?.stringValue == ownerUID && $0["controller"]?.boolValue == true
      }
      guard controlled, !wanted.contains("\(resource.resource)/\(object.metadataName)"),
            object[path: ["metadata", "deletionTimestamp"]] == nil else { return nil }
      return PlannedObject(resource: resource, namespace: namespace, name: object.metadataName, kind: object["kind"]?.stringValue ?? "",
                           object: nil, write: .apply(fieldManager: EdgeModelPlanner.fieldManager))
    }
  }

  static func edgeModel(_ o: ModelObserved, builderImage: String, builderImagesByL4T: [String: String] = [:], now: Timestamp) -> ResourcePlan {
    let model = o.model
    let namespace = model.metadata.namespace ?? "default"
    let name = model.metadata.name ?? ""
    var notes: [String] = []
    if case .alias? = MLflowModelReference(uri: model.spec.model.uri) {
      notes.append("\(model.spec.model.uri) is an MLflow alias: edgeml diff does not ask the registry, so the URI is planned as written")
    }
    let nodes = o.nodes.map(JetsonNode.init(json:))
    let placement = Placement.evaluate(model.spec, nodes: nodes)
    let inUse = placement.groups.count > 1 ? EdgeModelReconciler.gpusInUse(o.gpuTally, lessOwn: o.pods) : [:]
    var input = EdgeModelPlanner.Input(model: model, nodes: nodes, pods: o.pods, builderImage: builderImage, now: now.rfc3339,
                                       placement: placement, gpusInUse: inUse, rollouts: o.rollouts, daemonSets: o.daemonSets,
                                       driftAgent: DriftAgentSidecar.container(policies: o.policies, image: builderImage))
    input.builderImagesByL4T = builderImagesByL4T
    let plan = EdgeModelPlanner.plan(input)
    notes.insert("\(plan.placement.summary)", at: 0)
    for pod in plan.evictions { notes.append("would evict pod \(pod) for the fleet wave") }
    var objects = stamped(plan.objects, namespace: namespace)
    objects += pruned(o.owned.filter { r, _ in prunedByModel.contains(r) }, keeping: objects, ownerUID: model.metadata.uid ?? "",
                      namespace: namespace)
    return ResourcePlan(kind: EdgeModel.kind, namespace: namespace, name: name, notes: notes, objects: objects,
                        status: ModelCoding.encode(plan.status), spec: model.original["spec"] ?? .null)
  }

  /// What the Rollout controller reads for one rollout.
  struct RolloutObserved {
    var rollout: Rollout
    var model: EdgeModel?
    var siblings: [Rollout] = []
    /// The object the rollout's router reads (`TrafficRouter.observedObject`), nil when absent.
    var routerObject: JSONValue?
    /// Why the model or router object is what it is (not given, assumed).
    var notes: [String] = []
  }

  static func rollout(_ o: RolloutObserved, now: Timestamp) -> ResourcePlan {
    let rollout = o.rollout
    let namespace = rollout.metadata.namespace ?? "default"
    var notes = o.notes
    var input = RolloutReconciler.input(rollout, model: o.model, siblings: o.siblings, now: now)
    var plan = RolloutPlanner.plan(input)
    if plan.measure == [RolloutPlanner.abTestMeasurement] {
      notes.append("an A/B look is due: the controller would read the serving pods' counters first (edgeml diff does not); shown: the plan without it")
    } else if !plan.measure.isEmpty {
      notes.append("analysis is due: the controller would measure \(plan.measure.joined(separator: ", ")) first (edgeml diff does not); shown: the plan before the measurement")
    }
    var objects: [PlannedObject] = []
    if RolloutReconciler.asksRouter(plan, rollout: rollout, model: o.model) {
      let router = RolloutRouting.router(rollout, model: o.model)
      let weights = RolloutRouting.routeWeights(rollout, model: o.model, weight: plan.routerWeight)
      do {
        if let reference = router.observedObject {
          guard let observed = o.routerObject else {
            throw TrafficRouterError.objectNotFound(kind: reference.kind, namespace: namespace, name: reference.name)
          }
          if let p = try router.plannedObject(weights, reset: RolloutReconciler.finishes(plan), observed: observed) {
            objects.append(PlannedObject(resource: p.resource, namespace: namespace, name: p.name,
                                         kind: p.isApplied ? (p.object?["kind"]?.stringValue ?? "Ingress") : reference.kind, object: p.object,
                                         write: p.isApplied ? .apply(fieldManager: TrafficRouting.fieldManager) : .editSpec))
          }
        }
      } catch let error as TrafficRouterError {
        // As the reconciler does: what to fix goes to the status, the weight stays.
        input.routerError = error.description
        plan = RolloutPlanner.plan(input)
      } catch {
        notes.append("the router's object cannot be planned: \(error)")
      }
    }
    if let after = plan.requeueAfter { notes.append("next look in \(after.components.seconds)s") }
    return ResourcePlan(kind: Rollout.kind, namespace: namespace, name: rollout.metadata.name ?? "", notes: notes, objects: objects,
                        status: ModelCoding.encode(plan.status), spec: rollout.original["spec"] ?? .null)
  }

  /// What the DriftPolicy controller reads for one policy (nothing gathered: no scrape, no query).
  struct PolicyObserved {
    var policy: DriftPolicy
    var model: EdgeModel?
    var jobs: [JSONValue] = []
    var baseline: JSONValue?
    var rollouts: [JSONValue] = []
    var jobOutputs: [String: DriftPolicyPlanner.JobOutput] = [:]
    var notes: [String] = []
  }

  static func driftPolicy(_ o: PolicyObserved, now: Timestamp) -> ResourcePlan {
    let policy = o.policy
    let namespace = policy.metadata.namespace ?? "default"
    var notes = o.notes
    var input = DriftPolicyReconciler.input(policy, model: o.model, jobs: o.jobs, baseline: o.baseline, rollouts: o.rollouts, now: now)
    input.jobOutputs = o.jobOutputs
    if let settings = try? DriftPolicyPlanner.settings(policy.spec), o.model != nil {
      switch DriftPolicyPlanner.step(policy, settings: settings, hasBaseline: input.hasBaseline, baselineSince: input.baselineSince,
                                     now: now.secondsSinceEpoch) {
      case .wait(let until):
        notes.append("next evaluation at \(Timestamp(secondsSinceEpoch: until).rfc3339)")
      case .evaluate:
        notes.append("an evaluation is due: the controller would gather the window's summaries and test them; edgeml diff gathers nothing, so a drift report and a retraining Job are not shown")
      case .captureBaseline:
        notes.append("the baseline window has passed: the controller would gather and keep it; edgeml diff gathers nothing")
      }
    }
    let plan = DriftPolicyPlanner.plan(input)
    var objects = stamped(plan.objects, namespace: namespace)
    for job in plan.deleteJobs {
      objects.append(PlannedObject(resource: DriftPolicyReconciler.jobs, namespace: namespace, name: job, kind: "Job", object: nil,
                                   write: .apply(fieldManager: EdgeModelPlanner.fieldManager)))
    }
    return ResourcePlan(kind: DriftPolicy.kind, namespace: namespace, name: policy.metadata.name ?? "", notes: notes, objects: objects,
                        status: ModelCoding.encode(plan.status), spec: policy.original["spec"] ?? .null)
  }
}
