@testable import EngineBuilder
import EdgeMLVocabulary
import Foundation
import KubeCore
import KubeClient
import Testing

@Suite("EngineBuilder pieces")
struct EngineBuilderUnitTests {
  func request() -> EngineBuildRequest {
    var r = EngineBuildRequest(modelURI: "file:///m.onnx", precision: .int8, key: "sha256:" + String(repeating: "0", count: 64),
                               cacheDirectory: "/var/lib/edgeml/engines", outputDirectory: "/models", modelName: "m", modelVersion: "3",
                               layout: .triton)
    r.workspaceMiB = 2048
    r.shapes = .init(min: "images:1x3x640x640", opt: "images:4x3x640x640", max: "images:8x3x640x640")
    r.dlaCore = 1
    r.allowGPUFallback = true
    return r
  }

  @Test("trtexec flags follow the TensorRT release", arguments: [
    (TensorRTRelease(major: 8, minor: 5, patch: 2), false, "--buildOnly"),
    (TensorRTRelease(major: 8, minor: 6, patch: 2), false, "--skipInference"),
    (TensorRTRelease(major: 10, minor: 3, patch: 0), false, "--skipInference"),
    (TensorRTRelease(major: 10, minor: 3, patch: 0), true, nil),
  ] as [(TensorRTRelease, Bool, String?)])
  func flags(_ release: TensorRTRelease, _ measure: Bool, _ skip: String?) {
    let args = TrtexecArguments(modelPath: "/w/m.onnx", enginePath: "/w/e.plan", calibrationPath: "/w/c.cache",
                                timingCachePath: "/c/timing.cache", measure: measure).arguments(for: request(), release: release)
    var expected = ["--onnx=/w/m.onnx", "--saveEngine=/w/e.plan", "--int8", "--calib=/w/c.cache", "--memPoolSize=workspace:2048M",
                    "--minShapes=images:1x3x640x640", "--optShapes=images:4x3x640x640", "--maxShapes=images:8x3x640x640",
                    "--useDLACore=1", "--allowGPUFallback", "--timingCacheFile=/c/timing.cache"]
    if let skip { expected.append(skip) }
    #expect(args == expected)
    #expect(args.allSatisfy { !$0.hasPrefix("--") || $0.contains("=") || ["--int8", "--allowGPUFallback", "--buildOnly", "--skipInference"].contains($0) })
  }

  @Test("Before TensorRT 8.4 the workspace is --workspace")
  func oldWorkspaceFlag() {
    let args = TrtexecArguments(modelPath: "m", enginePath: "e", calibrationPath: nil, timingCachePath: "t", measure: false)
      .arguments(for: request(), release: TensorRTRelease(major: 8, minor: 2, patch: 1))
    #expect(args.contains("--workspace=2048"))
  }

  @Test("The release is read from trtexec's RUNNING line", arguments: [
    ("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec --help", "10.3.0"),
    ("&&&& RUNNING TensorRT.trtexec [TensorRT v8502] # /usr/src/tensorrt/bin/trtexec --help", "8.5.2"),
    ("&&&& RUNNING TensorRT.trtexec [TensorRT v100700] [b23] # trtexec.exe --help", "10.7.0"),
  ])
  func release(_ line: String, _ version: String) {
    #expect(TrtexecOutput.release(in: "\n" + line + "\n=== Model Options ===\n")?.description == version)
  }

  @Test("Throughput and mean latency are read from trtexec's summary, not from the other latency lines")
  func performance() throws {
    let output = """
      [11/25/2026-10:00:00] [I] === Performance summary ===
      [11/25/2026-10:00:00] [I] Throughput: 310.5 qps
      [11/25/2026-10:00:00] [I] Latency: min = 3.0166 ms, max = 3.4609 ms, mean = 3.07954 ms, median = 3.07227 ms, percentile(90%) = 3.10547 ms, percentile(95%) = 3.12109 ms, percentile(99%) = 3.21875 ms
      [11/25/2026-10:00:00] [I] H2D Latency: min = 0.1 ms, max = 0.2 ms, mean = 0.15 ms, median = 0.15 ms
      """
    let perf = try #require(TrtexecOutput.performance(in: output))
    #expect(perf.latencyMs == 3.07954)
    #expect(perf.throughputQPS == 310.5)
  }

  @Test("URIs lose user info and query before they are shown", arguments: [
    ("https://bucket.s3.amazonaws.com/m.onnx?X-Amz-Signature=abc&X-Amz-Credential=AKIA", "https://bucket.s3.amazonaws.com/m.onnx?…"),
    ("https://user:secret@host/m.onnx", "https://host/m.onnx"),
    ("file:///models/m.onnx", "file:///models/m.onnx"),
  ])
  func redaction(_ uri: String, _ shown: String) { #expect(URIText.redacted(uri) == shown) }

  @Test("A long failure message is cut so the termination message stays valid JSON within 4096 bytes")
  func terminationMessageLimit() throws {
    let result = EngineBuildResult(key: "sha256:" + String(repeating: "a", count: 64),
                                   outcome: .failed(EngineBuildError(.buildFailed, String(repeating: "é trtexec said no; ", count: 600))))
    let text = result.terminationMessage()
    #expect(text.utf8.count <= 4096)
    #expect(text.utf8.count > 4000)
    guard case .object(let o) = try JSONParser.parse(text) else { Issue.record("not an object"); return }
    #expect(o.string("reason") == "BuildFailed")
    #expect(o.string("message")?.hasSuffix("…") == true)
  }

  @Test("The result JSON keeps the contract's key order")
  func resultOrder() {
    let built = EngineBuildResult(key: "sha256:k", outcome: .built(.init(cacheHit: false, buildSeconds: 12.4, sizeBytes: 8123456,
                                                                         tensorrt: "10.3.0", latencyMs: 3.1, throughputQPS: 310.5)))
    #expect(built.json.serializedString() == #"{"key":"sha256:k","state":"Built","cacheHit":false,"cacheSource":"none","buildSeconds":12.4,"sizeBytes":8123456,"tensorrt":"10.3.0","latencyMs":3.1,"throughputQPS":310.5}"#)
  }

  @Test("What the engine writes the operator reads back field for field, built or failed with any of the contract's reasons")
  func resultRoundTrip() throws {
    let built = EngineBuildResult(key: "sha256:k", outcome: .built(.init(cacheHit: true, cacheSource: "shared", buildSeconds: 412.0004,
                                                                         sizeBytes: 812, tensorrt: "10.3.0", latencyMs: 3.1, throughputQPS: nil)))
    let read = try #require(EngineResult(terminationMessage: built.terminationMessage()))
    #expect(read.state == "Built" && read.cacheHit == true && read.cacheSource == "shared" && read.buildSeconds == 412.0)
    #expect(read.sizeBytes == 812 && read.tensorrt == "10.3.0" && read.latencyMs == 3.1 && read.throughputQPS == nil)
    for reason in EngineFailureReason.allCases {
      let failed = EngineBuildResult(key: "sha256:k", outcome: .failed(EngineBuildError(reason, "it went wrong")))
      let back = try #require(EngineResult(terminationMessage: failed.terminationMessage()))
      #expect(back.state == "Failed" && back.failureReason == reason && back.message == "it went wrong")
    }
    #expect(EngineResult(terminationMessage: "OOMKilled") == nil)   // not ours: no document
  }

  @Test("A copy has the source's bytes over a longer old file, reports its size, and fails on a missing source")
  func fileCopy() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("filecopy-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // Larger than the copy buffer, so the loop runs more than once.
    let bytes = (0..<(3 << 20) + 17).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/plan"))
    try Data(repeating: 7, count: (4 << 20)).write(to: URL(fileURLWithPath: "\(dir)/copy"))
    #expect(try FileWrite.copy(from: "\(dir)/plan", to: "\(dir)/copy", durable: true) == bytes.count)
    #expect(FileManager.default.contents(atPath: "\(dir)/copy") == Data(bytes))
    #expect(FileWrite.size(of: "\(dir)/copy") == bytes.count)
    #expect(FileWrite.size(of: "\(dir)/absent") == nil)
    #expect(FileWrite.size(of: dir) == nil)
    #expect(throws: CocoaError.self) { try FileWrite.copy(from: "\(dir)/absent", to: "\(dir)/other", durable: false) }
    #expect(!FileManager.default.fileExists(atPath: "\(dir)/other"))
  }

  @Test("The registry picks a fetcher by scheme and names the schemes it knows")
  func registry() async throws {
    let transport = try HTTPTransport(tls: TLSSettings())
    defer { transport.loop.shutdown() }
    let context = FetchContext(environment: [:], transport: transport)
    #expect(try FetcherRegistry.standard.fetcher(for: "file:///x", context: context) is FileFetcher)
    #expect(try FetcherRegistry.standard.fetcher(for: "HTTPS://host/x", context: context) is HTTPSFetcher)
    #expect(throws: FetchError.self) { try FetcherRegistry.standard.fetcher(for: "gopher://host/x", context: context) }
  }
}
