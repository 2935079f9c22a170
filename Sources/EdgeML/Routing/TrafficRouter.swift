import KubeClient
import KubeCore

/// Moves a Rollout's traffic between its stable and candidate Services.
///
/// One implementation per `spec.trafficRouting` choice; `makeTrafficRouter(for:replicas:)` picks it.
///
/// ## Guarantees
/// - A router writes only what it owns, as the field manager `TrafficRouting.fieldManager`: the weights
///   of the backends that name the stable or candidate Service, the rules and objects it adds. A user's
///   other rules, backends, fields and annotations are left as they are.
/// - Idempotent: when the cluster already says what `route` asks, nothing is written (`written == false`),
///   so a reconcile may call it on every pass.
///
/// ## Errors
/// `TrafficRouterError` for missing objects, missing CRDs and objects that do not route to the stable
/// Service; `KubeAPIError` for anything else the API server refuses.
public protocol TrafficRouter: Sendable {
  /// Routes `route.candidateWeight` percent of requests, plus those matching `route.match`, to the candidate.
  ///
  /// Passing no match removes an A/B match written before. To promote, send everything to the
  /// candidate (`candidateWeight: 100`, no match) while the stable pods take the new version, then `reset`.
  func setWeights(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport

  /// Sends every request to the stable Service and removes what the router added (candidate backends,
  /// A/B rules, the canary Ingress): the end of an abort, and of a promotion once the stable Service
  /// serves the promoted version. Only the names in `route` are read. A router object (or CRD) that is
  /// gone is nothing to undo: `written == false`, no error.
  func reset(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport

  /// The object the router reads to decide what it writes; nil when it reads none (replica ratio).
  var observedObject: RouterObjectReference? { get }

  /// What `setWeights` (or, with `reset`, `reset`) would leave in the cluster, worked out from
  /// `observed` — the object `observedObject` names — by the same pure function the write uses,
  /// without writing: what `edgeml diff` shows. nil: the router writes no object.
  /// - Throws: `TrafficRouterError` as `setWeights` would for the same objects.
  func plannedObject(_ route: RouteWeights, reset: Bool, observed: JSONValue) throws -> RouterObjectPlan?
}

/// An object a router reads: its resource, kind and name in the Rollout's namespace.
public struct RouterObjectReference: Sendable, Equatable {
  public var resource: GroupVersionResource
  public var kind: String
  public var name: String
}

/// The object a router would write: `object` as it would stand afterwards, or nil when it would be
/// deleted (the NGINX canary Ingress on reset).
public struct RouterObjectPlan: Sendable, Equatable {
  public var resource: GroupVersionResource
  public var name: String
  public var object: JSONValue?
  /// Whether the router applies the whole object (server-side apply as `TrafficRouting.fieldManager`)
  /// rather than editing the `spec` of an object the user owns.
  public var isApplied: Bool
}

extension TrafficRouter {
  public var observedObject: RouterObjectReference? { nil }
  public func plannedObject(_ route: RouteWeights, reset: Bool, observed: JSONValue) throws -> RouterObjectPlan? { nil }
}

extension TrafficRouting {
  /// The field manager of every router write, as `managedFields` shows it.
  public static let fieldManager = "edgeml-rollout-router"
}

/// The router `routing` chooses; none chosen means replica ratio (DESIGN.md §2: the default).
///
/// - Parameters:
///   - routing: the Rollout's `spec.trafficRouting`.
///   - replicas: the EdgeModel's replica count, which carries the weight when no router object does.
///   - memory: where the operator remembers the objects its routers edit (`ObjectEditor`), if anywhere.
public func makeTrafficRouter(for routing: TrafficRouting?, replicas: Int, memory: RouterObjectMemory? = nil) -> any TrafficRouter {
  if let name = routing?.gatewayAPI?.httpRoute { return HTTPRouteRouter(httpRoute: name, memory: memory) }
  if let name = routing?.traefik?.traefikService { return TraefikServiceRouter(traefikService: name, memory: memory) }
  if let name = routing?.nginx?.ingress { return NginxCanaryRouter(ingress: name) }
  return ReplicaRatioRouter(replicas: replicas)
}
