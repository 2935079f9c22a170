import EngineBuilder
import Foundation
import Testing

/// https:// models come through libcurl with TLS verified against the given CA.
@Suite("https:// fetch")
struct HTTPSFetchTests {
  @Test("A model served over HTTPS, presigned-style query included, builds when its CA is trusted")
  func httpsBuild() async throws {
    let model = ONNXFixture.model()
    try await TestHTTPSServer.with(files: ["/models/detector.onnx": model]) { server in
    let f = try EngineFixture(model: model)
    let ca = try f.box.write("secrets/ca.pem", Array(server.caPEM.utf8))
    let uri = server.url("/models/detector.onnx?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=deadbeefsecret")
    let out = try await f.run(["--model-uri": uri, "--ca-file": ca])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(try f.box.result().string("state") == "Built")
    #expect(server.requests.contains { $0.hasSuffix("X-Amz-Signature=deadbeefsecret") })
    #expect(!out.stderr.contains("deadbeefsecret"))
    }
  }

  /// glibc's loader reports every library it loads under `LD_DEBUG=libs` ("find library=…").
  @Test("libcurl is loaded on the first remote fetch: a file:// build never maps it, an https:// build does")
  func libcurlLoadedOnDemand() async throws {
    let model = ONNXFixture.model()
    let local = try EngineFixture(model: model)
    let offline = try await local.run(environment: ["LD_DEBUG": "libs"])
    #expect(offline.status == 0, "\(offline.stderr)")
    #expect(offline.stderr.contains("find library="), "the loader printed nothing: is this glibc?")
    #expect(!offline.stderr.contains("libcurl.so.4"))
    try await TestHTTPSServer.with(files: ["/models/detector.onnx": model]) { server in
    let f = try EngineFixture(model: model)
    let ca = try f.box.write("secrets/ca.pem", Array(server.caPEM.utf8))
    let out = try await f.run(["--model-uri": server.url("/models/detector.onnx"), "--ca-file": ca], environment: ["LD_DEBUG": "libs"])
    #expect(out.status == 0, "\(out.stderr)")
    #expect(out.stderr.contains("find library=libcurl.so.4"))
    }
  }

  @Test("A download over the size limit fails on its Content-Length, before a byte is written; one under it is built")
  func sizeLimitFromContentLength() async throws {
    let model = ONNXFixture.model()
    try await TestHTTPSServer.with(files: ["/models/detector.onnx": model]) { server in
    let f = try EngineFixture(model: model)
    let ca = try f.box.write("secrets/ca.pem", Array(server.caPEM.utf8))
    let tooSmall = String(model.count - 1)
    let refused = try await f.run(["--model-uri": server.url("/models/detector.onnx"), "--ca-file": ca, "--max-fetch-bytes": tooSmall])
    #expect(refused.status == 1)
    let result = try f.box.result()
    #expect(result.string("reason") == "FetchFailed")
    #expect(result.string("message")?.contains("announces \(model.count) bytes, over the size limit of \(tooSmall) bytes") == true)
    #expect(f.box.buildCount == 0)
    let fits = try await f.run(["--model-uri": server.url("/models/detector.onnx"), "--ca-file": ca,
                                "--max-fetch-bytes": String(model.count)])
    #expect(fits.status == 0, "\(fits.stderr)")
    }
  }

  @Test("Failures name the URI without its query, and an untrusted certificate is FetchFailed")
  func httpsFailures() async throws {
    try await TestHTTPSServer.with(files: [:]) { server in
    let f = try EngineFixture()
    let ca = try f.box.write("secrets/ca.pem", Array(server.caPEM.utf8))
    let missing = try await f.run(["--model-uri": server.url("/nope.onnx?X-Amz-Signature=deadbeefsecret"), "--ca-file": ca])
    #expect(missing.status == 1)
    let result = try f.box.result()
    #expect(result.string("reason") == "FetchFailed")
    #expect(result.string("message")?.contains("HTTP status 404") == true)
    #expect(result.string("message")?.contains("/nope.onnx?…") == true)
    #expect(!missing.stderr.contains("deadbeefsecret") && !missing.stdout.contains("deadbeefsecret"))

    let untrusted = try await f.run(["--model-uri": server.url("/nope.onnx")])
    #expect(untrusted.status == 1)
    #expect(try f.box.result().string("reason") == "FetchFailed")
    #expect(server.requests.count == 1)   // the TLS handshake failed before any request
    }
  }
}
