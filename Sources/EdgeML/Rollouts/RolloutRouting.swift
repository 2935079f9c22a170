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

  /// Measures with the providers a metric names: PromQL over HTTP, the candidate's pods scraped
  /// directly, or a Job (docs/analysis.md). `{{candidate}}` and `{{stable}}` in a query become
  /// matchers on the labels every Kubernetes scrape configuration gives a pod's series
  /// (`namespace`, `pod`): the candidate's pods are `<model>-c-…` (docs/rollouts.md).
  public static func measure(prometheus: any AnalysisProvider, podMetrics: any AnalysisProvider) -> RolloutReconciler.Measure {
    { metric, rollout, model, index, context in
      let providers = AnalysisProviders(prometheus: prometheus, podMetrics: podMetrics, job: JobProvider(client: context.client))
      let name = rollout.spec.modelRef.name
      let namespace = rollout.metadata.namespace ?? "default"
      var pods: [ScrapeTarget] = []
      if metric.provider.podMetrics != nil {
        let port = model?.spec.serving.ports?.metrics ?? 8002
        for pod in await context.caches.store(.pods)?.byIndex("model", "\(namespace)/\(name)") ?? []
        where pod[path: ["metadata", "labels", EdgeModelPlanner.Labels.track]]?.stringValue == EdgeModelPlanner.Labels.candidateTrack
          && EdgeModelPlanner.isReady(pod) && pod[path: ["metadata", "deletionTimestamp"]] == nil {
          guard let ip = pod[path: ["status", "podIP"]]?.stringValue, !ip.isEmpty else { continue }
          pods.append(ScrapeTarget(pod: pod[path: ["metadata", "name"]]?.stringValue ?? "", url: "http://\(ip):\(port)/metrics"))
        }
      }
      let analysis = AnalysisContext(
        rolloutNamespace: namespace, rolloutName: rollout.metadata.name ?? "", rolloutUID: rollout.metadata.uid ?? "",
        runID: "step-\(rollout.status?.currentStep ?? 0)", measurementIndex: index, now: context.clock.timestamp,
        candidateMatchers: "namespace=\"\(namespace)\",pod=~\"\(name)-c-.*\"",
        stableMatchers: "namespace=\"\(namespace)\",pod=~\"\(name)-.*\",pod!~\"\(name)-c-.*\"", pods: pods)
      return await providers.measure(metric, context: analysis)
    }
  }

  /// When no HTTP transport could be made: every measurement is an error, so an analysis step ends
  /// inconclusive and the rollout pauses (never promoted on missing data).
  public static let unavailableMeasure: RolloutReconciler.Measure = { metric, _, _, _, context in
    Measurement(metric: metric.name, phase: .error, message: "no analysis provider could be set up in this operator",
                startedAt: context.clock.timestamp)
  }

  /// The operator's providers, over one libcurl transport (system CA certificates), made once.
  public static let defaultMeasure: RolloutReconciler.Measure = {
    guard let transport = try? HTTPTransport(tls: TLSSettings()) else { return unavailableMeasure }
    return measure(prometheus: PrometheusProvider(transport: transport), podMetrics: PodMetricsProvider(transport: transport))
  }()
}
