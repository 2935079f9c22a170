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

/// `edgeml-engine --install-to`: the copy an L4T builder image's init container runs.
@Suite("edgeml-engine --install-to")
struct ToolsInstallTests {
  @Test("Copied with its loader and libraries, it runs in a root file system holding nothing else: an HTTPS fetch through its own libcurl, the plan laid out",
        .enabled(if: getuid() == 0, "chroot and mounting /proc need root"))
  func runsInAnEmptyRoot() async throws {
    let plan = Array("a prebuilt TensorRT plan".utf8)
    try await TestHTTPSServer.with(files: ["/models/detector.plan": plan]) { server in
      let f = try EngineFixture(model: plan)
      let root = f.box.path("root")
      let install = try await f.box.run(Sandbox.edgemlEngine, ["--install-to", root + "/tools"])
      #expect(install.status == 0, "\(install.stderr)")
      #expect(install.stdout.contains("--library-path"))
      // Only what the copy brought, the CA of the test server, and the kernel's /proc a container runtime mounts.
      for dir in ["proc", "secrets", "cache", "models"] { try FileManager.default.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true) }
      _ = try f.box.write("root/secrets/ca.pem", Array(server.caPEM.utf8))
      #expect(!FileManager.default.fileExists(atPath: root + "/lib") && !FileManager.default.fileExists(atPath: root + "/usr"))
      // /proc as a container runtime gives it, in a mount namespace of the run's own (unshare(1)), so
      // nothing stays mounted under the sandbox when it is removed.
      let out = try await f.box.run("/usr/bin/unshare", ["--mount", "--pid", "--fork", "--mount-proc=\(root)/proc",
                                                          "/usr/sbin/chroot", root, "/tools/ld.so", "--library-path", "/tools/lib", "/tools/edgeml-engine",
        "--model-uri", server.url("/models/detector.plan"), "--model-digest", ONNXFixture.sha256(plan), "--model-format", "tensorrt-plan",
        "--ca-file", "/secrets/ca.pem", "--precision", "fp16", "--key", f.key, "--cache-dir", "/cache", "--output-dir", "/models",
        "--model-name", "detector", "--model-version", "1", "--layout", "triton", "--termination-log", "/termination-log"])
      #expect(out.status == 0, "\(out.stderr)")
      #expect(try f.box.result("root/termination-log").string("state") == "Built")
      #expect(f.box.read("root/models/detector/1/model.plan") == plan)
      #expect(server.requests.contains("/models/detector.plan"))
    }
  }

  @Test("An unwritable destination is exit 1 with the path named")
  func unwritable() async throws {
    let box = try Sandbox()
    _ = try box.write("file", [1])
    let out = try await box.run(Sandbox.edgemlEngine, ["--install-to", box.path("file") + "/tools"])
    #expect(out.status == 1)
    #expect(out.stderr.contains(box.path("file") + "/tools"))
  }
}
