import KubeCore

/// What an authorizer is asked about one request, as k8s.io/apiserver `authorizer.AttributesRecord`.
///
/// Resource requests name a verb (get, list, watch, create, update, patch, delete, deletecollection),
/// an API group, a resource, an optional subresource and name, and a namespace (empty at cluster scope);
/// non-resource requests name only a verb and a path.
public struct AuthorizationAttributes: Sendable, Equatable {
  /// Who asks.
  public var user: UserInfo
  /// The authorization verb (`APIServer.requestVerb` maps HTTP methods to it).
  public var verb: String
  /// False for paths outside `/api` and `/apis` resources.
  public var isResourceRequest: Bool
  /// The API group; empty for the core group.
  public var apiGroup: String
  /// The resource's plural name.
  public var resource: String
  /// The subresource (`status`, `scale`, `token`…) or empty.
  public var subresource: String
  /// The object's name; empty for list, watch, create and deletecollection.
  public var name: String
  /// The namespace; empty at cluster scope.
  public var namespace: String
  /// The request path of a non-resource request.
  public var path: String

  /// Attributes of a resource request.
  public init(user: UserInfo, verb: String, apiGroup: String, resource: String, subresource: String = "",
              name: String = "", namespace: String = "") {
    self.user = user; self.verb = verb; self.isResourceRequest = true; self.apiGroup = apiGroup
    self.resource = resource; self.subresource = subresource; self.name = name; self.namespace = namespace; self.path = ""
  }

  /// Attributes of a non-resource request (`/healthz`, `/metrics`…).
  public init(user: UserInfo, verb: String, path: String) {
    self.user = user; self.verb = verb; self.isResourceRequest = false; self.apiGroup = ""
    self.resource = ""; self.subresource = ""; self.name = ""; self.namespace = ""; self.path = path
  }
}

/// Decides requests from stored Roles, ClusterRoles, RoleBindings and ClusterRoleBindings
/// (rbac.authorization.k8s.io/v1), following k8s.io/kubernetes `plugin/pkg/auth/authorizer/rbac/rbac.go`
/// and `pkg/registry/rbac/validation/rule.go`.
///
/// *Guarantees*: a request is allowed when some rule bound to the user (directly, through a group or as
/// a service account) allows it; members of `system:masters` are always allowed, as the privileged-group
/// authorizer in front of RBAC does upstream (`pkg/kubeapiserver/authorizer/config.go`).
/// *Caveats*: ClusterRole aggregation is evaluated at decision time from `matchLabels` selectors only.
public enum RBACAuthorizer {
  /// Storage keys of the four RBAC resources (see `APIResource.storageKey`).
  public static let rolesKey = "rbac.authorization.k8s.io/roles"
  public static let clusterRolesKey = "rbac.authorization.k8s.io/clusterroles"
  public static let roleBindingsKey = "rbac.authorization.k8s.io/rolebindings"
  public static let clusterRoleBindingsKey = "rbac.authorization.k8s.io/clusterrolebindings"

  /// Returns whether `attributes` are allowed by the RBAC objects in `state`.
  ///
  /// - Complexity: O(bindings × rules) per call; the emulator holds few RBAC objects.
  public static func isAllowed(_ attributes: AuthorizationAttributes, in state: ObjectStore.State) -> Bool {
    if attributes.user.groups.contains("system:masters") { return true }
    if attributes.user.groups.contains("system:authenticated"), basicUserRules.contains(where: { ruleAllows(attributes, $0) }) {
      return true
    }
    if publicInfoRules.contains(where: { ruleAllows(attributes, $0) }) { return true }
    return rules(for: attributes.user, namespace: attributes.namespace, in: state)
      .contains { ruleAllows(attributes, $0) }
  }

  /// The `system:basic-user` ClusterRole every authenticated user is bound to by the bootstrap policy
  /// (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), so `kubectl auth can-i` works for anyone.
  static let basicUserRules: [JSONValue] = [
    ["verbs": ["create"], "apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]],
    ["verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]],
    // system:discovery, also bound to every authenticated user.
    ["verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                                           "/readyz", "/version", "/version/"]],
  ]

  /// `system:public-info-viewer`, bound to authenticated and unauthenticated users alike (policy.go):
  /// health and version, never `/metrics`.
  static let publicInfoRules: [JSONValue] = [
    ["verbs": ["get"], "nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"]],
  ]

  /// Every rule that applies to `user` in `namespace` (cluster-wide rules included), as
  /// `DefaultRuleResolver.VisitRulesFor` visits them (pkg/registry/rbac/validation/rule.go).
  public static func rules(for user: UserInfo, namespace: String, in state: ObjectStore.State) -> [JSONValue] {
    var out: [JSONValue] = []
    for binding in state.list(clusterRoleBindingsKey, namespace: nil) where appliesTo(user, binding, namespace: "") {
      out += roleRules(binding["roleRef"], bindingNamespace: "", in: state)
    }
    if !namespace.isEmpty {
      for binding in state.list(roleBindingsKey, namespace: namespace) where appliesTo(user, binding, namespace: namespace) {
        out += roleRules(binding["roleRef"], bindingNamespace: namespace, in: state)
      }
    }
    return out
  }

  /// The rules of the role a binding refers to: a Role in the binding's namespace or a ClusterRole.
  static func roleRules(_ roleRef: JSONValue?, bindingNamespace: String, in state: ObjectStore.State) -> [JSONValue] {
    guard let kind = roleRef?["kind"]?.stringValue, let name = roleRef?["name"]?.stringValue else { return [] }
    switch kind {
    case "Role":
      guard !bindingNamespace.isEmpty, let role = state.get(rolesKey, namespace: bindingNamespace, name: name) else { return [] }
      return role["rules"]?.arrayValue ?? []
    case "ClusterRole":
      guard let role = state.get(clusterRolesKey, namespace: "", name: name) else { return [] }
      return clusterRoleRules(role, in: state)
    default:
      return []
    }
  }

  /// A ClusterRole's rules plus, for an aggregated one, the rules of every ClusterRole its
  /// `aggregationRule.clusterRoleSelectors[].matchLabels` select (pkg/controller/clusterroleaggregation).
  static func clusterRoleRules(_ role: JSONValue, in state: ObjectStore.State) -> [JSONValue] {
    var rules = role["rules"]?.arrayValue ?? []
    guard let selectors = role[path: ["aggregationRule", "clusterRoleSelectors"]]?.arrayValue else { return rules }
    let ownName = role[path: ["metadata", "name"]]?.stringValue
    for candidate in state.list(clusterRolesKey, namespace: nil) where candidate[path: ["metadata", "name"]]?.stringValue != ownName {
      let labels = candidate[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
      let selected = selectors.contains { selector in
        guard let match = selector["matchLabels"]?.objectValue, !match.isEmpty else { return false }
        return match.allSatisfy { labels[$0.0] == $0.1 }
      }
      if selected { rules += candidate["rules"]?.arrayValue ?? [] }
    }
    return rules
  }

  /// Whether one of a binding's subjects is `user` (rule.go `appliesTo`/`appliesToUser`).
  ///
  /// A ServiceAccount subject without a namespace means the binding's own namespace.
  static func appliesTo(_ user: UserInfo, _ binding: JSONValue, namespace: String) -> Bool {
    for subject in binding["subjects"]?.arrayValue ?? [] {
      let name = subject["name"]?.stringValue ?? ""
      switch subject["kind"]?.stringValue {
      case "User":
        if user.name == name { return true }
      case "Group":
        if user.groups.contains(name) { return true }
      case "ServiceAccount":
        let subjectNamespace = subject["namespace"]?.stringValue ?? ""
        let saNamespace = subjectNamespace.isEmpty ? namespace : subjectNamespace
        if !saNamespace.isEmpty, user.name == serviceAccountUsername(namespace: saNamespace, name: name) { return true }
      default:
        continue
      }
    }
    return false
  }

  /// `system:serviceaccount:NS:NAME` (k8s.io/apiserver `pkg/authentication/serviceaccount/util.go` `MakeUsername`).
  public static func serviceAccountUsername(namespace: String, name: String) -> String {
    "system:serviceaccount:\(namespace):\(name)"
  }

  /// The user a service-account token authenticates as (`serviceaccount.UserInfo`).
  public static func serviceAccountUser(namespace: String, name: String) -> UserInfo {
    UserInfo(name: serviceAccountUsername(namespace: namespace, name: name),
             groups: ["system:serviceaccounts", "system:serviceaccounts:\(namespace)", "system:authenticated"])
  }

  /// Whether one PolicyRule allows the request (rbac.go `RuleAllows`, pkg/apis/rbac/v1/evaluation_helpers.go).
  public static func ruleAllows(_ a: AuthorizationAttributes, _ rule: JSONValue) -> Bool {
    let verbs = strings(rule["verbs"])
    guard verbs.contains("*") || verbs.contains(a.verb) else { return false }
    if !a.isResourceRequest {
      return strings(rule["nonResourceURLs"]).contains { url in
        url == "*" || url == a.path || (url.hasSuffix("*") && a.path.hasPrefix(String(url.dropLast())))
      }
    }
    let groups = strings(rule["apiGroups"])
    guard groups.contains("*") || groups.contains(a.apiGroup) else { return false }
    let combined = a.subresource.isEmpty ? a.resource : "\(a.resource)/\(a.subresource)"
    let resourceMatches = strings(rule["resources"]).contains { r in
      if r == "*" || r == combined { return true }
      // "*/scale" matches the scale subresource of every resource.
      return !a.subresource.isEmpty && r == "*/\(a.subresource)"
    }
    guard resourceMatches else { return false }
    let names = strings(rule["resourceNames"])
    return names.isEmpty || names.contains(a.name)
  }

  private static func strings(_ value: JSONValue?) -> [String] {
    (value?.arrayValue ?? []).compactMap(\.stringValue)
  }
}
