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
  ///
  /// - Parameter memory: what this operator's routers remember of the objects they edit, so that a
  ///   step's weight is one request (one memory per operator, as it serves one API server).
  public static func route(memory: RouterObjectMemory?) -> RolloutReconciler.Route {
    { rollout, model, weight, finished, context in
      let trafficRouter = router(rollout, model: model, memory: memory)
      let route = routeWeights(rollout, model: model, weight: weight)
      if finished {
        _ = try await trafficRouter.reset(route, client: context.client)
      } else {
        _ = try await trafficRouter.setWeights(route, client: context.client)
      }
    }
  }

  /// The router the rollout's `spec.trafficRouting` names, for its model.
  public static func router(_ rollout: Rollout, model: EdgeModel?, memory: RouterObjectMemory? = nil) -> any TrafficRouter {
    makeTrafficRouter(for: rollout.spec.trafficRouting, replicas: model?.spec.placement?.replicas ?? 1, memory: memory)
  }

  /// The split a router is asked for: `weight` percent to the model's `<model>-candidate`
  /// Service, the rest to its stable Service, and what a router creates owned by the Rollout.
  public static func routeWeights(_ rollout: Rollout, model: EdgeModel?, weight: Int) -> RouteWeights {
    let name = rollout.spec.modelRef.name
    let owner = OwnerReference(apiVersion: EdgeMLAPI.apiVersion, kind: Rollout.kind, name: rollout.metadata.name ?? "",
                               uid: rollout.metadata.uid ?? "", controller: true, blockOwnerDeletion: true)
    return RouteWeights(namespace: rollout.metadata.namespace ?? "default", rolloutName: rollout.metadata.name ?? "", stableService: name,
                        candidateService: EdgeModelPlanner.candidateServiceName(model: name),
                        port: model?.spec.serving.ports?.http ?? 8000, candidateWeight: weight, match: match(rollout),
                        ownerReferences: [owner])
  }

  /// An A/B test's request match: requests whose header (or cookie) carries the candidate
  /// variant's name go to the candidate.
  static func match(_ rollout: Rollout) -> RouteMatch? {
    guard let ab = rollout.spec.strategy.abTest, ab.variants.count == 2 else { return nil }
    if let header = ab.match?.header { return .header(name: header, value: ab.variants[1].name) }
    if let cookie = ab.match?.cookie { return .cookie(name: cookie) }
    return nil
  }

  /// Reads the A/B metric's counters (`metric.name` for successes, `metric.failures` or Triton's
  /// `nv_inference_request_failure` for failures; for a continuous metric `metric.name`'s sum and
  /// `metric.count` or `nv_inference_request_success`; each summed over every series) from each
  /// Ready serving pod of the model, by track. A pod that cannot be read is left out of this look.
  public static let count: RolloutReconciler.Count = { rollout, model, context in
    guard let ab = rollout.spec.strategy.abTest, let transport = sharedTransport else { return [:] }
    let name = rollout.spec.modelRef.name
    let namespace = rollout.metadata.namespace ?? "default"
    let port = model?.spec.serving.ports?.metrics ?? 8002
    var out: [String: [String: PodCounts]] = [:]
    for pod in await servingPods(namespace: namespace, model: name, context: context)
    where EdgeModelPlanner.isReady(pod) && pod[path: ["metadata", "deletionTimestamp"]] == nil {
      guard let ip = pod[path: ["status", "podIP"]]?.stringValue, !ip.isEmpty,
            let podName = pod[path: ["metadata", "name"]]?.stringValue else { continue }
      let track = pod[path: ["metadata", "labels", EdgeModelPlanner.Labels.track]]?.stringValue ?? EdgeModelPlanner.Labels.stableTrack
      guard let response = try? await transport.send(HTTPRequest(method: "GET", url: "http://\(ip):\(port)/metrics", timeout: .seconds(5))),
            response.status == 200, let text = String(validating: response.body, as: UTF8.self),
            let exposition = try? PrometheusTextParser.parse(text) else { continue }
      if ab.metric.kind != "proportion" {
        // A continuous metric: its cumulative sum over the requests its count counter counts.
        let countName = ab.metric.count ?? "nv_inference_request_success"
        var sum = 0.0, n = 0.0
        for sample in exposition.samples {
          if sample.name == ab.metric.name { sum += sample.value } else if sample.name == countName { n += sample.value }
        }
        out[track, default: [:]][podName] = PodCounts(successes: Int(min(max(n, 0), 9e15)), failures: 0, sum: sum.isFinite ? sum : nil)
        continue
      }
      let failures = ab.metric.failures ?? "nv_inference_request_failure"
      var s = 0.0, f = 0.0
      for sample in exposition.samples {
        if sample.name == ab.metric.name { s += sample.value } else if sample.name == failures { f += sample.value }
      }
      out[track, default: [:]][podName] = PodCounts(successes: Int(min(max(s, 0), 9e15)), failures: Int(min(max(f, 0), 9e15)))
    }
    return out
  }

  /// The model's serving pods as the API server has them now (their addresses are not cached:
  /// a live list of a few pods once per interval costs less than every pod's IP in memory).
  static func servingPods(namespace: String, model: String, context: ReconcileContext) async -> [JSONValue] {
    (try? await context.client.list(.pods, namespace: namespace,
                                    labelSelector: "\(EdgeModelPlanner.Labels.model)=\(model),\(OperatorAssembly.managedSelector)").items) ?? []
  }

  /// One libcurl transport for the operator's own HTTP reads (scrapes, Prometheus).
  static let sharedTransport: HTTPTransport? = try? HTTPTransport(tls: TLSSettings())

  /// Measures with the providers a metric names: PromQL over HTTP, the candidate's pods scraped
  /// directly, or a Job (docs/analysis.md). `{{candidate}}` and `{{stable}}` in a query become
  /// matchers on the labels every Kubernetes scrape configuration gives a pod's series
  /// (`namespace`, `pod`): the candidate's pods are `<model>-c-…` (docs/rollouts.md), or, in a
  /// fleet rollout, the moved nodes' pods by name.
  public static func measure(prometheus: any AnalysisProvider, podMetrics: any AnalysisProvider) -> RolloutReconciler.Measure {
    { metric, rollout, model, index, context in
      let providers = AnalysisProviders(prometheus: prometheus, podMetrics: podMetrics, job: JobProvider(client: context.client))
      let name = rollout.spec.modelRef.name
      let namespace = rollout.metadata.namespace ?? "default"
      var pods: [ScrapeTarget] = []
      // A fleet rollout's candidate pods are the moved nodes' pods of the model's own DaemonSets,
      // told apart by the candidate's version label; a canary's are its `-c-` workloads' pods.
      let fleet = rollout.spec.strategy.fleet != nil
      let candidateVersion = rollout.spec.candidate.model.version
      var fleetPods: [String] = []
      if metric.provider.podMetrics != nil || fleet {
        let port = model?.spec.serving.ports?.metrics ?? 8002
        for pod in await servingPods(namespace: namespace, model: name, context: context)
        where EdgeModelPlanner.isReady(pod) && pod[path: ["metadata", "deletionTimestamp"]] == nil {
          let labels = pod[path: ["metadata", "labels"]]
          let candidate = fleet ? candidateVersion != nil && labels?[EdgeModelPlanner.Labels.version]?.stringValue == candidateVersion
            : labels?[EdgeModelPlanner.Labels.track]?.stringValue == EdgeModelPlanner.Labels.candidateTrack
          guard candidate, let podName = pod[path: ["metadata", "name"]]?.stringValue else { continue }
          fleetPods.append(podName)
          guard let ip = pod[path: ["status", "podIP"]]?.stringValue, !ip.isEmpty else { continue }
          pods.append(ScrapeTarget(pod: podName, url: "http://\(ip):\(port)/metrics"))
        }
      }
      let candidateMatchers = fleet ? "namespace=\"\(namespace)\",pod=~\"\(fleetPods.sorted().joined(separator: "|"))\""
        : "namespace=\"\(namespace)\",pod=~\"\(name)-c-.*\""
      let stableMatchers = fleet ? "namespace=\"\(namespace)\",pod=~\"\(name)-.*\",pod!~\"\(fleetPods.sorted().joined(separator: "|"))\""
        : "namespace=\"\(namespace)\",pod=~\"\(name)-.*\",pod!~\"\(name)-c-.*\""
      let analysis = AnalysisContext(
        rolloutNamespace: namespace, rolloutName: rollout.metadata.name ?? "", rolloutUID: rollout.metadata.uid ?? "",
        runID: "step-\(rollout.status?.currentStep ?? 0)", measurementIndex: index, now: context.clock.timestamp,
        candidateMatchers: candidateMatchers, stableMatchers: stableMatchers, pods: pods)
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
    guard let transport = sharedTransport else { return unavailableMeasure }
    return measure(prometheus: PrometheusProvider(transport: transport), podMetrics: PodMetricsProvider(transport: transport))
  }()
}
