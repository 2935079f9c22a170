import Foundation
import KubeCore

/// Gateway API `HTTPRoute` (gateway.networking.k8s.io; CRD and its rule text in
/// Tests/Fixtures/crds/gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml).
///
/// Requests are `POST /v2/models/<model>/infer` with at most one header. A rule applies when it has
/// no `matches` or one of them matches: every `headers` entry (type `Exact`, the default; names
/// compared case-insensitively) and the `path` (`PathPrefix` `/` by default, or `Exact`); a match
/// with `queryParams`, a regular expression or a method other than POST never does. Among the rules
/// that apply, the one whose match has the largest number of header matches wins, then the first in
/// list order (the CRD's `rules` description: "Largest number of header matches", then "the first
/// matching rule (in list order)"). `backendRefs[].weight` defaults to 1 and 0 sends nothing.
extension RouteTable {
  static func httpRoute(_ object: JSONValue, load: ModelLoad) -> RouteTable {
    let rules = object[path: ["spec", "rules"]]?.arrayValue ?? []
    let path = "/v2/models/\(load.model)/infer"
    func route(_ header: HeaderShare?) -> [WeightedService] {
      var best: (score: Int, rule: JSONValue)?
      for rule in rules {
        let matches = rule["matches"]?.arrayValue ?? []
        let scores = matches.isEmpty ? [0] : matches.compactMap { score($0, header: header, path: path) }
        guard let score = scores.max() else { continue }
        if score > (best?.score ?? -1) { best = (score, rule) }
      }
      return (best?.rule["backendRefs"]?.arrayValue ?? []).compactMap { ref in
        guard (ref["kind"]?.stringValue ?? "Service") == "Service", (ref["group"]?.stringValue ?? "") == "",
              let name = ref["name"]?.stringValue else { return nil }
        return WeightedService(name: name, weight: Double(ref["weight"]?.intValue ?? 1))
      }
    }
    return RouteTable(plain: route(nil), byHeader: load.headers.map(route))
  }

  /// The number of header matches of `match` when the request satisfies it; nil when it does not.
  private static func score(_ match: JSONValue, header: HeaderShare?, path: String) -> Int? {
    if match["queryParams"] != nil { return nil }
    if let method = match["method"]?.stringValue, method != "POST" { return nil }
    if let p = match["path"] {
      let value = p["value"]?.stringValue ?? "/"
      switch p["type"]?.stringValue ?? "PathPrefix" {
      case "Exact": guard path == value else { return nil }
      case "PathPrefix":
        let prefix = value.hasSuffix("/") ? value : value + "/"
        guard value == "/" || path == value || path.hasPrefix(prefix) else { return nil }
      default: return nil
      }
    }
    let headers = match["headers"]?.arrayValue ?? []
    for h in headers {
      guard (h["type"]?.stringValue ?? "Exact") == "Exact", let header,
            header.name.lowercased() == h["name"]?.stringValue?.lowercased(), header.value == h["value"]?.stringValue else { return nil }
    }
    return headers.count
  }

  /// Services an HTTPRoute's rules send to.
  static func httpRouteServiceNames(_ object: JSONValue) -> [String] {
    (object[path: ["spec", "rules"]]?.arrayValue ?? []).flatMap { $0["backendRefs"]?.arrayValue ?? [] }
      .filter { ($0["kind"]?.stringValue ?? "Service") == "Service" }.compactMap { $0["name"]?.stringValue }
  }
}
