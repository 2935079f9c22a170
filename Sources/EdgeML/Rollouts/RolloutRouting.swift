import ControllerRuntime
import KubeClient
import KubeCore

/// How the operator's Rollout controller measures and routes by default.
public enum RolloutRouting {
  /// The field manager of the Rollout controller's writes.
  public static let fieldManager = "edgeml-rollout"

  /// Moves the rollout's router to `weight` for the candidate, or, once the rollout is finished,
  /// gives the router back as the user wrote it (`reset`). The replica ratio writes nothing: the
  /// EdgeModel controller scales the candidate for the step and the Service spreads traffic over
  /// the Ready pods. Weighted routers split between the model's Service (stable pods only while
  /// the rollout runs) and `<model>-candidate` (docs/traffic-routing.md).
  public static let route: RolloutReconciler.Route = { rollout, model, weight, finished, context in
    let router = makeTrafficRouter(for: rollout.spec.trafficRouting, replicas: model?.spec.placement?.replicas ?? 1)
    let name = rollout.spec.modelRef.name
    let owner = OwnerReference(apiVersion: EdgeMLAPI.apiVersion, kind: Rollout.kind, name: rollout.metadata.name ?? "",
                               uid: rollout.metadata.uid ?? "", controller: true, blockOwnerDeletion: true)
    let route = RouteWeights(namespace: rollout.metadata.namespace ?? "default", rolloutName: rollout.metadata.name ?? "", stableService: name,
                             candidateService: EdgeModelPlanner.candidateServiceName(model: name),
                             port: model?.spec.serving.ports?.http ?? 8000, candidateWeight: weight, ownerReferences: [owner])
    if finished {
      _ = try await router.reset(route, client: context.client)
    } else {
      _ = try await router.setWeights(route, client: context.client)
    }
  }

  /// Before the analysis providers are wired in: every measurement is an error, so an analysis step
  /// ends inconclusive and the rollout pauses (never promoted on missing data).
  public static let unavailableMeasure: RolloutReconciler.Measure = { metric, _, context in
    AnalysisRecord(metric: metric.name, phase: .error, message: "no analysis provider is configured in this operator",
                   at: context.clock.timestamp.rfc3339)
  }
}
