import Foundation
import KubeCore

/// ingress-nginx canary Ingresses: a primary Ingress and a canary one (annotation
/// `nginx.ingress.kubernetes.io/canary: "true"`) for the same host.
///
/// Rules as ingress-nginx documents them (docs/user-guide/nginx-configuration/annotations.md,
/// "Canary"), in their order of precedence, cookies aside: `canary-by-header` — a request whose
/// header is `always` goes to the canary, `never` to the primary, with `canary-by-header-value` set
/// only that value goes to the canary; any other request falls through to `canary-weight`, the
/// canary's share out of `canary-weight-total` (default 100).
extension RouteTable {
  static let canaryPrefix = "nginx.ingress.kubernetes.io/"

  static func nginx(primary: JSONValue, load: ModelLoad, api: ClusterAPI) -> RouteTable? {
    let canary = api.list(Keys.ingresses, namespace: load.namespace).first { isCanary($0) && sharesHost($0, primary) }
    return nginx(primary: primary, canary: canary, fallback: load.model, load: load)
  }

  /// The route for a primary and an optional canary Ingress; `fallback` names the primary Service
  /// when there is no primary Ingress.
  static func nginx(primary: JSONValue?, canary: JSONValue?, fallback: String, load: ModelLoad) -> RouteTable? {
    let stable = primary.flatMap(ingressServiceName) ?? fallback
    guard let canary, let candidate = ingressServiceName(canary) else { return .single(stable, headers: load.headers.count) }
    let a = canary.annotations
    let total = Double(a[canaryPrefix + "canary-weight-total"].flatMap(Int.init) ?? 100)
    let weight = min(max(Double(a[canaryPrefix + "canary-weight"].flatMap(Int.init) ?? 0), 0), total)
    let weighted = [WeightedService(name: stable, weight: total - weight), WeightedService(name: candidate, weight: weight)]
    func route(_ header: HeaderShare?) -> [WeightedService] {
      guard let name = a[canaryPrefix + "canary-by-header"], let header, header.name.lowercased() == name.lowercased() else { return weighted }
      if let value = a[canaryPrefix + "canary-by-header-value"] {
        return header.value == value ? [WeightedService(name: candidate, weight: 1)] : weighted
      }
      switch header.value {
      case "always": return [WeightedService(name: candidate, weight: 1)]
      case "never": return [WeightedService(name: stable, weight: 1)]
      default: return weighted
      }
    }
    return RouteTable(plain: route(nil), byHeader: load.headers.map(route))
  }

  static func isCanary(_ ingress: JSONValue) -> Bool { ingress.annotations[canaryPrefix + "canary"] == "true" }

  /// The Service of an Ingress's first rule path, else of its default backend.
  static func ingressServiceName(_ ingress: JSONValue) -> String? {
    let rules = ingress[path: ["spec", "rules"]]?.arrayValue ?? []
    let paths = rules.flatMap { $0[path: ["http", "paths"]]?.arrayValue ?? [] }
    return paths.first?[path: ["backend", "service", "name"]]?.stringValue
      ?? ingress[path: ["spec", "defaultBackend", "service", "name"]]?.stringValue
  }

  static func sharesHost(_ a: JSONValue, _ b: JSONValue) -> Bool {
    func hosts(_ i: JSONValue) -> Set<String> {
      Set((i[path: ["spec", "rules"]]?.arrayValue ?? []).map { $0["host"]?.stringValue ?? "" })
    }
    let (ha, hb) = (hosts(a), hosts(b))
    return ha.isEmpty || hb.isEmpty || !ha.isDisjoint(with: hb)
  }
}
