import Foundation
import KubeCore
import KubeEmulator
import Testing
@testable import KubeClient

/// An emulator over HTTPS on loopback, one per test.
func startEmulator() async throws -> KubeEmulator {
  var config = KubeEmulator.Configuration()
  config.threads = 1
  return try await KubeEmulator.start(config)
}

func pem(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite("libcurl transport against the emulator over HTTPS")
struct TransportTests {
  @Test("a request with a bearer token and the cluster CA gets the server's answer")
  func tokenAndCA() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let ca = try #require(emulator.certificateAuthority)
    let transport = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: pem(ca.certificatePEM)))
    defer { transport.loop.shutdown() }
    let r = try await transport.send(HTTPRequest(method: "GET", url: emulator.url + "/api/v1/namespaces",
                                                 headers: [("Authorization", "Bearer \(emulator.adminToken)"), ("Accept", "application/json")]))
    #expect(r.status == 200)
    let list = try JSONValue(parsing: r.body)
    #expect(list["kind"] == "NamespaceList")
    #expect(r.header("content-type") == "application/json")
    let anonymous = try await transport.send(HTTPRequest(method: "GET", url: emulator.url + "/api/v1/namespaces"))
    #expect(anonymous.status == 401)
  }

  @Test("a client certificate signed by the cluster CA authenticates")
  func clientCertificate() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let ca = try #require(emulator.certificateAuthority)
    let issued = try ca.issueClientCertificate(user: "robot", groups: ["system:masters"])
    let transport = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: pem(ca.certificatePEM),
                                                       clientCertificatePEM: pem(issued.certificatePEM), clientKeyPEM: pem(issued.privateKeyPEM)))
    defer { transport.loop.shutdown() }
    let body = try JSONValue(parsing: #"{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}"#).serialized()
    let r = try await transport.send(HTTPRequest(method: "POST", url: emulator.url + "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                                 headers: [("Content-Type", "application/json")], body: body))
    #expect(r.status == 201)
    #expect(try JSONValue(parsing: r.body)[path: ["status", "userInfo", "username"]] == "robot")
  }

  @Test("a server whose certificate the CA did not sign is refused, unless verification is off")
  func verification() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let other = try CertificateAuthority(commonName: "someone-else")
    let strict = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: pem(other.certificatePEM)))
    defer { strict.loop.shutdown() }
    await #expect(throws: TransportError.self) { _ = try await strict.send(HTTPRequest(method: "GET", url: emulator.url + "/version")) }
    let insecure = try HTTPTransport(tls: TLSSettings(insecureSkipVerify: true))
    defer { insecure.loop.shutdown() }
    #expect(try await insecure.send(HTTPRequest(method: "GET", url: emulator.url + "/version")).status == 200)
  }

  @Test("many concurrent requests share the one loop and all complete")
  func concurrency() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let ca = try #require(emulator.certificateAuthority)
    let transport = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: pem(ca.certificatePEM)))
    defer { transport.loop.shutdown() }
    let token = emulator.adminToken
    let url = emulator.url
    let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
      for i in 0..<50 {
        group.addTask {
          let body = try JSONValue(parsing: "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\(i)\"}}").serialized()
          return try await transport.send(HTTPRequest(method: "POST", url: url + "/api/v1/namespaces/default/configmaps",
                                                      headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")], body: body)).status
        }
      }
      return try await group.reduce(into: [Int]()) { $0.append($1) }
    }
    #expect(statuses.count == 50 && statuses.allSatisfy { $0 == 201 })
  }

  @Test("a cancel that reaches the loop before its request (a task cancelled before it sent) ends the request at once, not at its timeout")
  func cancelBeforeSubmit() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let ca = try #require(emulator.certificateAuthority)
    let transport = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: pem(ca.certificatePEM)))
    defer { transport.loop.shutdown() }
    // A port that takes connections (the kernel's backlog) and never answers.
    let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(silent) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) { a in
      try a.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
        guard bind(silent, p, length) == 0, listen(silent, 16) == 0, getsockname(silent, p, &length) == 0 else {
          throw POSIXError(.EADDRINUSE)
        }
      }
    }
    let port = UInt16(bigEndian: address.sin_port)
    let transfer = try CurlTransfer(request: HTTPRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeout: .seconds(3600)),
                                    tls: TLSSettings(), userAgent: "test")
    let outcome = AsyncStream<String>.makeStream()
    transfer.onComplete = { result in
      switch result {
      case .success(let r): outcome.continuation.yield("answered \(r.status)")
      case .failure(let e): outcome.continuation.yield("\(e)")
      }
    }
    transport.loop.cancel(transfer)
    // The loop takes cancels and new transfers together, so once a later request is answered the
    // cancel has been taken, before the transfer it names was there.
    #expect(try await transport.send(HTTPRequest(method: "GET", url: emulator.url + "/version")).status == 200)
    transport.loop.submit(transfer)
    // Without the cancel kept, the request waits for the hour-long timeout: fail after 30 s instead.
    let first = await withTaskGroup(of: String?.self) { group in
      group.addTask { await outcome.stream.first { _ in true } }
      group.addTask { try? await Task.sleep(for: .seconds(30)); return nil }
      defer { group.cancelAll() }
      return await group.next() ?? nil
    }
    #expect(first == "request cancelled")
  }

  @Test("a watch streams events as they happen and stops when the reader stops")
  func streaming() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let ca = try #require(emulator.certificateAuthority)
    let transport = try HTTPTransport(tls: TLSSettings(certificateAuthorityPEM: pem(ca.certificatePEM)))
    defer { transport.loop.shutdown() }
    let auth = ("Authorization", "Bearer \(emulator.adminToken)")
    let stream = try transport.stream(HTTPRequest(method: "GET", url: emulator.url + "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=30",
                                                  headers: [auth], timeout: nil))
    let url = emulator.url
    // The writer starts once the server has registered the watch, so no event can be missed (and
    // no sleep guesses when that is).
    let api = emulator.api
    let writer = Task {
      while api.store.transaction({ $0.subscriberCount }) == 0 { try await Task.sleep(for: .milliseconds(1)) }
      for i in 0..<3 {
        let body = try JSONValue(parsing: "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"w\(i)\"}}").serialized()
        _ = try await transport.send(HTTPRequest(method: "POST", url: url + "/api/v1/namespaces/default/configmaps",
                                                 headers: [auth, ("Content-Type", "application/json")], body: body))
      }
    }
    var buffer: [UInt8] = []
    var names: [String] = []
    var status = 0
    for try await part in stream {
      switch part {
      case .head(let s, _): status = s
      case .body(let bytes):
        buffer += bytes
        while let nl = buffer.firstIndex(of: 0x0A) {
          let line = Array(buffer[..<nl])
          buffer.removeSubrange(...nl)
          // Every namespace holds the root CA publisher's ConfigMap, listed first.
          if let event = try? JSONValue(parsing: line), let name = event[path: ["object", "metadata", "name"]]?.stringValue,
             name != "kube-root-ca.crt" { names.append(name) }
        }
      }
      if names.count == 3 { break }
    }
    try await writer.value
    #expect(status == 200)
    #expect(names == ["w0", "w1", "w2"])
    // After the reader stopped, the server has no watcher left.
    var remaining = 1
    for _ in 0..<50 where remaining > 0 {   // wait for the server to see the connection close
      try await Task.sleep(for: .milliseconds(100))
      remaining = emulator.api.store.transaction { $0.subscriberCount }
    }
    #expect(remaining == 0)
  }
}
