import Foundation
import KubeCore

extension APIServer {
  /// Authorizes one authenticated request with RBAC before it is routed (k8s.io/apiserver
  /// `pkg/endpoints/filters/authorization.go` `WithAuthorization`).
  ///
  /// Non-resource paths (discovery, `/version`, `/openapi`, health) stay readable by every authenticated
  /// user, as the `system:discovery` and `system:public-info-viewer` ClusterRoles allow upstream; the
  /// emulator's own control endpoints check `system:masters` themselves.
  ///
  /// - Throws: `APIError` 403 with upstream's message when RBAC denies the request.
  func authorize(_ target: RequestTarget, _ request: APIRequest) throws {
    guard case .resource(let path) = target, let user = request.user else { return }
    let attributes = AuthorizationAttributes(user: user, verb: APIServer.requestVerb(path, request),
                                             apiGroup: path.group, resource: path.resource,
                                             subresource: path.subresource ?? "", name: path.name ?? "",
                                             namespace: path.namespace ?? "")
    let allowed = store.transaction { RBACAuthorizer.isAllowed(attributes, in: $0) }
    if !allowed { throw APIServer.forbidden(attributes) }
  }

  /// The RBAC decision for `attributes`, for access reviews.
  func isAllowed(_ attributes: AuthorizationAttributes) -> Bool {
    store.transaction { RBACAuthorizer.isAllowed(attributes, in: $0) }
  }

  /// The 403 upstream writes for a denied request (k8s.io/apiserver
  /// `pkg/endpoints/handlers/responsewriters/errors.go` `ForbiddenStatus`/`forbiddenMessage`).
  static func forbidden(_ a: AuthorizationAttributes) -> APIError {
    .forbidden(user: a.user.name, verb: a.verb, resource: GroupResource(group: a.apiGroup, resource: a.resource),
               namespace: a.namespace, name: a.name, subresource: a.subresource)
  }

  /// The authorization verb of a resource request (k8s.io/apiserver `pkg/endpoints/request/requestinfo.go`).
  static func requestVerb(_ path: ResourcePath, _ request: APIRequest) -> String {
    let named = path.name != nil
    switch request.method {
    case "POST": return "create"
    case "PUT": return "update"
    case "PATCH": return "patch"
    case "DELETE": return named ? "delete" : "deletecollection"
    default:
      if path.isWatchPath || request.queryBool("watch") { return "watch" }
      return named ? "get" : "list"
    }
  }

  // MARK: Service-account tokens

  /// Answers `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token` (`kubectl create token NAME`) with an
  /// authentication.k8s.io/v1 TokenRequest whose `status.token` authenticates as the service account
  /// (pkg/registry/core/serviceaccount/storage/token.go).
  ///
  /// *Caveats*: tokens are random and opaque, not JWTs; they never expire while the emulator runs.
  func tokenRequest(_ ctx: RequestContext, serviceAccount name: String) throws -> APIResponse {
    let namespace = ctx.namespace
    guard store.transaction({ $0.get("/serviceaccounts", namespace: namespace, name: name) }) != nil else {
      throw APIError.notFound(GroupResource(group: "", resource: "serviceaccounts"), name: name)
    }
    var (body, _) = try decodeBody(ctx)
    let expiration = body[path: ["spec", "expirationSeconds"]]?.intValue ?? 3600
    let token = APIServer.makeOpaqueToken()
    issuedTokens.value[token] = RBACAuthorizer.serviceAccountUser(namespace: namespace, name: name)
    body["apiVersion"] = "authentication.k8s.io/v1"
    body["kind"] = "TokenRequest"
    var meta = body["metadata"]?.objectValue ?? JSONObject()
    meta["name"] = .string(name)
    meta["namespace"] = .string(namespace)
    meta["creationTimestamp"] = timestamp()
    body["metadata"] = .object(meta)
    var spec = body["spec"]?.objectValue ?? JSONObject()
    if spec["audiences"] == nil { spec["audiences"] = ["https://kubernetes.default.svc.cluster.local"] }
    spec["expirationSeconds"] = .number(JSONNumber(expiration))
    body["spec"] = .object(spec)
    body["status"] = ["token": .string(token),
                      "expirationTimestamp": .string(RFC3339.format(now().addingTimeInterval(Double(expiration))))]
    return .json(body, status: 201)
  }

  /// The user an issued service-account token authenticates as, or nil.
  public func userForIssuedToken(_ token: String) -> UserInfo? { issuedTokens.value[token] }

  /// 32 random bytes as hex.
  static func makeOpaqueToken() -> String {
    var generator = SystemRandomNumberGenerator()
    return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
  }
}
