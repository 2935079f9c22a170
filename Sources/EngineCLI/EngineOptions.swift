import ArgumentParser
import EngineBuilder
import Foundation
import Logging

/// The EdgeModel init container's flags and run — fetch, verify, decrypt, build with trtexec,
/// cache, lay out (docs/edgemodel-contracts.md §2) — shared by `edgeml-engine` (what pods run) and
/// `edgeml engine`.
///
/// Every value a user can get wrong is a plain string checked in `run()`, and unknown arguments are
/// collected rather than rejected by the parser, so bad input always ends with a termination
/// message (`reason: InvalidArguments`) and exit status 2, never ArgumentParser's usage error (64).
public struct EngineOptions: ParsableArguments {
  public static let abstract = "Put a TensorRT engine for one EdgeModel in place on this node (init container)."

  public init() {}

  @Option(name: .customLong("model-uri"), help: "file://, https://, s3://, oci:// or mlflow:// URI of the model.") var modelURI: String?
  @Option(name: .customLong("model-digest"), help: "sha256:HEX of the model as fetched.") var modelDigest: String?
  @Option(name: .customLong("model-format"), help: "onnx | tensorrt-plan.") var modelFormat = "onnx"
  @Option(name: .customLong("signature-uri"), help: "URI of the Ed25519 detached signature over the fetched model.") var signatureURI: String?
  @Option(name: .customLong("public-key-file"), help: "Ed25519 public key: 32 raw bytes, base64, or PEM.") var publicKeyFile: String?
  @Option(name: .customLong("encryption-key-file"), help: "AES-256-GCM key: 32 raw bytes or base64.") var encryptionKeyFile: String?
  @Option(name: .customLong("calibration-uri"), help: "URI of the INT8 calibration cache.") var calibrationURI: String?
  @Option(name: .customLong("calibration-digest"), help: "sha256:HEX of the calibration cache.") var calibrationDigest: String?
  @Option(name: .customLong("precision"), help: "fp32 | fp16 | int8 | best.") var precision: String?
  @Option(name: .customLong("dla-core"), help: "DLA core to build for.") var dlaCore: String?
  @Flag(name: .customLong("allow-gpu-fallback"), help: "Let layers the DLA lacks run on the GPU.") var allowGPUFallback = false
  @Option(name: .customLong("workspace-mib"), help: "Builder workspace in MiB.") var workspaceMiB: String?
  @Option(name: .customLong("min-shapes"), help: "name:AxBxC[,…] minimum shapes.") var minShapes: String?
  @Option(name: .customLong("opt-shapes"), help: "name:AxBxC[,…] optimum shapes.") var optShapes: String?
  @Option(name: .customLong("max-shapes"), help: "name:AxBxC[,…] maximum shapes.") var maxShapes: String?
  @Option(name: .customLong("key"), help: "sha256:HEX engine compatibility key (names the cache files).") var key: String?
  @Option(name: .customLong("cache-dir"), help: "Node engine cache directory.") var cacheDir: String?
  @Option(name: .customLong("shared-cache-dir"), help: "Engine cache shared by the nodes of a node group (a ReadWriteMany volume).") var sharedCacheDir: String?
  @Option(name: .customLong("output-dir"), help: "Model repository directory shared with the serving container.") var outputDir: String?
  @Option(name: .customLong("model-name"), help: "Model name (Triton model directory).") var modelName: String?
  @Option(name: .customLong("model-version"), help: "Model version (Triton version directory).") var modelVersion: String?
  @Option(name: .customLong("layout"), help: "triton | plain.") var layout: String?
  @Option(name: .customLong("max-latency-ms"), help: "Acceptance gate: trtexec's mean latency must not exceed this.") var maxLatencyMs: String?
  @Option(name: .customLong("min-throughput-qps"), help: "Acceptance gate: trtexec's throughput must reach this.") var minThroughputQPS: String?
  @Option(name: .customLong("trtexec"), help: "The trtexec binary.") var trtexec = "/usr/src/tensorrt/bin/trtexec"
  @Option(name: .customLong("termination-log"), help: "Where the result JSON goes (default /dev/termination-log when it exists).") var terminationLog: String?
  @Option(name: .customLong("ca-file"), help: "PEM CA bundle for https:// and registry endpoints instead of the system roots.") var caFile: String?
  @Argument(parsing: .allUnrecognized, help: .hidden) var unrecognized: [String] = []

  /// Runs the init container's work; `program` names the command in error lines.
  public func run(program: String) async throws {
    var logger = Logger(label: "edgeml.engine")
    logger.logLevel = .info
    let termination = terminationLog ?? (FileManager.default.fileExists(atPath: "/dev/termination-log") ? "/dev/termination-log" : nil)
    let request: EngineBuildRequest
    do throws(EngineBuildError) {
      request = try makeRequest(terminationLog: termination)
    } catch {
      let result = EngineBuildResult(key: key ?? "", outcome: .failed(error))
      FileHandle.standardError.write(Data("\(program): \(error.message)\n".utf8))
      if let termination { try? result.terminationMessage().write(toFile: termination, atomically: false, encoding: .utf8) }
      throw ExitCode(result.exitCode)
    }
    let result = await EngineBuilder(request: request, logger: logger).run()
    print(result.json.serializedString())
    if result.exitCode != 0 { throw ExitCode(result.exitCode) }
  }

  /// Turns the strings of the command line into a request; every problem is `InvalidArguments`.
  func makeRequest(terminationLog: String?) throws(EngineBuildError) -> EngineBuildRequest {
    func invalid(_ message: String) -> EngineBuildError { EngineBuildError(.invalidArguments, message) }
    if let first = unrecognized.first { throw invalid("unknown argument \(first)") }
    func required(_ value: String?, _ flag: String) throws(EngineBuildError) -> String {
      guard let value, !value.isEmpty else { throw invalid("\(flag) is required") }
      return value
    }
    func number<T: LosslessStringConvertible>(_ value: String?, _ flag: String) throws(EngineBuildError) -> T? {
      guard let value else { return nil }
      guard let n = T(value) else { throw invalid("\(flag) must be a number, not \(value)") }
      return n
    }
    guard let precision = EngineBuildRequest.Precision(rawValue: try required(precision, "--precision")) else {
      throw invalid("--precision must be one of fp32, fp16, int8, best")
    }
    guard let layout = EngineBuildRequest.Layout(rawValue: try required(layout, "--layout")) else {
      throw invalid("--layout must be triton or plain")
    }
    guard let format = EngineBuildRequest.ModelFormat(rawValue: modelFormat) else {
      throw invalid("--model-format must be onnx or tensorrt-plan")
    }
    var r = EngineBuildRequest(modelURI: try required(modelURI, "--model-uri"), precision: precision, key: try required(key, "--key"),
                               cacheDirectory: try required(cacheDir, "--cache-dir"), outputDirectory: try required(outputDir, "--output-dir"),
                               modelName: try required(modelName, "--model-name"), modelVersion: try required(modelVersion, "--model-version"),
                               layout: layout)
    r.modelDigest = modelDigest
    r.sharedCacheDirectory = sharedCacheDir
    r.modelFormat = format
    r.signatureURI = signatureURI
    r.publicKeyFile = publicKeyFile
    r.encryptionKeyFile = encryptionKeyFile
    r.calibrationURI = calibrationURI
    r.calibrationDigest = calibrationDigest
    r.dlaCore = try number(dlaCore, "--dla-core")
    r.allowGPUFallback = allowGPUFallback
    r.workspaceMiB = try number(workspaceMiB, "--workspace-mib")
    switch (minShapes, optShapes, maxShapes) {
    case (nil, nil, nil): break
    case (let min?, let opt?, let max?): r.shapes = .init(min: min, opt: opt, max: max)
    default: throw invalid("--min-shapes, --opt-shapes and --max-shapes go together")
    }
    r.maxLatencyMs = try number(maxLatencyMs, "--max-latency-ms")
    r.minThroughputQPS = try number(minThroughputQPS, "--min-throughput-qps")
    r.trtexecPath = trtexec
    r.terminationLogPath = terminationLog
    r.caFile = caFile
    try r.validate()
    return r
  }
}
