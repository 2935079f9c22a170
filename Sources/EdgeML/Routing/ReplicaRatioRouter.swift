import KubeClient

/// Carries the weight by replica counts behind the one stable Service: no object to write.
///
/// Without a mesh or an ingress that splits by weight, the Service spreads requests over its ready
/// endpoints, so a candidate with 1 of 10 pods receives about a tenth of them. The stable Service must
/// then select both tracks' pods (by the model label, not `edgeml.io/track`). The Rollout planner
/// scales the two Deployments by `ReplicaSplit`; this router only reports the share that split gives,
/// which can differ from the requested weight when replicas are few.
public struct ReplicaRatioRouter: TrafficRouter {
  /// The EdgeModel's replica count.
  public var replicas: Int

  public init(replicas: Int) { self.replicas = replicas }

  public func setWeights(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    try route.validate()
    guard route.match == nil else { throw TrafficRouterError.matchNotSupported(router: .replicaRatio) }
    return report(ReplicaSplit(candidateWeight: route.candidateWeight, replicas: replicas), route: route)
  }

  public func reset(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    report(ReplicaSplit(candidateWeight: 0, replicas: replicas), route: route)
  }

  func report(_ split: ReplicaSplit, route: RouteWeights) -> RouterReport {
    RouterReport(router: .replicaRatio, object: nil, candidateWeight: split.candidateWeight, written: false, replicas: split,
                 message: "\(split.candidate) of \(split.stable + split.candidate) pods behind \(route.stableService) are candidates: "
                   + "about \(split.candidateWeight)% of requests (\(route.candidateWeight)% asked)")
  }
}
