import KubeCore

extension APIServer {
  /// Review resources are answered, never stored (k8s.io/kubernetes/pkg/registry/authorization/*,
  /// pkg/registry/authentication/selfsubjectreview): the response is the request with `status` filled.
  static let reviewResources: Set<String> = [
    "authorization.k8s.io/selfsubjectaccessreviews", "authorization.k8s.io/subjectaccessreviews",
    "authorization.k8s.io/localsubjectaccessreviews", "authorization.k8s.io/selfsubjectrulesreviews",
    "authentication.k8s.io/selfsubjectreviews", "authentication.k8s.io/tokenreviews",
  ]

  func review(_ ctx: RequestContext, object: JSONValue) -> APIResponse {
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
    } else if spec?["nonResourceAttributes"] != nil {
      // Every non-resource path is open to authenticated users here (see `authorize`).
      return user.groups.contains("system:authenticated") ? ["allowed": true] : ["allowed": false]
    } else {
      return ["allowed": false, "evaluationError": "missing resourceAttributes or nonResourceAttributes"]
    }
    return isAllowed(attributes) ? ["allowed": true, "reason": "allowed by RBAC"] : ["allowed": false]
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
