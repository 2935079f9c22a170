import Foundation
import KubeClient
import Testing
import TestServers
@testable import EngineBuilder

/// `S3Fetcher` against moto in server mode, with moto's IAM signature checks switched on, so a request
/// our signer gets wrong is refused exactly as AWS would refuse it.
@Suite("S3 fetcher against moto", .serialized,
       .enabled(if: FetchTools.program("moto_server") != nil && FetchTools.python != nil,
                "moto_server is not installed (scripts/setup.sh installs moto[server] into the fetch-tools venv)"))
struct S3MotoTests {
  @Test("An object PUT and fetched through our SigV4 signer arrives byte for byte; a wrong secret gets SignatureDoesNotMatch")
  func putAndFetch() async throws {
    let dir = try FetchTools.temporaryDirectory("moto")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let port = try FetchTools.freePort()
    let endpoint = "http://127.0.0.1:\(port)"
    let moto = try ServerProcess(name: "moto", executable: try #require(FetchTools.program("moto_server")),
                                 arguments: ["-H", "127.0.0.1", "-p", "\(port)"], logDirectory: dir)
    defer { moto.stop() }
    let transport = try FetchTools.transport()
    try await moto.waitUntilReady(endpoint + "/moto-api/data.json", transport: transport)

    let keys = try await FetchTools.runFixture(["s3-setup", endpoint, "edgeml-models"])
    let accessKeyID = try #require(keys["accessKeyId"] as? String)
    let secret = try #require(keys["secretAccessKey"] as? String)
    var environment = ["AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secret,
                       "AWS_ENDPOINT_URL_S3": endpoint, "AWS_REGION": "us-east-1"]
    let fetcher = S3Fetcher(environment: environment, transport: transport)

    // A key with a space, a plus and a non-ASCII letter: the path we send must be the path we sign.
    let uri = "s3://edgeml-models/nets/resnet 50/ü+v1.onnx"
    let model = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
    var putRequest = try fetcher.makeRequest(uri, method: "PUT", body: model)
    putRequest.headers.append(("content-type", "application/octet-stream"))  // else libcurl says form data and moto parses it as a form
    let put = try await transport.send(putRequest)
    #expect(put.status == 200, "PUT answered \(put.status): \(String(decoding: put.body, as: UTF8.self))")

    let destination = dir + "/model.onnx"
    let fetched = try await fetcher.fetch(uri, to: destination)
    #expect(fetched == FetchedArtifact(path: destination, size: model.count, pinnedDigest: nil))
    #expect(try Array(Data(contentsOf: URL(fileURLWithPath: destination))) == model)

    // The same request signed with the wrong secret must be refused: moto recomputes the signature.
    environment["AWS_SECRET_ACCESS_KEY"] = "wrong" + secret.dropFirst(5)
    let forged = S3Fetcher(environment: environment, transport: transport)
    let error = await #expect(throws: FetchError.self) { try await forged.fetch(uri, to: dir + "/forged.onnx") }
    #expect(error?.message.contains("403 SignatureDoesNotMatch") == true, "\(error?.message ?? "")")
    #expect(error?.message.contains(secret) == false)
    #expect(!FileManager.default.fileExists(atPath: dir + "/forged.onnx"))

    // No credentials at all: an unsigned GET, refused once auth is on.
    let anonymous = await #expect(throws: FetchError.self) {
      try await S3Fetcher(environment: ["AWS_ENDPOINT_URL": endpoint], transport: transport).fetch(uri, to: dir + "/anonymous.onnx")
    }
    #expect(anonymous?.message.hasPrefix("S3 answered 403") == true, "\(anonymous?.message ?? "")")

    let missing = await #expect(throws: FetchError.self) { try await fetcher.fetch("s3://edgeml-models/nets/absent.onnx", to: dir + "/absent") }
    #expect(missing?.message == "S3 answered 404 NoSuchKey: The specified key does not exist.")
  }
}
