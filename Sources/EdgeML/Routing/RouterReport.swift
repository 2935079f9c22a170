/// What a router did, for the Rollout's status and events.
public struct RouterReport: Sendable, Equatable {
  /// The router that wrote it.
  public var router: TrafficRouterKind
  /// The object written or removed, `Kind namespace/name`; nil when the router has no object (replica ratio).
  public var object: String?
  /// The percentage of requests the candidate gets as the router realizes it: the requested weight,
  /// except for replica ratio, where replica counts round it.
  public var candidateWeight: Int
  /// False when the cluster already said this and nothing was written.
  public var written: Bool
  /// The replica counts that carry the weight (replica ratio only).
  public var replicas: ReplicaSplit?
  /// One sentence for a person: what now routes where.
  public var message: String

  public init(router: TrafficRouterKind, object: String?, candidateWeight: Int, written: Bool,
              replicas: ReplicaSplit? = nil, message: String) {
    self.router = router
    self.object = object
    self.candidateWeight = candidateWeight
    self.written = written
    self.replicas = replicas
    self.message = message
  }
}
