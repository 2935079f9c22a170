import ControllerRuntime
import EdgeML
import KubeCore
import YAML

/// What the EdgeModel controller would write for the EdgeModels of a manifest: its pure planner
/// (`EdgeModelPlanner`) run on each model as the API server stores it (defaults filled in by
/// `ManifestValidator`), with the given nodes and no pods — a first reconcile.
///
/// *Assumptions*: the cluster holds the given nodes and nothing the model owns yet; Rollouts and
/// DriftPolicies of the same manifest that name a model are taken into account (a Rollout as
/// just created, without status; a DriftPolicy adds its drift-agent sidecar). An MLflow alias
/// (`mlflow://NAME@ALIAS`) is not looked up: the planner is shown the URI as written.
public enum ManifestDiff {
  /// One EdgeModel's plan.
  public struct ModelPlan: Sendable {
    public var namespace: String
    public var name: String
    /// The objects the controller applies (server-side apply), in the planner's order.
    public var objects: [JSONValue]
    /// What placement found: `"2/3 nodes eligible: 1 module not in [orin-nx-16gb]"`.
    public var placement: String
    /// The status the controller would write (phase, conditions).
    public var status: JSONValue
  }

  /// What stands for the model's uid in the planned objects' owner references.
  public static let uidPlaceholder = "(the EdgeModel's uid once created)"

  /// Plans every EdgeModel among `objects` (stored forms, from `ManifestValidator`).
  /// - Parameters:
  ///   - nodes: Node objects (`kubectl get nodes -o yaml` items).
  ///   - builderImage: the operator's engine builder image (its `--builder-image`).
  ///   - now: the RFC 3339 time conditions are stamped with.
  public static func plans(objects: [JSONValue], nodes: [JSONValue], builderImage: String, now: String) throws -> [ModelPlan] {
    let jetsonNodes = nodes.map(JetsonNode.init(json:))
    let rollouts = objects.filter { $0["kind"]?.stringValue == "Rollout" }.compactMap { try? Rollout(json: $0) }
    let policies = objects.filter { $0["kind"]?.stringValue == "DriftPolicy" }.compactMap { try? DriftPolicy(json: $0) }
    var plans: [ModelPlan] = []
    for var json in objects where json["kind"]?.stringValue == "EdgeModel" {
      // The uid in owner references is the cluster's to give; the offline server's would be noise.
      json[path: ["metadata", "uid"]] = .string(uidPlaceholder)
      let model = try EdgeModel(json: json)
      let namespace = model.metadata.namespace ?? "default"
      let name = model.metadata.name ?? ""
      func targets(_ ref: String?, _ ns: String?) -> Bool { ref == name && (ns ?? "default") == namespace }
      let input = EdgeModelPlanner.Input(
        model: model, nodes: jetsonNodes, pods: [], builderImage: builderImage, now: now,
        rollouts: rollouts.filter { targets($0.spec.modelRef.name, $0.metadata.namespace) },
        driftAgent: DriftAgentSidecar.container(policies: policies.filter { targets($0.spec.modelRef.name, $0.metadata.namespace) },
                                                image: builderImage))
      let plan = EdgeModelPlanner.plan(input)
      plans.append(ModelPlan(namespace: namespace, name: name, objects: plan.objects.map(\.object),
                             placement: plan.placement.summary, status: ModelCoding.encode(plan.status)))
    }
    return plans
  }

  /// The plans as one YAML stream: a comment per model (placement, phase), then its objects.
  public static func yaml(_ plans: [ModelPlan], nodeCount: Int) -> String {
    var out = ""
    for plan in plans {
      out += "# EdgeModel \(plan.namespace)/\(plan.name): \(plan.placement) (of the \(nodeCount) given)\n"
      if let phase = plan.status["phase"]?.stringValue { out += "# phase after a first reconcile: \(phase)\n" }
      for condition in plan.status["conditions"]?.arrayValue ?? [] where condition["status"]?.stringValue != "True" {
        let type = condition["type"]?.stringValue ?? ""
        let message = condition["message"]?.stringValue ?? condition["reason"]?.stringValue ?? ""
        out += "# \(type)=\(condition["status"]?.stringValue ?? ""): \(message)\n"
      }
      for object in plan.objects {
        out += "---\n" + YAML.emit(object)
      }
    }
    return out
  }
}
