import KubeCore

/// How one Rollout's traffic should be split between its stable and candidate Services.
///
/// A router makes the cluster say exactly this and nothing more: the same value written twice
/// changes nothing the second time, so a reconcile may call a router on every pass.
public struct RouteWeights: Sendable, Equatable {
  /// The namespace of the Rollout, its Services and the router's object.
  public var namespace: String
  /// The Rollout's name; names what the routers add (the Gateway API A/B rules, the canary Ingress's label).
  public var rolloutName: String
  /// The Service of the stable pods, named like the EdgeModel.
  public var stableService: String
  /// The Service of the candidate pods, `<model>-candidate`.
  public var candidateService: String
  /// The candidate Service's port; nil uses the port the router's object names for the stable Service.
  public var port: Int?
  /// The percentage of requests for the candidate, 0 to 100; the stable side gets the rest.
  public var candidateWeight: Int
  /// For an A/B test: requests that match go to the candidate whatever the weight; nil for none.
  public var match: RouteMatch?
  /// Owners of the objects a router creates (the NGINX canary Ingress): the Rollout, so garbage
  /// collection removes them with it.
  public var ownerReferences: [OwnerReference]

  /// Creates the split; `candidateWeight` outside 0...100 is refused by the routers.
  public init(namespace: String, rolloutName: String, stableService: String, candidateService: String, port: Int? = nil,
              candidateWeight: Int, match: RouteMatch? = nil, ownerReferences: [OwnerReference] = []) {
    self.namespace = namespace
    self.rolloutName = rolloutName
    self.stableService = stableService
    self.candidateService = candidateService
    self.port = port
    self.candidateWeight = candidateWeight
    self.match = match
    self.ownerReferences = ownerReferences
  }

  /// The percentage of requests for the stable side.
  public var stableWeight: Int { 100 - candidateWeight }

  /// The same split with every request on the stable side and no match.
  var allStable: RouteWeights {
    var copy = self
    copy.candidateWeight = 0
    copy.match = nil
    return copy
  }

  func validate() throws(TrafficRouterError) {
    guard (0...100).contains(candidateWeight) else { throw .invalidWeight(candidateWeight) }
  }
}
