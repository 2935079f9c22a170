import KubeCore

extension APIServer {
  /// Review resources are answered, never stored (k8s.io/kubernetes/pkg/registry/authorization/*,
  /// pkg/registry/authentication/selfsubjectreview): the response is the request with `status` filled.
  static let reviewResources: Set<String> = [
    "authorization.k8s.io/selfsubjectaccessreviews", "authorization.k8s.io/subjectaccessreviews",
    "authorization.k8s.io/localsubjectaccessreviews", "authorization.k8s.io/selfsubjectrulesreviews",
    "authentication.k8s.io/selfsubjectreviews",
  ]

  func review(_ ctx: RequestContext, object: JSONValue) -> APIResponse {
    var out = present(object, ctx.resource)
    let user = ctx.request.user ?? UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"])
    // Until RBAC lands every authenticated request is allowed; system:masters always is upstream.
    let isAdmin = user.groups.contains("system:masters")
    switch ctx.resource.resource {
    case "selfsubjectreviews":
      out["status"] = ["userInfo": ["username": .string(user.name), "groups": .array(user.groups.map { .string($0) })]]
    case "selfsubjectrulesreviews":
      out["status"] = ["resourceRules": [["verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]]],
                       "nonResourceRules": [["verbs": ["*"], "nonResourceURLs": ["*"]]], "incomplete": false]
    default:
      out["status"] = isAdmin ? ["allowed": true, "reason": "system:masters"] : ["allowed": true]
    }
    if out["metadata"] == nil { out["metadata"] = [:] }
    return .json(out, status: 201)
  }
}
