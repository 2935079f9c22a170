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
    // Connecting to a pod's exec, attach or port-forward is `create` on the subresource, also for a
    // WebSocket's GET (the AuthorizePodWebsocketUpgradeCreatePermission rule, on by default since v1.35).
    if path.group.isEmpty, path.resource == "pods", ["exec", "attach", "portforward"].contains(path.subresource ?? "") { return "create" }
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
}
