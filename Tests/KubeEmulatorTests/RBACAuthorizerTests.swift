import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

/// Requests made as `user` instead of the admin `call` uses.
extension APIServer {
  @discardableResult
  func call(as user: UserInfo, _ method: String, _ uri: String, _ body: JSONValue? = nil) -> (Int, JSONValue) {
    let headers = body == nil ? [] : [("Content-Type", "application/json")]
    let response = handle(APIRequest(method: method, uri: uri, headers: headers, body: body?.serialized() ?? [], user: user))
    switch response.body {
    case .json(let v): return (response.status, v)
    case .bytes(let b): return (response.status, (try? JSONValue(parsing: b)) ?? .string(String(decoding: b, as: UTF8.self)))
    case .watch: return (response.status, .null)
    case .stream(let s): return (response.status, .string(String(decoding: s.collected().bytes, as: UTF8.self)))
    }
  }
}

let rbacPath = "/apis/rbac.authorization.k8s.io/v1"
let alice = UserInfo(name: "alice", groups: ["system:authenticated"])
let devs = UserInfo(name: "bob", groups: ["devs", "system:authenticated"])
let robot = RBACAuthorizer.serviceAccountUser(namespace: "default", name: "robot")

func role(_ name: String, _ rules: [JSONValue], cluster: Bool = false, labels: JSONValue = [:]) -> JSONValue {
  ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": cluster ? "ClusterRole" : "Role",
   "metadata": ["name": .string(name), "labels": labels], "rules": .array(rules)]
}

func binding(_ name: String, role: String, roleKind: String = "Role", subjects: [JSONValue], cluster: Bool = false) -> JSONValue {
  ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": cluster ? "ClusterRoleBinding" : "RoleBinding",
   "metadata": ["name": .string(name)],
   "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": .string(roleKind), "name": .string(role)],
   "subjects": .array(subjects)]
}

func rule(_ verbs: [String], _ groups: [String], _ resources: [String], names: [String] = []) -> JSONValue {
  var r: JSONValue = ["verbs": .array(verbs.map { .string($0) }), "apiGroups": .array(groups.map { .string($0) }),
                      "resources": .array(resources.map { .string($0) })]
  if !names.isEmpty { r["resourceNames"] = .array(names.map { .string($0) }) }
  return r
}

@Suite("RBAC authorization")
struct RBACAuthorizerTests {
  /// A server with a configmap reader Role in `default` bound to alice.
  func serverWithReader() -> APIServer {
    let s = makeServer()
    s.call("POST", cmPath, configMap("a"))
    s.call("POST", "\(rbacPath)/namespaces/default/roles", role("cm-reader", [rule(["get", "list"], [""], ["configmaps"])]))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings",
           binding("alice-reads", role: "cm-reader", subjects: [["kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"]]))
    return s
  }

  @Test("a Role bound to a user allows its verbs in its namespace only")
  func roleAllowsInNamespace() {
    let s = serverWithReader()
    #expect(s.call(as: alice, "GET", cmPath).0 == 200)
    #expect(s.call(as: alice, "GET", cmPath + "/a").0 == 200)
    s.call("POST", "/api/v1/namespaces", ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "other"]])
    #expect(s.call(as: alice, "GET", "/api/v1/namespaces/other/configmaps").0 == 403)
    #expect(s.call(as: alice, "GET", "/api/v1/configmaps").0 == 403)
  }

  @Test("a denied request is a 403 with upstream's Forbidden message")
  func deniedMessage() {
    let s = serverWithReader()
    let (code, status) = s.call(as: alice, "DELETE", cmPath + "/a")
    #expect(code == 403)
    #expect(status["reason"] == "Forbidden")
    #expect(status["message"]?.stringValue ==
            "configmaps \"a\" is forbidden: User \"alice\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"default\"")
    let (_, list) = s.call(as: alice, "GET", "/apis/apps/v1/deployments")
    #expect(list["message"]?.stringValue ==
            "deployments.apps is forbidden: User \"alice\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope")
    #expect(s.call(as: alice, "GET", "/api/v1/namespaces/default/secrets").0 == 403)
  }

  @Test("watch is its own verb: get and list do not grant it")
  func watchIsSeparate() {
    let s = serverWithReader()
    #expect(s.call(as: alice, "GET", cmPath + "?watch=true").0 == 403)
  }

  @Test("a ClusterRole bound by a ClusterRoleBinding allows every namespace and cluster-scoped resources")
  func clusterRoleBinding() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/clusterroles", role("viewer", [rule(["get", "list"], [""], ["configmaps", "nodes"])], cluster: true))
    s.call("POST", "\(rbacPath)/clusterrolebindings",
           binding("devs-view", role: "viewer", roleKind: "ClusterRole", subjects: [["kind": "Group", "name": "devs"]], cluster: true))
    #expect(s.call(as: devs, "GET", "/api/v1/configmaps").0 == 200)
    #expect(s.call(as: devs, "GET", "/api/v1/nodes").0 == 200)
    #expect(s.call(as: devs, "GET", "/api/v1/namespaces/kube-system/configmaps").0 == 200)
    #expect(s.call(as: alice, "GET", "/api/v1/nodes").0 == 403)
    #expect(s.call(as: devs, "POST", cmPath, configMap("x")).0 == 403)
  }

  @Test("a ClusterRole bound by a RoleBinding allows only the binding's namespace")
  func clusterRoleInRoleBinding() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/clusterroles", role("editor", [rule(["create", "get"], [""], ["configmaps"])], cluster: true))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings",
           binding("robot-edits", role: "editor", roleKind: "ClusterRole", subjects: [["kind": "ServiceAccount", "name": "robot"]]))
    #expect(s.call(as: robot, "POST", cmPath, configMap("made-by-robot")).0 == 201)
    #expect(s.call(as: robot, "POST", "/api/v1/namespaces/kube-system/configmaps", configMap("no")).0 == 403)
  }

  @Test("a ServiceAccount subject matches only that account's user name")
  func serviceAccountSubjects() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/namespaces/default/roles", role("r", [rule(["list"], [""], ["configmaps"])]))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings",
           binding("b", role: "r", subjects: [["kind": "ServiceAccount", "name": "robot", "namespace": "default"]]))
    #expect(s.call(as: robot, "GET", cmPath).0 == 200)
    let other = RBACAuthorizer.serviceAccountUser(namespace: "kube-system", name: "robot")
    #expect(s.call(as: other, "GET", cmPath).0 == 403)
    #expect(robot.name == "system:serviceaccount:default:robot")
    #expect(robot.groups == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"])
  }

  @Test("a group binding to system:serviceaccounts:NS covers every account in NS")
  func serviceAccountGroup() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/namespaces/default/roles", role("r", [rule(["list"], [""], ["configmaps"])]))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings",
           binding("b", role: "r", subjects: [["kind": "Group", "name": "system:serviceaccounts:default"]]))
    #expect(s.call(as: robot, "GET", cmPath).0 == 200)
    #expect(s.call(as: alice, "GET", cmPath).0 == 403)
  }

  @Test("resourceNames restrict get to named objects and never allow list")
  func resourceNames() {
    let s = makeServer()
    s.call("POST", cmPath, configMap("a"))
    s.call("POST", cmPath, configMap("b"))
    s.call("POST", "\(rbacPath)/namespaces/default/roles", role("r", [rule(["get"], [""], ["configmaps"], names: ["a"])]))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings", binding("b", role: "r", subjects: [["kind": "User", "name": "alice"]]))
    #expect(s.call(as: alice, "GET", cmPath + "/a").0 == 200)
    #expect(s.call(as: alice, "GET", cmPath + "/b").0 == 403)
    #expect(s.call(as: alice, "GET", cmPath).0 == 403)
  }

  @Test("a subresource needs its own rule; */scale matches every scale subresource")
  func subresources() {
    let s = makeServer()
    let deploymentsPath = "/apis/apps/v1/namespaces/default/deployments"
    s.call("POST", "\(rbacPath)/namespaces/default/roles", role("r", [rule(["get"], ["apps"], ["deployments"]),
                                                                     rule(["get"], ["*"], ["*/scale"])]))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings", binding("b", role: "r", subjects: [["kind": "User", "name": "alice"]]))
    #expect(s.call(as: alice, "GET", deploymentsPath + "/d/status").0 == 403)
    let (_, status) = s.call(as: alice, "GET", deploymentsPath + "/d/status")
    #expect(status["message"]?.stringValue ==
            "deployments.apps \"d\" is forbidden: User \"alice\" cannot get resource \"deployments/status\" in API group \"apps\" in the namespace \"default\"")
    // Allowed by RBAC: the 404 comes from the missing object, not from authorization.
    #expect(s.call(as: alice, "GET", deploymentsPath + "/d/scale").0 == 404)
    #expect(s.call(as: alice, "GET", deploymentsPath + "/d").0 == 404)
  }

  @Test("wildcard verbs, groups and resources allow everything they cover")
  func wildcards() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/clusterroles", role("all", [rule(["*"], ["*"], ["*"])], cluster: true))
    s.call("POST", "\(rbacPath)/clusterrolebindings",
           binding("alice-all", role: "all", roleKind: "ClusterRole", subjects: [["kind": "User", "name": "alice"]], cluster: true))
    #expect(s.call(as: alice, "POST", cmPath, configMap("x")).0 == 201)
    #expect(s.call(as: alice, "DELETE", cmPath + "/x").0 == 200)
    #expect(s.call(as: alice, "GET", "/apis/apps/v1/deployments").0 == 200)
  }

  @Test("an aggregated ClusterRole carries the rules of the ClusterRoles its selector picks")
  func aggregation() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/clusterroles", role("part", [rule(["list"], [""], ["configmaps"])], cluster: true,
                                                   labels: ["example.com/aggregate-to-view": "true"]))
    var view = role("view", [], cluster: true)
    view["aggregationRule"] = ["clusterRoleSelectors": [["matchLabels": ["example.com/aggregate-to-view": "true"]]]]
    s.call("POST", "\(rbacPath)/clusterroles", view)
    s.call("POST", "\(rbacPath)/clusterrolebindings",
           binding("alice-view", role: "view", roleKind: "ClusterRole", subjects: [["kind": "User", "name": "alice"]], cluster: true))
    #expect(s.call(as: alice, "GET", cmPath).0 == 200)
  }

  @Test("discovery and version stay readable by any authenticated user; system:masters may do anything")
  func discoveryAndMasters() {
    let s = makeServer()
    #expect(s.call(as: alice, "GET", "/api").0 == 200)
    #expect(s.call(as: alice, "GET", "/apis").0 == 200)
    #expect(s.call(as: alice, "GET", "/api/v1").0 == 200)
    #expect(s.call(as: alice, "GET", "/version").0 == 200)
    #expect(s.call(as: UserInfo(name: "root", groups: ["system:masters"]), "GET", "/api/v1/secrets").0 == 200)
  }

  @Test("a SelfSubjectAccessReview answers with the RBAC decision")
  func selfSubjectAccessReview() {
    let s = serverWithReader()
    func review(_ verb: String, _ resource: String) -> JSONValue? {
      s.call(as: alice, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", [
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": ["resourceAttributes": ["namespace": "default", "verb": .string(verb), "resource": .string(resource)]],
      ]).1[path: ["status", "allowed"]]
    }
    #expect(review("list", "configmaps") == true)
    #expect(review("delete", "configmaps") == false)
    #expect(review("list", "secrets") == false)
  }

  @Test("a SubjectAccessReview decides nonResourceAttributes by RBAC's nonResourceURLs: metrics-reader may get /metrics, others may not")
  func subjectAccessReviewNonResource() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/clusterroles", role("metrics-reader", [["nonResourceURLs": ["/metrics"], "verbs": ["get"]]], cluster: true))
    s.call("POST", "\(rbacPath)/clusterrolebindings", binding("robot-reads-metrics", role: "metrics-reader", roleKind: "ClusterRole",
                                                             subjects: [["kind": "ServiceAccount", "name": "robot", "namespace": "default"]],
                                                             cluster: true))
    func review(_ user: UserInfo, _ verb: String, _ path: String, as reviewer: UserInfo? = nil) -> (Int, JSONValue) {
      let body: JSONValue = ["apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                             "spec": ["user": .string(user.name), "groups": .array(user.groups.map { .string($0) }),
                                      "nonResourceAttributes": ["path": .string(path), "verb": .string(verb)]]]
      let uri = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
      return reviewer.map { s.call(as: $0, "POST", uri, body) } ?? s.call("POST", uri, body)
    }
    #expect(review(robot, "get", "/metrics").1[path: ["status", "allowed"]] == true)
    #expect(review(robot, "post", "/metrics").1[path: ["status", "allowed"]] == false)
    #expect(review(robot, "get", "/metrics/extra").1[path: ["status", "allowed"]] == false)
    #expect(review(alice, "get", "/metrics").1[path: ["status", "allowed"]] == false)
    // The bootstrap discovery and public-info roles: /version for everyone, /apis for the authenticated.
    #expect(review(alice, "get", "/apis").1[path: ["status", "allowed"]] == true)
    #expect(review(UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"]), "get", "/version").1[path: ["status", "allowed"]] == true)
    #expect(review(UserInfo(name: "system:anonymous", groups: ["system:unauthenticated"]), "get", "/apis").1[path: ["status", "allowed"]] == false)
    // Reviewing someone else needs create on subjectaccessreviews (kubebuilder's metrics-auth-role).
    let (code, status) = review(robot, "get", "/metrics", as: alice)
    #expect(code == 403, "\(status)")
  }

  @Test("a SubjectAccessReview without a user or group, or without exactly one kind of attributes, is invalid (422) with upstream's messages")
  func subjectAccessReviewValidation() {
    let s = makeServer()
    let (code, status) = s.call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                ["apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": [:]])
    #expect(code == 422)
    #expect(status["message"]?.stringValue == #"SubjectAccessReview.authorization.k8s.io "" is invalid: [spec: Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified, spec.user: Invalid value: "": at least one of user or group must be specified]"#)
  }

  @Test("a TokenRequest issues a token that authenticates as the service account")
  func tokenRequest() throws {
    let s = makeServer()
    s.call("POST", "/api/v1/namespaces/default/serviceaccounts", ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "robot"]])
    let (code, response) = s.call("POST", "/api/v1/namespaces/default/serviceaccounts/robot/token",
                                  ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": [:]])
    #expect(code == 201)
    #expect(response["kind"] == "TokenRequest")
    let token = try #require(response[path: ["status", "token"]]?.stringValue)
    let user = try #require(s.authenticateServiceAccountToken(token))
    #expect(user.name == robot.name && user.groups == robot.groups)
    let outcome = Authenticator().authenticate(authorization: "Bearer \(token)", certificateUser: nil,
                                               issuedToken: s.authenticateServiceAccountToken)
    #expect(outcome == .authenticated(user))
    #expect(s.call("POST", "/api/v1/namespaces/default/serviceaccounts/ghost/token",
                   ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": [:]]).0 == 404)
  }

  @Test("a service account may not mint tokens unless RBAC allows serviceaccounts/token create")
  func tokenRequestIsAuthorized() {
    let s = makeServer()
    s.call("POST", "/api/v1/namespaces/default/serviceaccounts", ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "robot"]])
    #expect(s.call(as: robot, "POST", "/api/v1/namespaces/default/serviceaccounts/robot/token",
                   ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": [:]]).0 == 403)
  }
}

/// One request and the verb RBAC sees for it (k8s.io/apiserver pkg/endpoints/request/requestinfo.go).
struct VerbCase: Sendable, CustomTestStringConvertible {
  var method: String
  var uri: String
  var verb: String
  var testDescription: String { "\(method) \(uri) → \(verb)" }
}

@Suite("RBAC request verbs")
struct RBACVerbTests {
  @Test("each request maps to upstream's authorization verb", arguments: [
    VerbCase(method: "GET", uri: "/api/v1/namespaces/default/configmaps", verb: "list"),
    VerbCase(method: "GET", uri: "/api/v1/namespaces/default/configmaps/a", verb: "get"),
    VerbCase(method: "HEAD", uri: "/api/v1/namespaces/default/configmaps/a", verb: "get"),
    VerbCase(method: "GET", uri: "/api/v1/namespaces/default/configmaps?watch=true", verb: "watch"),
    VerbCase(method: "GET", uri: "/api/v1/watch/namespaces/default/configmaps", verb: "watch"),
    VerbCase(method: "POST", uri: "/api/v1/namespaces/default/configmaps", verb: "create"),
    VerbCase(method: "POST", uri: "/api/v1/namespaces/default/serviceaccounts/sa/token", verb: "create"),
    VerbCase(method: "PUT", uri: "/api/v1/namespaces/default/configmaps/a", verb: "update"),
    VerbCase(method: "PATCH", uri: "/api/v1/namespaces/default/configmaps/a", verb: "patch"),
    VerbCase(method: "DELETE", uri: "/api/v1/namespaces/default/configmaps/a", verb: "delete"),
    VerbCase(method: "DELETE", uri: "/api/v1/namespaces/default/configmaps", verb: "deletecollection"),
  ])
  func verbs(_ c: VerbCase) throws {
    let request = APIRequest(method: c.method, uri: c.uri)
    guard case .resource(let path) = RequestPathParser.parse(request.path) else {
      Issue.record("not a resource path: \(c.uri)")
      return
    }
    #expect(APIServer.requestVerb(path, request) == c.verb)
  }

  @Test("a SelfSubjectRulesReview lists the rules bound to the user, not a wildcard")
  func rulesReview() {
    let s = makeServer()
    s.call("POST", "\(rbacPath)/namespaces/default/roles", role("r", [rule(["list"], [""], ["configmaps"])]))
    s.call("POST", "\(rbacPath)/namespaces/default/rolebindings", binding("b", role: "r", subjects: [["kind": "User", "name": "alice"]]))
    let (code, review) = s.call(as: alice, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", [
      "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": ["namespace": "default"],
    ])
    #expect(code == 201)
    let rules = review[path: ["status", "resourceRules"]]?.arrayValue ?? []
    #expect(rules.contains { $0["resources"] == ["configmaps"] && $0["verbs"] == ["list"] })
    #expect(!rules.contains { $0["resources"] == ["*"] })
  }
}
