/// Why a router could not move traffic; each message says what the user should fix.
///
/// These are bad input or missing setup, not transient failures: the Rollout reports them in a
/// condition and waits (DESIGN.md §6). API errors other than these (a 422 from the object's schema,
/// a 5xx) come through unchanged as `KubeAPIError`.
public enum TrafficRouterError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The object the Rollout names does not exist.
  case objectNotFound(kind: String, namespace: String, name: String)
  /// The API server does not serve the object's resource: its CRD is not installed.
  case resourceNotInstalled(kind: String, apiVersion: String)
  /// The object routes nothing to the stable Service, so there is nothing to shift.
  case stableServiceNotReferenced(kind: String, namespace: String, name: String, service: String)
  /// The router cannot route by header or cookie.
  case matchNotSupported(router: TrafficRouterKind)
  /// A candidate weight outside 0...100.
  case invalidWeight(Int)
  /// Every read-modify-write attempt met a newer version of the object.
  case conflictRetriesExhausted(kind: String, namespace: String, name: String, attempts: Int)

  public var description: String {
    switch self {
    case .objectNotFound(let kind, let namespace, let name):
      return "\(kind) \(namespace)/\(name) not found: create it, or use trafficRouting.replicaRatio"
    case .resourceNotInstalled(let kind, let apiVersion):
      return "the cluster does not serve \(kind) (\(apiVersion)): install its CRD, or use trafficRouting.replicaRatio"
    case .stableServiceNotReferenced(let kind, let namespace, let name, let service):
      return "\(kind) \(namespace)/\(name) routes nothing to the Service \"\(service)\": "
        + "add it as a backend of the route whose traffic the Rollout should shift"
    case .matchNotSupported(let router):
      return "trafficRouting.\(router.rawValue) cannot route by header or cookie: use trafficRouting.gatewayAPI or "
        + "trafficRouting.nginx for an A/B match"
    case .invalidWeight(let weight):
      return "candidate weight \(weight) is outside 0...100"
    case .conflictRetriesExhausted(let kind, let namespace, let name, let attempts):
      return "\(kind) \(namespace)/\(name) changed under each of \(attempts) attempts to set weights: retrying later"
    }
  }
}
