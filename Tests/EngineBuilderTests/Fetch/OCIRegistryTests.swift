import Crypto
import Foundation
import KubeClient
import Testing
import TestServers
@testable import EngineBuilder

/// `OCIFetcher` against Debian's `docker-registry` (distribution 2.8), the artifact pushed by the ORAS Python SDK.
@Suite("OCI fetcher against docker-registry", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/docker-registry") && FetchTools.python != nil,
                "/usr/bin/docker-registry is not installed (scripts/setup.sh: apt-get install docker-registry)"))
struct OCIRegistryTests {
  @Test("An artifact pushed with oras comes back byte for byte, pinned to its layer digest, by tag and by digest; tampered bytes are refused")
  func pushAndFetch() async throws {
    let dir = try FetchTools.temporaryDirectory("registry")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let transport = try FetchTools.transport()
    let (server, registry) = try await Self.startRegistry(in: dir, authYAML: "", transport: transport)
    defer { server.stop() }

    let model = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 40_503 >> 3) }
    try FileManager.default.createDirectory(atPath: dir + "/push", withIntermediateDirectories: true)
    try Data(model).write(to: URL(fileURLWithPath: dir + "/push/model.onnx"))
    let pushed = try await FetchTools.runFixture(["oci-push", registry, "models/x:1", dir + "/push/model.onnx"])
    let layerDigest = try #require(pushed["layerDigest"] as? String)
    let expected = "sha256:" + SHA256.hash(data: model).map { String(format: "%02x", $0) }.joined()
    #expect(layerDigest == expected)

    let fetcher = OCIFetcher(environment: ["EDGEML_OCI_PLAIN_HTTP": "registry.example:5000, \(registry)"], transport: transport)
    let destination = dir + "/fetched.onnx"
    let fetched = try await fetcher.fetch("oci://\(registry)/models/x:1", to: destination)
    #expect(fetched == FetchedArtifact(path: destination, size: model.count, pinnedDigest: expected))
    #expect(try Array(Data(contentsOf: URL(fileURLWithPath: destination))) == model)

    // By manifest digest, as a pinned EdgeModel would name it.
    let head = try await transport.send(HTTPRequest(method: "HEAD", url: "http://\(registry)/v2/models/x/manifests/1",
                                                    headers: [("accept", OCIFetcher.manifestTypes.joined(separator: ", "))]))
    let manifestDigest = try #require(head.header("docker-content-digest"))
    let byDigest = try await fetcher.fetch("oci://\(registry)/models/x@\(manifestDigest)", to: dir + "/by-digest.onnx")
    #expect(byDigest.pinnedDigest == expected && byDigest.size == model.count)

    let unknown = await #expect(throws: FetchError.self) { try await fetcher.fetch("oci://\(registry)/models/x:2", to: dir + "/none") }
    #expect(unknown?.message.contains("404 MANIFEST_UNKNOWN") == true, "\(unknown?.message ?? "")")

    // Bytes changed on the registry's disk behind its back: the digest check must catch them.
    let hex = expected.dropFirst("sha256:".count)
    let blob = "\(dir)/storage/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    var tampered = model
    tampered[1000] ^= 0xFF
    try Data(tampered).write(to: URL(fileURLWithPath: blob))
    let mismatch = await #expect(throws: FetchError.self) { try await fetcher.fetch("oci://\(registry)/models/x:1", to: dir + "/tampered.onnx") }
    #expect(mismatch?.message.contains("the manifest says \(model.count) bytes, \(expected)") == true, "\(mismatch?.message ?? "")")
    #expect(!FileManager.default.fileExists(atPath: dir + "/tampered.onnx"))

    // Not listed as plain HTTP: the fetcher speaks TLS and the plain-HTTP registry cannot answer it.
    let tls = OCIFetcher(environment: [:], transport: transport)
    await #expect(throws: FetchError.self) { try await tls.fetch("oci://\(registry)/models/x:1", to: dir + "/tls") }
  }

  @Test("A registry that demands a Bearer token is answered with the anonymous token flow")
  func bearerTokenFlow() async throws {
    let dir = try FetchTools.temporaryDirectory("registry-token")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let transport = try FetchTools.transport()
    let tokenPort = try FetchTools.freePort()
    let tokens = try ServerProcess(name: "token-server", executable: try #require(FetchTools.python),
                                   arguments: [FetchTools.fixtures, "token-server", "\(tokenPort)", dir, "edgeml-test-issuer"], logDirectory: dir)
    defer { tokens.stop() }
    try await tokens.waitUntilReady("http://127.0.0.1:\(tokenPort)/token?service=probe", transport: transport)
    let auth = """
      auth:
        token:
          realm: http://127.0.0.1:\(tokenPort)/token
          service: edgeml-registry
          issuer: edgeml-test-issuer
          rootcertbundle: \(dir)/root.crt
      """
    let (server, registry) = try await Self.startRegistry(in: dir, authYAML: auth, transport: transport, readyStatus: 401)
    defer { server.stop() }

    let model = Array("a model behind token auth \(UUID())".utf8)
    try Data(model).write(to: URL(fileURLWithPath: dir + "/model.onnx"))
    _ = try await FetchTools.runFixture(["oci-push", registry, "models/private:1", dir + "/model.onnx"])
    let anonymous = try await transport.send(HTTPRequest(method: "GET", url: "http://\(registry)/v2/models/private/manifests/1"))
    #expect(anonymous.status == 401 && anonymous.header("www-authenticate")?.hasPrefix("Bearer realm=") == true)

    let fetcher = OCIFetcher(environment: ["EDGEML_OCI_PLAIN_HTTP": registry], transport: transport)
    let fetched = try await fetcher.fetch("oci://\(registry)/models/private:1", to: dir + "/fetched.onnx")
    #expect(fetched.size == model.count)
    #expect(try Array(Data(contentsOf: URL(fileURLWithPath: dir + "/fetched.onnx"))) == model)
  }

  /// Starts `docker-registry serve` on a free loopback port with filesystem storage under `dir`.
  static func startRegistry(in dir: String, authYAML: String, transport: HTTPTransport,
                            readyStatus: Int = 200) async throws -> (ServerProcess, String) {
    let registry = "127.0.0.1:\(try FetchTools.freePort())"
    let config = """
      version: 0.1
      log:
        level: warn
      storage:
        filesystem:
          rootdirectory: \(dir)/storage
      http:
        addr: \(registry)
      \(authYAML)
      """
    try config.write(toFile: dir + "/config.yml", atomically: true, encoding: .utf8)
    let server = try ServerProcess(name: "docker-registry", executable: "/usr/bin/docker-registry",
                                   arguments: ["serve", dir + "/config.yml"], logDirectory: dir)
    try await server.waitUntilReady("http://\(registry)/v2/", expect: readyStatus, transport: transport)
    return (server, registry)
  }
}
