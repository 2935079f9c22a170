import Foundation
import KubeCore
import Synchronization
import Testing
@testable import KubeEmulator

/// A clock a test moves by hand.
final class TokenTestClock: Sendable {
  private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
  func read() -> Date { now.withLock { $0 } }
  func advance(seconds: Double) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("Service-account tokens")
struct ServiceAccountTokenTests {
  let clock = TokenTestClock()
  let server: APIServer

  init() {
    let clock = self.clock
    server = APIServer(documents: sharedDocuments, historyLimit: 1000, clock: { clock.read() })
    server.call("POST", "/api/v1/namespaces/default/serviceaccounts", ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "robot"]])
  }

  func requestToken(_ spec: JSONValue = [:], account: String = "robot") -> (Int, JSONValue) {
    server.call("POST", "/api/v1/namespaces/default/serviceaccounts/\(account)/token",
                ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec])
  }

  @Test("a token authenticates until it expires, with a minute of leeway as upstream's go-jose allows")
  func expiry() throws {
    let (code, response) = requestToken(["expirationSeconds": 600])
    #expect(code == 201)
    let token = try #require(response[path: ["status", "token"]]?.stringValue)
    #expect(server.authenticateServiceAccountToken(token)?.name == "system:serviceaccount:default:robot")
    clock.advance(seconds: 600 + 59)
    #expect(server.authenticateServiceAccountToken(token) != nil)
    clock.advance(seconds: 2)
    #expect(server.authenticateServiceAccountToken(token) == nil)
  }

  @Test("a token stops authenticating when its service account is deleted and created again")
  func recreatedAccount() throws {
    let token = try #require(requestToken().1[path: ["status", "token"]]?.stringValue)
    server.call("DELETE", "/api/v1/namespaces/default/serviceaccounts/robot")
    #expect(server.authenticateServiceAccountToken(token) == nil)
    server.call("POST", "/api/v1/namespaces/default/serviceaccounts", ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "robot"]])
    #expect(server.authenticateServiceAccountToken(token) == nil)   // another uid
  }

  @Test("a pod-bound token names the pod and dies with it; the kubelet's hour-long token is extended to a year")
  func podBound() throws {
    let (_, pod) = server.call("POST", "/api/v1/namespaces/default/pods", [
      "apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"],
      "spec": ["serviceAccountName": "robot", "containers": [["name": "c", "image": "busybox"]]],
    ])
    let uid = try #require(pod[path: ["metadata", "uid"]]?.stringValue)
    let (code, response) = requestToken(["expirationSeconds": 3607, "boundObjectRef": ["apiVersion": "v1", "kind": "Pod", "name": "p", "uid": .string(uid)]])
    #expect(code == 201)
    let token = try #require(response[path: ["status", "token"]]?.stringValue)
    let claims = try #require(server.tokenIssuer.verify(token))
    #expect(claims.pod == .init(name: "p", uid: uid))
    #expect(claims.expiresAt - claims.issuedAt == 365 * 24 * 3600)
    #expect(claims.warnAfter.map { $0 - claims.issuedAt } == 3607)
    // The reported expiry is the hour asked for, so the kubelet still rotates it hourly.
    #expect(response[path: ["status", "expirationTimestamp"]]?.stringValue == RFC3339.format(clock.read().addingTimeInterval(3607)))
    let user = try #require(server.authenticateServiceAccountToken(token))
    #expect(user.extra["authentication.kubernetes.io/pod-name"] == ["p"])
    server.call("DELETE", "/api/v1/namespaces/default/pods/p")
    #expect(server.authenticateServiceAccountToken(token) == nil)
  }

  static let refusalCases: [(JSONValue, Int, String)] = [
    (["expirationSeconds": 599], 422, "may not specify a duration less than 10 minutes"),
    (["expirationSeconds": 5_000_000_000], 422, "may not specify a duration larger than 2^32 seconds"),
    (["boundObjectRef": ["apiVersion": "v1", "kind": "ConfigMap", "name": "x"]], 400, "cannot bind token for serviceaccount \"robot\" to object of gvk v1, Kind=ConfigMap"),
    (["boundObjectRef": ["apiVersion": "v1", "kind": "Pod", "name": "ghost"]], 404, "pods \"ghost\" not found"),
  ]

  @Test("TokenRequest refuses what kube-apiserver refuses", arguments: refusalCases)
  func refusals(spec: JSONValue, code: Int, message: String) {
    let (got, status) = requestToken(spec)
    #expect(got == code)
    #expect(status["message"]?.stringValue?.contains(message) == true, "\(status)")
  }

  @Test("a token signed by another server or with altered claims is refused")
  func forgery() throws {
    let token = try #require(requestToken().1[path: ["status", "token"]]?.stringValue)
    let other = ServiceAccountTokenIssuer()
    let claims = try #require(server.tokenIssuer.verify(token))
    #expect(server.authenticateServiceAccountToken(other.sign(claims)) == nil)
    var parts = token.split(separator: ".").map(String.init)
    var altered = claims
    altered.serviceAccount.name = "admin"
    parts[1] = other.sign(altered).split(separator: ".")[1].description
    #expect(server.authenticateServiceAccountToken(parts.joined(separator: ".")) == nil)
    #expect(server.authenticateServiceAccountToken("a.b.c") == nil)
    #expect(server.authenticateServiceAccountToken("") == nil)
  }

  @Test("every namespace gets its default service account and the kube-root-ca.crt ConfigMap")
  func namespaceDefaults() {
    server.setRootCertificate(pem: "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n")
    server.call("POST", "/api/v1/namespaces", ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "vision"]])
    #expect(server.call("GET", "/api/v1/namespaces/vision/serviceaccounts/default").0 == 200)
    for ns in ["default", "kube-system", "vision"] {
      let (code, cm) = server.call("GET", "/api/v1/namespaces/\(ns)/configmaps/kube-root-ca.crt")
      #expect(code == 200)
      #expect(cm[path: ["data", "ca.crt"]]?.stringValue?.hasPrefix("-----BEGIN CERTIFICATE-----") == true)
    }
  }

  @Test("a pod mounts the projected token volume unless it or its account opts out")
  func admission() throws {
    func create(_ name: String, _ spec: JSONValue) -> (Int, JSONValue) {
      server.call("POST", "/api/v1/namespaces/default/pods", ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name)], "spec": spec])
    }
    let containers: JSONValue = [["name": "c", "image": "busybox"], ["name": "d", "image": "busybox",
                                  "volumeMounts": [["name": "own", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"]]]]
    let (_, pod) = create("mounted", ["containers": containers, "initContainers": [["name": "i", "image": "busybox"]],
                                      "volumes": [["name": "own", "emptyDir": [:]]]])
    let volumes = pod[path: ["spec", "volumes"]]?.arrayValue ?? []
    let token = try #require(volumes.last?["name"]?.stringValue)
    #expect(token.hasPrefix("kube-api-access-") && token.count == "kube-api-access-".count + 5)
    func mounts(_ field: String, _ i: Int) -> [String] {
      (pod[path: ["spec", field]]?.arrayValue?[i]["volumeMounts"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }
    #expect(mounts("initContainers", 0) == [token])
    #expect(mounts("containers", 0) == [token])
    // A container that mounts something of its own at the token path keeps it.
    #expect(mounts("containers", 1) == ["own"])
    #expect(create("opted-out", ["automountServiceAccountToken": false, "containers": [["name": "c", "image": "busybox"]]]).1[path: ["spec", "volumes"]] == nil)
    server.call("PATCH", "/api/v1/namespaces/default/serviceaccounts/robot", ["automountServiceAccountToken": false], contentType: "application/merge-patch+json")
    #expect(create("quiet", ["serviceAccountName": "robot", "containers": [["name": "c", "image": "busybox"]]]).1[path: ["spec", "volumes"]] == nil)
    // The pod's own choice wins over its account's.
    #expect(create("loud", ["serviceAccountName": "robot", "automountServiceAccountToken": true, "containers": [["name": "c", "image": "busybox"]]]).1[path: ["spec", "volumes"]] != nil)
    let (code, status) = create("orphan", ["serviceAccountName": "ghost", "containers": [["name": "c", "image": "busybox"]]])
    #expect(code == 403)
    #expect(status["message"] == "pods \"orphan\" is forbidden: error looking up service account default/ghost: serviceaccount \"ghost\" not found")
  }

  @Test("a TokenReview says whether a token authenticates and as whom")
  func tokenReview() throws {
    let token = try #require(requestToken().1[path: ["status", "token"]]?.stringValue)
    func review(_ token: String) -> JSONValue {
      server.call("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                  ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": ["token": .string(token)]]).1
    }
    let ok = review(token)
    #expect(ok[path: ["status", "authenticated"]] == true)
    #expect(ok[path: ["status", "user", "username"]] == "system:serviceaccount:default:robot")
    #expect(review("garbage")[path: ["status", "authenticated"]] == false)
  }
}
