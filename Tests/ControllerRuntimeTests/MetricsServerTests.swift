import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Testing
@testable import ControllerRuntime

private func core(_ resource: String) -> GroupVersionResource {
  GroupVersionResource(group: "", version: "v1", resource: resource, namespaced: true)
}
private func rbac(_ resource: String) -> GroupVersionResource {
  GroupVersionResource(group: "rbac.authorization.k8s.io", version: "v1", resource: resource, namespaced: false)
}

/// A ServiceAccount in `default` and a token for it (TokenRequest); bound to `role` when given.
private func serviceAccountToken(_ c: KubeClient, _ name: String, boundTo role: String?) async throws -> String {
  _ = try await c.create(core("serviceaccounts"), namespace: "default",
                         ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": .string(name)]])
  if let role {
    _ = try await c.create(rbac("clusterrolebindings"), [
      "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": ["name": .string(name)],
      "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(role)],
      "subjects": [["kind": "ServiceAccount", "name": .string(name), "namespace": "default"]]])
  }
  let response = try await c.send(method: "POST", path: "/api/v1/namespaces/default/serviceaccounts/\(name)/token",
                                  body: ["apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": [:]])
  return try JSONValue(parsing: response.body)[path: ["status", "token"]]?.stringValue ?? ""
}

@Suite("the operator's /metrics endpoint over HTTPS, reviewed by the API server")
struct MetricsServerTests {
  @Test("metrics-reader's token gets the metrics (200); a token without the binding 403; no token and a forged token 401; other paths 404")
  func protectedScrape() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let admin = try client(for: emulator)
    defer { admin.shutdown() }
    // kubebuilder's metrics-reader ClusterRole.
    _ = try await admin.create(rbac("clusterroles"), [
      "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": ["name": "metrics-reader"],
      "rules": [["nonResourceURLs": ["/metrics"], "verbs": ["get"]]]])
    let reader = try await serviceAccountToken(admin, "prometheus", boundTo: "metrics-reader")
    let stranger = try await serviceAccountToken(admin, "stranger", boundTo: nil)

    let certificate = try ServingCertificate.selfSigned()
    let server = try await MetricsServer.bind(host: "127.0.0.1", port: 0, certificate: certificate,
                                              authorizer: MetricsAuthorizer(reviewer: KubeAccessReviewer(client: admin)),
                                              logger: Logger(label: "test"), metrics: { Array("edgeml_reconcile_total 3\n".utf8) })
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await server.run() }
      // The client trusts exactly the served certificate: verification stays on.
      let https = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: Array(certificate.certificatePEM.utf8)))
      defer { https.loop.shutdown() }
      func get(_ path: String, token: String?) async throws -> (Int, String) {
        let r = try await https.send(HTTPRequest(method: "GET", url: "https://127.0.0.1:\(server.port)\(path)",
                                                 headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []))
        return (r.status, String(decoding: r.body, as: UTF8.self))
      }
      #expect(try await get("/metrics", token: reader) == (200, "edgeml_reconcile_total 3\n"))
      #expect(try await get("/metrics", token: stranger) == (403, "Authorization denied for user system:serviceaccount:default:stranger\n"))
      #expect(try await get("/metrics", token: nil) == (401, "Unauthorized\n"))
      #expect(try await get("/metrics", token: "forged.jwt.token") == (401, "Unauthorized\n"))
      #expect(try await get("/healthz", token: reader).0 == 404)
      // Plain HTTP to the HTTPS port gets no metrics.
      let plain = try HTTPTransport(tls: TLSSettings())
      defer { plain.loop.shutdown() }
      let answer = try? await plain.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/metrics",
                                                     headers: [("Authorization", "Bearer \(reader)")], timeout: .seconds(5)))
      #expect(answer.map { !String(decoding: $0.body, as: UTF8.self).contains("edgeml_reconcile_total") } ?? true)
      group.cancelAll()
    }
  }

  @Test("without the operator's right to review tokens, a scrape fails (500, not a silent 401) and the reason names the refusal")
  func reviewerForbidden() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let admin = try client(for: emulator)
    defer { admin.shutdown() }
    let operatorToken = try await serviceAccountToken(admin, "operator", boundTo: nil)
    let reader = try await serviceAccountToken(admin, "reader", boundTo: nil)
    let asOperator = try client(for: emulator, token: operatorToken)
    defer { asOperator.shutdown() }
    let authorizer = MetricsAuthorizer(reviewer: KubeAccessReviewer(client: asOperator))
    guard case .failed(let summary, let reason) = await authorizer.decide(authorization: "Bearer \(reader)", verb: "get", path: "/metrics") else {
      Issue.record("expected a failed review"); return
    }
    #expect(summary == "Authentication failed")
    #expect(reason.contains("tokenreviews") && reason.contains("forbidden"), "\(reason)")
  }

  @Test("with --metrics-secure=false the metrics are plain HTTP and open, as kubebuilder's insecure mode")
  func insecure() async throws {
    let server = try await MetricsServer.bind(host: "127.0.0.1", port: 0, certificate: nil, authorizer: nil,
                                              logger: Logger(label: "test"), metrics: { Array("up 1\n".utf8) })
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await server.run() }
      let plain = try HTTPTransport(tls: TLSSettings())
      defer { plain.loop.shutdown() }
      let r = try await plain.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:\(server.port)/metrics"))
      #expect(r.status == 200 && String(decoding: r.body, as: UTF8.self) == "up 1\n")
      group.cancelAll()
    }
  }

  @Test("a certificate directory with a missing or non-PEM file is refused at start-up, naming the file")
  func badCertificateFiles() throws {
    let dir = "/tmp/edgeml-metrics-cert-\(UInt32.random(in: 0...UInt32.max))"
    #expect(throws: ServingCertificate.LoadError.self) { try ServingCertificate.load(certificateFile: dir + "/tls.crt", keyFile: dir + "/tls.key") }
    do {
      _ = try ServingCertificate.load(certificateFile: dir + "/tls.crt", keyFile: dir + "/tls.key")
    } catch {
      #expect("\(error)".contains(dir + "/tls.crt"))
    }
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let good = try ServingCertificate.selfSigned()
    try Data(good.certificatePEM.utf8).write(to: URL(fileURLWithPath: dir + "/tls.crt"))
    try Data("not a key".utf8).write(to: URL(fileURLWithPath: dir + "/tls.key"))
    do {
      _ = try ServingCertificate.load(certificateFile: dir + "/tls.crt", keyFile: dir + "/tls.key")
      Issue.record("a key file that is not PEM was accepted")
    } catch {
      #expect("\(error)".contains(dir + "/tls.key") && "\(error)".contains("not a PEM private key"))
    }
  }
}
