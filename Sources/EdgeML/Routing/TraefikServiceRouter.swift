import KubeClient
import KubeCore

/// Shifts traffic with the weighted services of a Traefik `TraefikService` (traefik.io/v1alpha1) the user owns.
///
/// K3s ships Traefik, so on K3s this is the router that needs nothing else installed. The user's
/// IngressRoute (or Ingress) sends to the TraefikService, whose `spec.weighted.services` lists the
/// stable Service; Traefik spreads requests over that list by weight.
///
/// ## What it writes
/// The stable entry's `weight`, and a candidate entry (a copy of the stable one naming the candidate
/// Service) with its weight. Other entries, mirroring, sticky sessions and every other field stay the user's.
///
/// ## Field ownership
/// `spec.weighted.services` has no list type in the CRD, so it is atomic under server-side apply: a
/// read-modify-write with the resourceVersion precondition, or, for a step over the list as the
/// operator last saw it, one JSON Patch that tests the list first (see `ObjectEditor`). Flagger instead
/// replaces the whole list with its primary and canary (fluxcd/flagger `pkg/router/traefik.go`,
/// `SetRoutes`), which would drop a user's other entries.
///
/// ## Caveats
/// A weighted TraefikService cannot match headers or cookies: an A/B match is refused with
/// `TrafficRouterError.matchNotSupported`. An entry without `weight` counts as 1: Traefik's CRD
/// provider starts each weighted service from `SetDefaults()`, weight 1, and keeps a given weight
/// (traefik `pkg/provider/kubernetes/crd`, its TCP and UDP weighted services alike); after `reset`
/// the stable entry carries `weight: 1` explicitly. Set the weight in your manifest to avoid that diff.
public struct TraefikServiceRouter: TrafficRouter {
  /// The TraefikService, in the Rollout's namespace.
  public var traefikService: String
  var editor: ObjectEditor

  /// - Parameter memory: as for `HTTPRouteRouter`.
  public init(traefikService: String, memory: RouterObjectMemory? = nil) {
    self.traefikService = traefikService
    editor = ObjectEditor(resource: .traefikServices, kind: "TraefikService", reads: [["spec", "weighted", "services"]], memory: memory)
  }

  public func setWeights(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    try route.validate()
    guard route.match == nil else { throw TrafficRouterError.matchNotSupported(router: .traefik) }
    let written = try await editor.setWeights(route, name: traefikService, client: client, routing: routing)
    return RouterReport(router: .traefik, object: "TraefikService \(route.namespace)/\(traefikService)",
                        candidateWeight: route.candidateWeight, written: written,
                        message: "TraefikService \(route.namespace)/\(traefikService) sends \(route.candidateWeight)% to \(route.candidateService)")
  }

  public func reset(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    let written = try await editor.reset(route, name: traefikService, client: client, routing: routing)
    return RouterReport(router: .traefik, object: "TraefikService \(route.namespace)/\(traefikService)", candidateWeight: 0,
                        written: written,
                        message: "TraefikService \(route.namespace)/\(traefikService) sends everything to \(route.stableService)")
  }

  func routing(_ observed: JSONValue, _ route: RouteWeights, reset: Bool) throws -> JSONValue {
    try Self.routing(observed, route: route, traefikService: traefikService, reset: reset)
  }

  public var observedObject: RouterObjectReference? {
    RouterObjectReference(resource: .traefikServices, kind: "TraefikService", name: traefikService)
  }

  public func plannedObject(_ route: RouteWeights, reset: Bool, observed: JSONValue) throws -> RouterObjectPlan? {
    if !reset {
      try route.validate()
      guard route.match == nil else { throw TrafficRouterError.matchNotSupported(router: .traefik) }
    }
    let object = try routing(observed, reset ? route.allStable : route, reset: reset)
    return RouterObjectPlan(resource: .traefikServices, name: traefikService, object: object, isApplied: false)
  }

  /// The TraefikService with `route`'s weights: a pure function of the observed object.
  static func routing(_ observed: JSONValue, route: RouteWeights, traefikService: String, reset: Bool) throws -> JSONValue {
    var services = observed[path: ["spec", "weighted", "services"]]?.arrayValue ?? []
    guard let s = services.firstIndex(where: { names($0, service: route.stableService, namespace: route.namespace) }) else {
      throw TrafficRouterError.stableServiceNotReferenced(kind: "TraefikService", namespace: route.namespace, name: traefikService,
                                                          service: route.stableService)
    }
    let c = services.firstIndex(where: { names($0, service: route.candidateService, namespace: route.namespace) })
    services = BackendPair.shift(services, stable: s, candidate: c, route: route, reset: reset).entries
    var desired = observed
    desired[path: ["spec", "weighted", "services"]] = .array(services)
    return desired
  }

  /// Whether an entry is the Kubernetes Service `service` of this namespace (kind Service is Traefik's default).
  static func names(_ entry: JSONValue, service: String, namespace: String) -> Bool {
    entry["name"]?.stringValue == service && (entry["kind"]?.stringValue ?? "Service") == "Service"
      && (entry["namespace"]?.stringValue ?? namespace) == namespace
  }
}
