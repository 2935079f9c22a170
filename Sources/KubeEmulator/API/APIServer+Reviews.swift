import KubeCore

extension APIServer {
  /// Review resources are answered, never stored (k8s.io/kubernetes/pkg/registry/authorization/*,
  /// pkg/registry/authentication/selfsubjectreview): the response is the request with `status` filled.
  static let reviewResources: Set<String> = [
    "authorization.k8s.io/selfsubjectaccessreviews", "authorization.k8s.io/subjectaccessreviews",
    "authorization.k8s.io/localsubjectaccessreviews", "authorization.k8s.io/selfsubjectrulesreviews",
    "authentication.k8s.io/selfsubjectreviews", "authentication.k8s.io/tokenreviews",
  ]

  func review(_ ctx: RequestContext, object: JSONValue) throws -> APIResponse {
    var out = present(object, ctx.resource)
    let user = ctx.request.user ?? UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"])
    switch ctx.resource.resource {
    case "selfsubjectreviews":
      var info: JSONObject = ["username": .string(user.name), "groups": .array(user.groups.map { .string($0) })]
      if !user.extra.isEmpty {
        info["extra"] = .object(JSONObject(user.extra.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) }))
      }
      out["status"] = ["userInfo": .object(info)]
    case "tokenreviews":
      out = tokenReview(out)
    case "selfsubjectrulesreviews":
      out["status"] = rulesReviewStatus(user, namespace: object[path: ["spec", "namespace"]]?.stringValue ?? "")
    case "selfsubjectaccessreviews":
      out["status"] = accessReviewStatus(user, spec: object["spec"], namespace: nil)
    default:
      // SubjectAccessReview names the user in its spec (pkg/registry/authorization/subjectaccessreview/rest.go);
      // a LocalSubjectAccessReview is pinned to the namespace of its URL.
      let spec = object["spec"]
      try validateSubjectAccessReview(spec, ctx)
      let subject = UserInfo(name: spec?["user"]?.stringValue ?? "",
                             groups: (spec?["groups"]?.arrayValue ?? []).compactMap(\.stringValue))
      let namespace = ctx.resource.resource == "localsubjectaccessreviews" ? ctx.namespace : nil
      out["status"] = accessReviewStatus(subject, spec: spec, namespace: namespace)
    }
    if out["metadata"] == nil { out["metadata"] = [:] }
    return .json(out, status: 201)
  }

  /// The RBAC decision for an access review's `spec.resourceAttributes` or `spec.nonResourceAttributes`
  /// (pkg/registry/authorization/util/helpers.go `ResourceAttributesFrom`).
  private func accessReviewStatus(_ user: UserInfo, spec: JSONValue?, namespace: String?) -> JSONValue {
    if user.groups.contains("system:masters") { return ["allowed": true, "reason": "system:masters"] }
    let attributes: AuthorizationAttributes
    if let r = spec?["resourceAttributes"] {
      attributes = AuthorizationAttributes(
        user: user, verb: r["verb"]?.stringValue ?? "", apiGroup: r["group"]?.stringValue ?? "",
        resource: r["resource"]?.stringValue ?? "", subresource: r["subresource"]?.stringValue ?? "",
        name: r["name"]?.stringValue ?? "", namespace: namespace ?? r["namespace"]?.stringValue ?? "")
    } else if let n = spec?["nonResourceAttributes"] {
      // RBAC's nonResourceURLs rules (a ClusterRole's `/metrics` get, the bootstrap discovery roles):
      // what kube-rbac-proxy and controller-runtime's metrics filter ask about a scrape.
      attributes = AuthorizationAttributes(user: user, verb: n["verb"]?.stringValue ?? "", path: n["path"]?.stringValue ?? "")
    } else {
      return ["allowed": false, "evaluationError": "missing resourceAttributes or nonResourceAttributes"]
    }
    return isAllowed(attributes) ? ["allowed": true, "reason": "allowed by RBAC"] : ["allowed": false]
  }

  /// A SubjectAccessReview's spec as upstream validates it (pkg/apis/authorization/validation/validation.go
  /// `ValidateSubjectAccessReviewSpec`): exactly one kind of attributes, and a user or a group.
  /// - Throws: `APIError` 422 listing every problem.
  private func validateSubjectAccessReview(_ spec: JSONValue?, _ ctx: RequestContext) throws {
    var errors: [FieldError] = []
    let hasResource = spec?["resourceAttributes"] != nil, hasNonResource = spec?["nonResourceAttributes"] != nil
    if hasResource == hasNonResource {
      errors.append(FieldError(.invalid, field: "spec", value: hasNonResource ? "\"object\"" : "null",
                               detail: "exactly one of nonResourceAttributes or resourceAttributes must be specified"))
    }
    let user = spec?["user"]?.stringValue ?? ""
    if user.isEmpty, (spec?["groups"]?.arrayValue ?? []).isEmpty {
      errors.append(FieldError(.invalid, field: "spec.user", value: "\"\"", detail: "at least one of user or group must be specified"))
    }
    if !errors.isEmpty { throw APIError.invalid(kind: ctx.resource.kind, group: ctx.resource.group, name: "", errors: errors) }
  }

  /// The rules a user has in a namespace (pkg/registry/authorization/selfsubjectrulesreview/rest.go).
  private func rulesReviewStatus(_ user: UserInfo, namespace: String) -> JSONValue {
    if user.groups.contains("system:masters") {
      return ["resourceRules": [["verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]]],
              "nonResourceRules": [["verbs": ["*"], "nonResourceURLs": ["*"]]], "incomplete": false]
    }
    let rules = store.transaction { RBACAuthorizer.rules(for: user, namespace: namespace, in: $0) } + RBACAuthorizer.basicUserRules
    let resourceRules = rules.filter { $0["nonResourceURLs"] == nil }.map { rule -> JSONValue in
      var out: JSONObject = ["verbs": rule["verbs"] ?? [], "apiGroups": rule["apiGroups"] ?? [], "resources": rule["resources"] ?? []]
      if let names = rule["resourceNames"] { out["resourceNames"] = names }
      return .object(out)
    }
    return ["resourceRules": .array(resourceRules),
            "nonResourceRules": [["verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]]],
            "incomplete": false]
  }
}
