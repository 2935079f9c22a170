import Foundation
import KubeCore

// Service-account tokens: TokenRequest hands them out, the authenticator and TokenReview check them.

extension APIServer {
  /// The kubelet asks for this lifetime; the server then extends the token to a year and records
  /// the hour as `warnafter` (pkg/serviceaccount/claims.go `WarnOnlyBoundTokenExpirationSeconds`,
  /// `ExpirationExtensionSeconds`; kube-apiserver's `--service-account-extend-token-expiration`, on by default).
  static let kubeletTokenSeconds = 60 * 60 + 7
  static let extendedTokenSeconds = 24 * 365 * 60 * 60
  /// Clock skew a token's `exp` and `nbf` are allowed, and how long a deleted bound object keeps its
  /// tokens valid (go-jose `jwt.DefaultLeeway`, used by pkg/serviceaccount/claims.go `Validate`).
  static let tokenLeewaySeconds: Int64 = 60

  /// Answers `POST /api/v1/namespaces/NS/serviceaccounts/NAME/token` (`kubectl create token NAME`):
  /// an authentication.k8s.io/v1 TokenRequest whose `status.token` is a signed JWT
  /// (pkg/registry/core/serviceaccount/storage/token.go `Create`).
  ///
  /// `spec.boundObjectRef` may name a Pod, a Secret or a Node; the token then lives only as long as
  /// that object (a pod's also names its node). `spec.expirationSeconds` defaults to 3600 and must
  /// lie in [600, 2^32] (pkg/apis/authentication/validation `ValidateTokenRequest`).
  func tokenRequest(_ ctx: RequestContext, serviceAccount name: String) throws -> APIResponse {
    let namespace = ctx.namespace
    var (body, _) = try decodeBody(ctx)
    var spec = body["spec"]?.objectValue ?? JSONObject()
    let requested = spec["expirationSeconds"]?.intValue ?? 3600
    var errors: [FieldError] = []
    if requested < 600 {
      errors.append(FieldError(.invalid, field: "spec.expirationSeconds", value: String(requested), detail: "may not specify a duration less than 10 minutes"))
    } else if requested > 1 << 32 {
      errors.append(FieldError(.invalid, field: "spec.expirationSeconds", value: String(requested), detail: "may not specify a duration larger than 2^32 seconds"))
    }
    if !errors.isEmpty { throw APIError.invalid(kind: "TokenRequest", group: "authentication.k8s.io", name: name, errors: errors) }
    let ref = spec["boundObjectRef"]
    let (serviceAccount, bound) = try store.transaction { state -> (JSONValue, BoundObjects) in
      guard let sa = state.get("/serviceaccounts", namespace: namespace, name: name) else {
        throw APIError.notFound(GroupResource(group: "", resource: "serviceaccounts"), name: name)
      }
      return (sa, try boundObjects(ref, serviceAccount: name, namespace: namespace, state: state))
    }
    let now = Int64(self.now().timeIntervalSince1970)
    var lifetime = requested
    var warnAfter: Int64? = nil
    if bound.pod != nil && requested == APIServer.kubeletTokenSeconds {
      warnAfter = now + Int64(requested)
      lifetime = APIServer.extendedTokenSeconds
    }
    let audiences = (spec["audiences"]?.arrayValue ?? []).compactMap(\.stringValue)
    let claims = ServiceAccountTokenIssuer.Claims(
      namespace: namespace, serviceAccount: .init(name: name, uid: serviceAccount.objectUID),
      pod: bound.pod, secret: bound.secret, node: bound.node,
      audiences: audiences.isEmpty ? [ServiceAccountTokenIssuer.issuer] : audiences,
      issuedAt: now, expiresAt: now + Int64(lifetime), warnAfter: warnAfter, id: UUID().uuidString.lowercased())
    body["apiVersion"] = "authentication.k8s.io/v1"
    body["kind"] = "TokenRequest"
    var meta = body["metadata"]?.objectValue ?? JSONObject()
    meta["name"] = .string(name)
    meta["namespace"] = .string(namespace)
    meta["creationTimestamp"] = .null
    body["metadata"] = .object(meta)
    spec["audiences"] = .array(claims.audiences.map { .string($0) })
    spec["expirationSeconds"] = JSONValue(requested)
    if spec["boundObjectRef"] == nil { spec["boundObjectRef"] = .null }
    body["spec"] = .object(spec)
    // The reported expiry is the requested one even when the token was extended, so the kubelet
    // still rotates it hourly (token.go: `ExpirationTimestamp` from `out.Spec.ExpirationSeconds`).
    body["status"] = ["token": .string(tokenIssuer.sign(claims)),
                      "expirationTimestamp": .string(RFC3339.format(Date(timeIntervalSince1970: Double(now + Int64(requested)))))]
    return .json(body, status: 201)
  }

  struct BoundObjects {
    var pod: ServiceAccountTokenIssuer.Reference?
    var secret: ServiceAccountTokenIssuer.Reference?
    var node: ServiceAccountTokenIssuer.Reference?
  }

  /// The object a TokenRequest binds to, checked as token.go does: it must exist, its uid (when
  /// given) must match, and a pod must run as the service account.
  private func boundObjects(_ ref: JSONValue?, serviceAccount: String, namespace: String,
                            state: ObjectStore.State) throws -> BoundObjects {
    guard let ref, ref != .null else { return BoundObjects() }
    let kind = ref["kind"]?.stringValue ?? ""
    let name = ref["name"]?.stringValue ?? ""
    let (storageKey, resource): (String, String)
    switch kind {
    case "Pod": (storageKey, resource) = ("/pods", "pods")
    case "Secret": (storageKey, resource) = ("/secrets", "secrets")
    case "Node": (storageKey, resource) = ("/nodes", "nodes")
    default:
      throw APIError.badRequest("cannot bind token for serviceaccount \"\(serviceAccount)\" to object of gvk \(ref["apiVersion"]?.stringValue ?? ""), Kind=\(kind)")
    }
    guard let object = state.get(storageKey, namespace: kind == "Node" ? "" : namespace, name: name) else {
      throw APIError.notFound(GroupResource(group: "", resource: resource), name: name)
    }
    if let uid = ref["uid"]?.stringValue, !uid.isEmpty, uid != object.objectUID {
      throw APIError.conflict(GroupResource(group: "", resource: kind), name: name,
                              detail: "the UID in the bound object reference (\(uid)) does not match the UID in record. The object might have been deleted and then recreated")
    }
    let reference = ServiceAccountTokenIssuer.Reference(name: name, uid: object.objectUID)
    switch kind {
    case "Pod":
      if object[path: ["spec", "serviceAccountName"]]?.stringValue != serviceAccount {
        throw APIError.badRequest("cannot bind token for serviceaccount \"\(serviceAccount)\" to pod running with different serviceaccount name.")
      }
      // A pod-bound token names the pod's node too (ServiceAccountTokenPodNodeInfo, on since v1.30).
      let nodeName = object[path: ["spec", "nodeName"]]?.stringValue ?? ""
      let node = nodeName.isEmpty ? nil : state.get("/nodes", namespace: "", name: nodeName)
      return BoundObjects(pod: reference, node: node.map { .init(name: nodeName, uid: $0.objectUID) })
    case "Secret": return BoundObjects(secret: reference)
    default: return BoundObjects(node: reference)
    }
  }

  /// The user a presented service-account token authenticates as, or nil (a 401): it must carry this
  /// server's signature and audience, be within its lifetime, and its service account and bound
  /// objects must still exist with the uids it names (pkg/serviceaccount/claims.go `Validate`).
  public func authenticateServiceAccountToken(_ token: String) -> UserInfo? {
    guard let claims = tokenIssuer.verify(token), claims.audiences.contains(ServiceAccountTokenIssuer.issuer) else { return nil }
    let now = Int64(self.now().timeIntervalSince1970)
    let leeway = APIServer.tokenLeewaySeconds
    guard now <= claims.expiresAt + leeway, now >= claims.issuedAt - leeway else { return nil }
    let deadline = self.now().addingTimeInterval(-Double(leeway))
    func alive(_ object: JSONValue?, _ ref: ServiceAccountTokenIssuer.Reference) -> Bool {
      guard let object, object.objectUID == ref.uid else { return false }
      guard let deleted = object[path: ["metadata", "deletionTimestamp"]]?.stringValue.flatMap(RFC3339.parse) else { return true }
      return deleted >= deadline
    }
    let valid = store.transaction { state -> Bool in
      guard alive(state.get("/serviceaccounts", namespace: claims.namespace, name: claims.serviceAccount.name), claims.serviceAccount) else { return false }
      if let pod = claims.pod, !alive(state.get("/pods", namespace: claims.namespace, name: pod.name), pod) { return false }
      if let secret = claims.secret, !alive(state.get("/secrets", namespace: claims.namespace, name: secret.name), secret) { return false }
      if claims.pod == nil, let node = claims.node, !alive(state.get("/nodes", namespace: "", name: node.name), node) { return false }
      return true
    }
    guard valid else { return nil }
    var user = RBACAuthorizer.serviceAccountUser(namespace: claims.namespace, name: claims.serviceAccount.name)
    // The extra attributes of a bound token (k8s.io/apiserver pkg/authentication/serviceaccount/util.go `UserInfo`).
    var extra: [String: [String]] = [:]
    if let pod = claims.pod {
      extra["authentication.kubernetes.io/pod-name"] = [pod.name]
      extra["authentication.kubernetes.io/pod-uid"] = [pod.uid]
    }
    if let node = claims.node {
      extra["authentication.kubernetes.io/node-name"] = [node.name]
      extra["authentication.kubernetes.io/node-uid"] = [node.uid]
    }
    if !claims.id.isEmpty { extra["authentication.kubernetes.io/credential-id"] = ["JTI=\(claims.id)"] }
    user.extra = extra
    return user
  }

  /// Answers a TokenReview (pkg/registry/authentication/tokenreview/storage.go): the response is
  /// the request with `status` — `authenticated`, the user, the audiences — filled in. A token this
  /// server did not issue, or no longer accepts, is `authenticated: false` with an error.
  func tokenReview(_ object: JSONValue) -> JSONValue {
    var out = object
    let token = object[path: ["spec", "token"]]?.stringValue ?? ""
    guard !token.isEmpty else {
      out["status"] = ["user": [:], "error": "token is required"]
      return out
    }
    let requested = (object[path: ["spec", "audiences"]]?.arrayValue ?? []).compactMap(\.stringValue)
    let audiences = requested.isEmpty ? [ServiceAccountTokenIssuer.issuer] : requested
    guard audiences.contains(ServiceAccountTokenIssuer.issuer), let user = authenticateServiceAccountToken(token) else {
      out["status"] = ["authenticated": false, "user": [:], "error": "[invalid bearer token, service account token has been invalidated]"]
      return out
    }
    var userJSON: JSONObject = ["username": .string(user.name), "groups": .array(user.groups.map { .string($0) })]
    if let uid = tokenIssuer.verify(token)?.serviceAccount.uid { userJSON["uid"] = .string(uid) }
    if !user.extra.isEmpty {
      userJSON["extra"] = .object(JSONObject(user.extra.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) }))
    }
    out["status"] = ["authenticated": true, "user": .object(userJSON), "audiences": .array([.string(ServiceAccountTokenIssuer.issuer)])]
    return out
  }
}

extension JSONValue {
  /// `metadata.uid`, or "".
  var objectUID: String { self[path: ["metadata", "uid"]]?.stringValue ?? "" }
}

extension APIServer {
  /// Creates namespace `namespace`'s `default` ServiceAccount and `kube-root-ca.crt` ConfigMap
  /// when they are missing (see `NamespaceStrategy.afterWrite`).
  func ensureNamespaceDefaults(_ namespace: String, state: inout ObjectStore.State) {
    if state.get("/serviceaccounts", namespace: namespace, name: "default") == nil,
       let r = catalog.resource(group: "", version: "v1", resource: "serviceaccounts") {
      _ = try? createLocked(&state, resource: r, namespace: namespace, object: [
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default", "namespace": .string(namespace)],
      ], dryRun: false, userAgent: nil)
    }
    publishRootCA(namespace, state: &state)
  }

  /// Writes the cluster CA into `kube-root-ca.crt` of `namespace` (rootcacertpublisher `syncNamespace`:
  /// created when missing, its `ca.crt` put back when it differs).
  func publishRootCA(_ namespace: String, state: inout ObjectStore.State) {
    guard let r = catalog.resource(group: "", version: "v1", resource: "configmaps") else { return }
    let ca = rootCAPEM.value
    if var existing = state.get("/configmaps", namespace: namespace, name: "kube-root-ca.crt") {
      guard existing[path: ["data", "ca.crt"]]?.stringValue != ca else { return }
      existing[path: ["data", "ca.crt"]] = .string(ca)
      _ = state.put("/configmaps", existing, type: .modified)
      return
    }
    _ = try? createLocked(&state, resource: r, namespace: namespace, object: [
      "apiVersion": "v1", "kind": "ConfigMap",
      "metadata": ["name": "kube-root-ca.crt", "namespace": .string(namespace)],
      "data": ["ca.crt": .string(ca)],
    ], dryRun: false, userAgent: nil)
  }

  /// Sets the CA certificate clients verify this server with and publishes it to every namespace.
  public func setRootCertificate(pem: String) {
    rootCAPEM.value = pem
    store.transaction { state in
      for ns in state.list("/namespaces", namespace: nil) {
        if let name = ns[path: ["metadata", "name"]]?.stringValue { publishRootCA(name, state: &state) }
      }
    }
  }
}
