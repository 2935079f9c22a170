import KubeClient
import KubeCore

/// Shifts traffic with weighted `backendRefs` of a Gateway API `HTTPRoute` the user owns.
///
/// ## What it writes
/// In every rule with a backendRef to the stable Service: the stable backendRef's `weight`, and a
/// candidate backendRef (a copy of the stable one naming the candidate Service) with its weight.
/// With a match, one extra rule per such rule, named `edgeml-<rollout>-ab-<n>`: the rule's matches
/// plus the header, sending only to the candidate. Gateway API prefers the match with more header
/// matches (HTTPRoute `spec.rules` doc, "Proxy or Load Balancer routing configuration generated from
/// HTTPRoutes MUST prioritize matches based on … Largest number of header matches", the doc of
/// `spec.rules[].matches` in the v1.6.1 CRD), so the extra rule, with the same paths and one more header,
/// wins for matching requests wherever it sits; we append it. The rule `name` identifies it, where Argo
/// Rollouts' plugin records the index in a ConfigMap (`pkg/plugin/httproute.go`, `setHTTPHeaderRoute`).
///
/// ## Field ownership
/// `spec.rules` is atomic under server-side apply, so this is a read-modify-write (see `ObjectEditor`),
/// never an apply; Flagger avoids sharing by generating the whole HTTPRoute from its Canary
/// (fluxcd/flagger `pkg/router/gateway_api.go`), which we cannot do to a route the user owns.
/// Consequence: while a rollout runs, a user's server-side apply of different rules conflicts on
/// `.spec.rules` with `edgeml-rollout-router`; `reset` restores the user's rules value for value (the
/// stable weight included), so afterwards their apply meets no conflict.
///
/// ## Caveats
/// Other backendRefs in the same rule keep their weights; the stable and candidate pair shares the
/// stable backend's original weight × 100 (see `BackendPair`), so a sibling backend's share shrinks
/// during the rollout. Give the stable Service a rule of its own.
public struct HTTPRouteRouter: TrafficRouter {
  /// The HTTPRoute, in the Rollout's namespace.
  public var httpRoute: String
  var editor: ObjectEditor

  /// - Parameter memory: where the operator remembers its routers' objects, so that a step's weight
  ///   is one request (`ObjectEditor`); nil: the route is read before every write.
  public init(httpRoute: String, memory: RouterObjectMemory? = nil) {
    self.httpRoute = httpRoute
    editor = ObjectEditor(resource: .httpRoutes, kind: "HTTPRoute", reads: [["spec", "rules"]], memory: memory)
  }

  public func setWeights(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    try route.validate()
    let written = try await editor.setWeights(route, name: httpRoute, client: client, routing: routing)
    let extra = route.match == nil ? "" : ", matching requests to the candidate"
    return RouterReport(router: .gatewayAPI, object: "HTTPRoute \(route.namespace)/\(httpRoute)", candidateWeight: route.candidateWeight,
                        written: written,
                        message: "HTTPRoute \(route.namespace)/\(httpRoute) sends \(route.candidateWeight)% to \(route.candidateService)\(extra)")
  }

  public func reset(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    let written = try await editor.reset(route, name: httpRoute, client: client, routing: routing)
    return RouterReport(router: .gatewayAPI, object: "HTTPRoute \(route.namespace)/\(httpRoute)", candidateWeight: 0, written: written,
                        message: "HTTPRoute \(route.namespace)/\(httpRoute) sends everything to \(route.stableService)")
  }

  func routing(_ observed: JSONValue, _ route: RouteWeights, reset: Bool) throws -> JSONValue {
    try Self.routing(observed, route: route, httpRoute: httpRoute, reset: reset)
  }

  public var observedObject: RouterObjectReference? { RouterObjectReference(resource: .httpRoutes, kind: "HTTPRoute", name: httpRoute) }

  public func plannedObject(_ route: RouteWeights, reset: Bool, observed: JSONValue) throws -> RouterObjectPlan? {
    if !reset { try route.validate() }
    let object = try routing(observed, reset ? route.allStable : route, reset: reset)
    return RouterObjectPlan(resource: .httpRoutes, name: httpRoute, object: object, isApplied: false)
  }

  /// The HTTPRoute with `route`'s weights and match: a pure function of the observed object.
  ///
  /// - Parameter reset: remove the candidate backendRefs instead of weighting them.
  /// - Throws: `TrafficRouterError.stableServiceNotReferenced` when no rule routes to the stable Service.
  static func routing(_ observed: JSONValue, route: RouteWeights, httpRoute: String, reset: Bool) throws -> JSONValue {
    let prefix = "edgeml-\(route.rolloutName)-ab-"
    var rules = (observed[path: ["spec", "rules"]]?.arrayValue ?? []).filter { !isOurs($0, prefix: prefix) }
    var stableRules = 0
    var abRules: [JSONValue] = []
    for index in rules.indices {
      let refs = rules[index]["backendRefs"]?.arrayValue ?? []
      guard let s = refs.firstIndex(where: { names($0, service: route.stableService) }) else { continue }
      let c = refs.firstIndex(where: { names($0, service: route.candidateService) })
      let shift = BackendPair.shift(refs, stable: s, candidate: c, route: route, reset: reset)
      rules[index]["backendRefs"] = .array(shift.entries)
      if !reset, let match = route.match {
        abRules.append(abRule(from: rules[index], candidate: shift.candidate, name: "\(prefix)\(stableRules)", match: match))
      }
      stableRules += 1
    }
    guard stableRules > 0 else {
      throw TrafficRouterError.stableServiceNotReferenced(kind: "HTTPRoute", namespace: route.namespace, name: httpRoute,
                                                          service: route.stableService)
    }
    rules += abRules
    var desired = observed
    desired[path: ["spec", "rules"]] = .array(rules)
    return desired
  }

  /// A rule we added for an A/B match: named `<prefix><n>`.
  static func isOurs(_ rule: JSONValue, prefix: String) -> Bool {
    guard let name = rule["name"]?.stringValue, name.hasPrefix(prefix) else { return false }
    let rest = name.dropFirst(prefix.count)
    return !rest.isEmpty && rest.allSatisfy(\.isNumber)
  }

  /// Whether a backendRef names `service` as a core Service (`group` "" and `kind` Service are the CRD's defaults).
  static func names(_ ref: JSONValue, service: String) -> Bool {
    ref["name"]?.stringValue == service && (ref["group"]?.stringValue ?? "") == "" && (ref["kind"]?.stringValue ?? "Service") == "Service"
  }

  /// The extra rule for an A/B match: the rule's matches, each with the header added, and its filters
  /// and timeouts, to the candidate only — as Argo Rollouts' plugin copies matches and filters
  /// (`pkg/plugin/httproute.go`, `setHTTPHeaderRoute`).
  static func abRule(from rule: JSONValue, candidate: JSONValue, name: String, match: RouteMatch) -> JSONValue {
    let header: JSONValue
    switch match {
    case .header(let headerName, let value):
      header = ["name": .string(headerName), "type": "Exact", "value": .string(value)]
    case .cookie(let cookie):
      // Gateway API has no cookie match; a regular expression over the Cookie header is the way
      // Flagger matches its session cookie (`pkg/router/gateway_api.go`, getSessionAffinityRouteRules).
      header = ["name": "Cookie", "type": "RegularExpression", "value": .string("(^|.*; *)\(escapeRegex(cookie))=always(;.*|$)")]
    }
    let headerName = header["name"]?.stringValue?.lowercased()
    let matches = (rule["matches"]?.arrayValue ?? [["path": ["type": "PathPrefix", "value": "/"]]]).map { m -> JSONValue in
      var m = m
      // Header names are case-insensitive and a match may name each once (the CRD's list-map key).
      var headers = (m["headers"]?.arrayValue ?? []).filter { $0["name"]?.stringValue?.lowercased() != headerName }
      headers.append(header)
      m["headers"] = .array(headers)
      return m
    }
    var copy: JSONValue = ["name": .string(name), "matches": .array(matches)]
    if let filters = rule["filters"] { copy["filters"] = filters }
    if let timeouts = rule["timeouts"] { copy["timeouts"] = timeouts }
    var only = candidate
    only["weight"] = 1
    copy["backendRefs"] = [only]
    return copy
  }

  static func escapeRegex(_ s: String) -> String {
    String(s.flatMap { ".[]{}()\\*+?^$|".contains($0) ? ["\\", $0] : [$0] })
  }
}
