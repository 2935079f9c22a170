import KubeClient
import KubeCore

/// Who a bearer token belongs to, as a TokenReview's `status.user` says.
public struct ReviewedUser: Sendable, Hashable {
  public var username: String
  public var uid: String
  public var groups: [String]
  public var extra: [String: [String]]

  public init(username: String, uid: String = "", groups: [String] = [], extra: [String: [String]] = [:]) {
    self.username = username; self.uid = uid; self.groups = groups; self.extra = extra
  }
}

/// What a scrape's token is checked against: the API server's TokenReview and SubjectAccessReview.
///
/// `KubeAccessReviewer` asks the API server; tests give `MetricsAuthorizer` their own to count and
/// steer the answers.
public protocol AccessReviewer: Sendable {
  /// The user a token authenticates as, or nil when the API server says it does not.
  /// - Returns: the user, or nil; `isError` is true when the API server gave a reason (`status.error`),
  ///   which upstream does not cache.
  /// - Throws: when the review could not be made (API server unreachable, the reviewer forbidden…).
  func reviewToken(_ token: String) async throws -> (user: ReviewedUser?, isError: Bool)
  /// Whether `user` may `verb` the non-resource URL `path`.
  /// - Throws: when the review could not be made.
  func reviewAccess(_ user: ReviewedUser, verb: String, path: String) async throws -> Bool
}

/// Reviews with the API server the operator talks to, as controller-runtime's metrics filter does
/// through k8s.io/apiserver's delegating authenticator and authorizer (sigs.k8s.io/controller-runtime
/// `pkg/metrics/filters/filters.go`). The operator's ServiceAccount needs `create` on
/// `tokenreviews` and `subjectaccessreviews` (the `edgeml-metrics-auth` ClusterRole).
public struct KubeAccessReviewer: AccessReviewer {
  static let tokenReviews = GroupVersionResource(group: "authentication.k8s.io", version: "v1", resource: "tokenreviews", namespaced: false)
  static let subjectAccessReviews = GroupVersionResource(group: "authorization.k8s.io", version: "v1",
                                                         resource: "subjectaccessreviews", namespaced: false)
  let client: KubeClient

  public init(client: KubeClient) { self.client = client }

  public func reviewToken(_ token: String) async throws -> (user: ReviewedUser?, isError: Bool) {
    let review: JSONValue = ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": ["token": .string(token)]]
    let answer = try await client.create(Self.tokenReviews, review)
    return Self.user(fromTokenReview: answer)
  }

  public func reviewAccess(_ user: ReviewedUser, verb: String, path: String) async throws -> Bool {
    let answer = try await client.create(Self.subjectAccessReviews, Self.subjectAccessReview(user, verb: verb, path: path))
    return answer[path: ["status", "allowed"]]?.boolValue ?? false
  }

  /// The user of a TokenReview's answer (k8s.io/apiserver `plugin/pkg/authenticator/token/webhook/webhook.go`
  /// `AuthenticateToken`: not authenticated → no user, with `status.error` as the error).
  static func user(fromTokenReview answer: JSONValue) -> (user: ReviewedUser?, isError: Bool) {
    guard answer[path: ["status", "authenticated"]]?.boolValue == true else {
      return (nil, !(answer[path: ["status", "error"]]?.stringValue ?? "").isEmpty)
    }
    let u = answer[path: ["status", "user"]]
    var extra: [String: [String]] = [:]
    for (key, values) in u?["extra"]?.objectValue ?? JSONObject() {
      extra[key] = (values.arrayValue ?? []).compactMap(\.stringValue)
    }
    return (ReviewedUser(username: u?["username"]?.stringValue ?? "", uid: u?["uid"]?.stringValue ?? "",
                         groups: (u?["groups"]?.arrayValue ?? []).compactMap(\.stringValue), extra: extra), false)
  }

  /// The SubjectAccessReview the delegating authorizer sends for a non-resource request
  /// (k8s.io/apiserver `plugin/pkg/authorizer/webhook/webhook.go`: user, uid, groups, extra and
  /// `nonResourceAttributes` {path, verb}).
  static func subjectAccessReview(_ user: ReviewedUser, verb: String, path: String) -> JSONValue {
    var spec: JSONObject = ["user": .string(user.username), "groups": .array(user.groups.map { .string($0) }),
                            "nonResourceAttributes": ["path": .string(path), "verb": .string(verb)]]
    if !user.uid.isEmpty { spec["uid"] = .string(user.uid) }
    if !user.extra.isEmpty {
      spec["extra"] = .object(JSONObject(user.extra.sorted { $0.key < $1.key }.map { ($0.key, .array($0.value.map { .string($0) })) }))
    }
    return ["apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": .object(spec)]
  }
}
