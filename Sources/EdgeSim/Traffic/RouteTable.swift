import Foundation
import KubeCore

/// A Service a router sends a share of requests to.
struct WeightedService: Sendable, Equatable {
  var name: String
  var weight: Double
}

/// Where a load's requests go, as the router objects in front of its model say right now: for a
/// request without a header and for each header value the load sends, the weighted Services.
///
/// Read through the simulator's `ClusterAPI` (a snapshot of the store), never through the client or
/// the operator's router code (DESIGN.md §1): the simulator plays the proxy, so it reads the objects
/// the way Traefik, a Gateway or ingress-nginx would.
struct RouteTable: Sendable, Equatable {
  /// Backends of requests that carry no header (or one no rule singles out).
  var plain: [WeightedService]
  /// Backends per header value of the load, in the order of `ModelLoad.headers`.
  var byHeader: [[WeightedService]]

  func backends(header index: Int?) -> [WeightedService] { index.map { byHeader[$0] } ?? plain }

  /// Everyone alike: all requests to one Service (the replica-ratio router, or a plain Service entry point).
  static func single(_ service: String, headers: Int) -> RouteTable {
    let all = [WeightedService(name: service, weight: 1)]
    return RouteTable(plain: all, byHeader: Array(repeating: all, count: headers))
  }

  /// The route of `load` through its entry point; nil when the entry point does not exist.
  static func resolve(_ load: ModelLoad, api: ClusterAPI) -> RouteTable? {
    let ns = load.namespace
    switch load.entryPoint {
    case .service(let name):
      return api.get(Keys.services, namespace: ns, name: name) == nil ? nil : .single(name, headers: load.headers.count)
    case .traefikService(let name):
      return api.get(Keys.traefikServices, namespace: ns, name: name).map { traefik($0, load: load, api: api) }
    case .httpRoute(let name):
      return api.get(Keys.httpRoutes, namespace: ns, name: name).map { httpRoute($0, load: load) }
    case .ingress(let name):
      return api.get(Keys.ingresses, namespace: ns, name: name).flatMap { nginx(primary: $0, load: load, api: api) }
    case .automatic:
      return automatic(load, api: api)
    }
  }

  /// `EntryPoint.automatic`: the first router object that sends to one of the model's Services.
  private static func automatic(_ load: ModelLoad, api: ClusterAPI) -> RouteTable? {
    let ns = load.namespace
    let services = Set(api.list(Keys.services, namespace: ns)
      .filter { JSONValue.stringMap($0[path: ["spec", "selector"]])[modelLabel] == load.model }.map(\.name))
    if let t = api.list(Keys.traefikServices, namespace: ns).first(where: { !Set(traefikServiceNames($0)).isDisjoint(with: services) }) {
      return traefik(t, load: load, api: api)
    }
    if let r = api.list(Keys.httpRoutes, namespace: ns).first(where: { !Set(httpRouteServiceNames($0)).isDisjoint(with: services) }) {
      return httpRoute(r, load: load)
    }
    let ingresses = api.list(Keys.ingresses, namespace: ns)
    if let canary = ingresses.first(where: { isCanary($0) && ingressServiceName($0).map { services.contains($0) } == true }) {
      let primary = ingresses.first { !isCanary($0) && sharesHost($0, canary) }
      return nginx(primary: primary, canary: canary, fallback: load.model, load: load)
    }
    if services.contains(load.model) { return .single(load.model, headers: load.headers.count) }
    return nil
  }

  /// The label by which a model's Services select its pods.
  static let modelLabel = "edgeml.io/model"
}
