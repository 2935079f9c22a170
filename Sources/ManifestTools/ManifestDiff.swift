import ControllerRuntime
import EdgeML
import KubeCore
import YAML

/// What the controllers would write for the EdgeModels, Rollouts and DriftPolicies of a manifest,
/// offline: each controller's pure planner (`ControllerPlans`) run on the objects as the API server
/// stores them (defaults filled in by `ManifestValidator`), as their first reconcile after
/// `kubectl apply` of the whole manifest would (docs/validate.md §edgeml diff).
///
/// *Assumptions* (each plan's notes say which applied):
/// - the cluster holds the given nodes and nothing else: no pods, no engine built, no Jobs;
/// - what a planner reads of another resource comes from the same manifest: a Rollout's or a
///   DriftPolicy's EdgeModel, an EdgeModel's Rollouts and DriftPolicies, a router's HTTPRoute,
///   TraefikService or Ingress — each as just created, without status (so no candidate is Ready
///   yet), except that Rollouts are planned first and the EdgeModels see the status that gives
///   them. One that the manifest does not hold is planned as absent, as the controller would if
///   it did not exist;
/// - an MLflow alias (`mlflow://NAME@ALIAS`) is not looked up.
public enum ManifestDiff {
  /// What stands for a resource's uid in the planned objects' owner references.
  public static func uidPlaceholder(kind: String) -> String { "(the \(kind)'s uid once created)" }
  /// The EdgeModel's placeholder uid.
  public static let uidPlaceholder = uidPlaceholder(kind: EdgeModel.kind)

  /// Plans every EdgeModel, Rollout and DriftPolicy among `objects` (stored forms, from
  /// `ManifestValidator`), in that order of kinds.
  /// - Parameters:
  ///   - nodes: Node objects (`kubectl get nodes -o yaml` items).
  ///   - builderImage: the operator's engine builder image (its `--builder-image`).
  ///   - now: the time conditions are stamped with.
  public static func plans(objects: [JSONValue], nodes: [JSONValue], builderImage: String, now: Timestamp) throws -> [ResourcePlan] {
    var asCreated = objects.map { created($0, now: now) }
    // Rollouts first: the EdgeModel controller then sees each with the status its first pass
    // gives it (active, at step 0), as it would once the Rollout controller has run.
    var rolloutPlans: [ResourcePlan] = []
    for (i, json) in asCreated.enumerated() where json["kind"]?.stringValue == Rollout.kind {
      let index = ManifestIndex(objects: asCreated)
      let rollout = try Rollout(json: json)
      let namespace = json.namespaceOrDefault
      var notes: [String] = []
      let model = try modelFor(rollout.spec.modelRef.name, namespace: namespace, in: index, notes: &notes)
      let siblings = try index.all(kind: Rollout.kind, namespace: namespace)
        .filter { $0[path: ["spec", "modelRef", "name"]]?.stringValue == rollout.spec.modelRef.name }.map { try Rollout(json: $0) }
      var routerObject: JSONValue?
      if let reference = RolloutRouting.router(rollout, model: model).observedObject {
        routerObject = index.find(kind: reference.kind, namespace: namespace, name: reference.name)
        if routerObject == nil {
          notes.append("\(reference.kind) \(reference.name) is not in the input: planned as the controller would if it did not exist")
        }
      }
      let plan = ControllerPlans.rollout(.init(rollout: rollout, model: model, siblings: siblings, routerObject: routerObject, notes: notes),
                                         now: now)
      rolloutPlans.append(plan)
      asCreated[i]["status"] = plan.status
    }
    let index = ManifestIndex(objects: asCreated)
    var plans: [ResourcePlan] = []
    for json in asCreated where json["kind"]?.stringValue == EdgeModel.kind {
      let model = try EdgeModel(json: json)
      let namespace = json.namespaceOrDefault
      let observed = ControllerPlans.ModelObserved(
        model: model, nodes: nodes, pods: [],
        rollouts: try index.all(kind: Rollout.kind, namespace: namespace).filter { $0[path: ["spec", "modelRef", "name"]]?.stringValue == model.metadata.name }
          .map { try Rollout(json: $0) },
        policies: try index.all(kind: DriftPolicy.kind, namespace: namespace)
          .filter { $0[path: ["spec", "modelRef", "name"]]?.stringValue == model.metadata.name }.map { try DriftPolicy(json: $0) })
      var plan = ControllerPlans.edgeModel(observed, builderImage: builderImage, now: now)
      plan.notes[0] += " (of the \(nodes.count) given)"
      plans.append(plan)
    }
    plans += rolloutPlans
    for json in asCreated where json["kind"]?.stringValue == DriftPolicy.kind {
      let policy = try DriftPolicy(json: json)
      let namespace = json.namespaceOrDefault
      var notes: [String] = []
      let model = try modelFor(policy.spec.modelRef.name, namespace: namespace, in: index, notes: &notes)
      let rollouts = index.all(kind: Rollout.kind, namespace: namespace)
        .filter { $0[path: ["spec", "modelRef", "name"]]?.stringValue == policy.spec.modelRef.name }
      plans.append(ControllerPlans.driftPolicy(.init(policy: policy, model: model, rollouts: rollouts, notes: notes), now: now))
    }
    return plans
  }

  /// The input's objects of other API groups (an HTTPRoute, an Ingress), which `ManifestValidator`
  /// skips: what the offline plans read of a router's object. Those that name no namespace get `namespace`.
  public static func otherObjects(_ documents: [ManifestDocument], namespace: String) -> [JSONValue] {
    documents.map(\.object).filter { !($0["apiVersion"]?.stringValue ?? "").hasPrefix("\(EdgeMLAPI.group)/") }.map { object in
      var object = object
      if object[path: ["metadata", "namespace"]] == nil { object[path: ["metadata", "namespace"]] = .string(namespace) }
      return object
    }
  }

  /// The model a Rollout or DriftPolicy names, from the input; a note when it is not there.
  static func modelFor(_ name: String, namespace: String, in index: ManifestIndex, notes: inout [String]) throws -> EdgeModel? {
    guard let json = index.find(kind: EdgeModel.kind, namespace: namespace, name: name) else {
      notes.append("EdgeModel \(name) is not in the input: planned as the controller would if it did not exist")
      return nil
    }
    notes.append("EdgeModel \(name) as just created: no status yet, so no pod of it is Ready")
    return try EdgeModel(json: json)
  }

  /// The object as the API server creates it: a uid placeholder (the cluster's to give), generation
  /// 1 and a creation time of `now` where the offline server left them out.
  static func created(_ json: JSONValue, now: Timestamp) -> JSONValue {
    guard let kind = json["kind"]?.stringValue, [EdgeModel.kind, Rollout.kind, DriftPolicy.kind].contains(kind) else { return json }
    var json = json
    json[path: ["metadata", "uid"]] = .string(uidPlaceholder(kind: kind))
    if json[path: ["metadata", "generation"]] == nil { json[path: ["metadata", "generation"]] = 1 }
    if json[path: ["metadata", "creationTimestamp"]] == nil { json[path: ["metadata", "creationTimestamp"]] = .string(now.rfc3339) }
    return json
  }

  /// The plans as one YAML stream: comments per resource (its notes, the phase and the conditions
  /// not True), then the objects it would write; for a Rollout or DriftPolicy also the resource
  /// with the status it would get, the controller's main output for them.
  public static func yaml(_ plans: [ResourcePlan]) -> String {
    var out = ""
    for plan in plans {
      var notes = plan.notes
      let headline = plan.kind == EdgeModel.kind && !notes.isEmpty ? notes.removeFirst() : "first reconcile"
      out += "# \(plan.kind) \(plan.namespace)/\(plan.name): \(headline)\n"
      if let phase = plan.status["phase"]?.stringValue { out += "# phase after a first reconcile: \(phase)\n" }
      for condition in plan.status["conditions"]?.arrayValue ?? [] where condition["status"]?.stringValue != "True" {
        let type = condition["type"]?.stringValue ?? ""
        let message = condition["message"]?.stringValue ?? condition["reason"]?.stringValue ?? ""
        out += "# \(type)=\(condition["status"]?.stringValue ?? ""): \(message)\n"
      }
      for note in notes { out += "# \(note)\n" }
      for planned in plan.objects {
        guard let object = planned.object else {
          out += "# would delete \(planned.kind) \(planned.namespace)/\(planned.name)\n"
          continue
        }
        out += "---\n" + YAML.emit(object)
      }
      if plan.kind != EdgeModel.kind {
        var resource = plan.resource
        resource["spec"] = nil
        out += "---\n" + YAML.emit(resource)
      }
    }
    return out
  }
}
