import Foundation
import KubeCore

/// Traefik's weighted round robin: `TraefikService.spec.weighted.services[{name, kind, weight}]`
/// (traefik.io/v1alpha1; CRD schema in Tests/Fixtures/crds/traefik-v3/traefik.io_traefikservices.yaml).
/// An entry of `kind: TraefikService` is another weighted TraefikService, followed up to four
/// levels; its share is split by its own weights. Header matching lives in IngressRoutes, not here,
/// so every request class gets the same weights.
extension RouteTable {
  static func traefik(_ object: JSONValue, load: ModelLoad, api: ClusterAPI) -> RouteTable {
    let backends = flatten(object, namespace: load.namespace, api: api, depth: 0)
    return RouteTable(plain: backends, byHeader: Array(repeating: backends, count: load.headers.count))
  }

  /// Kubernetes Service names a TraefikService sends to directly.
  static func traefikServiceNames(_ object: JSONValue) -> [String] {
    (object[path: ["spec", "weighted", "services"]]?.arrayValue ?? [])
      .filter { ($0["kind"]?.stringValue ?? "Service") == "Service" }.compactMap { $0["name"]?.stringValue }
  }

  private static func flatten(_ object: JSONValue, namespace: String, api: ClusterAPI, depth: Int) -> [WeightedService] {
    var out: [WeightedService] = []
    for entry in object[path: ["spec", "weighted", "services"]]?.arrayValue ?? [] {
      guard let name = entry["name"]?.stringValue else { continue }
      // An unset weight counts 1, as for Traefik's WRR services (traefik pkg/config/dynamic
      // WRRService.SetDefaults).
      let weight = Double(entry["weight"]?.intValue ?? 1)
      guard weight > 0 else { continue }
      if entry["kind"]?.stringValue == "TraefikService" {
        guard depth < 4, let nested = api.get(Keys.traefikServices, namespace: namespace, name: name) else { continue }
        let inner = flatten(nested, namespace: namespace, api: api, depth: depth + 1)
        let total = inner.reduce(0) { $0 + $1.weight }
        if total > 0 { out += inner.map { WeightedService(name: $0.name, weight: weight * $0.weight / total) } }
      } else {
        out.append(WeightedService(name: name, weight: weight))
      }
    }
    return out
  }
}
