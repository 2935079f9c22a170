import EngineBuilder
import Foundation
import Logging

/// The EdgeModel init container's flags and run — fetch, verify, decrypt, build with trtexec,
/// cache, lay out (docs/edgemodel-contracts.md §2) — shared by `edgeml-engine` (what pods run) and
/// `edgeml engine`.
///
/// The command line is parsed here, not by ArgumentParser: it is read once per pod start, and
/// ArgumentParser's reflection took about 3.7 ms of CPU per process for a command of 30 options
/// (a static release build doing nothing else: 4.9 ms against 1.2 ms, `perf stat`). The grammar is
/// `--flag value`, `--flag=value` and the one boolean `--allow-gpu-fallback`; a repeated option
/// keeps its last value. Every value a user can get wrong is a plain string checked in `run`, and
/// unknown or incomplete arguments are collected rather than rejected while parsing, so bad input
/// always ends with a termination message (`reason: InvalidArguments`) and exit status 2.
public struct EngineOptions: Sendable {
  public static let abstract = "Put a TensorRT engine for one EdgeModel in place on this node (init container)."

  var modelURI: String?
  var modelDigest: String?
  var modelFormat: String?
  var signatureURI: String?
  var publicKeyFile: String?
  var encryptionKeyFile: String?
  var calibrationURI: String?
  var calibrationDigest: String?
  var precision: String?
  var dlaCore: String?
  var workspaceMiB: String?
  var minShapes: String?
  var optShapes: String?
  var maxShapes: String?
  var key: String?
  var cacheDir: String?
  var sharedCacheDir: String?
  var outputDir: String?
  var modelName: String?
  var modelVersion: String?
  var layout: String?
  var maxLatencyMs: String?
  var minThroughputQPS: String?
  var trtexec: String?
  var terminationLog: String?
  var caFile: String?
  var maxFetchBytes: String?
  var allowGPUFallback = false
  /// Arguments that are not flags of this program.
  var unrecognized: [String] = []
  /// A value option that ended the command line without its value.
  var missingValue: String?

  struct Option: Sendable {
    var flag: String
    var field: WritableKeyPath<EngineOptions, String?> & Sendable
    var help: String
    init(_ flag: String, _ field: WritableKeyPath<EngineOptions, String?> & Sendable, _ help: String) {
      self.flag = flag; self.field = field; self.help = help
    }
  }

  /// The value options, in the order `--help` lists them.
  static let options: [Option] = [
    Option("--model-uri", \.modelURI, "file://, https://, s3://, oci:// or mlflow:// URI of the model."),
    Option("--model-digest", \.modelDigest, "sha256:HEX of the model as fetched."),
    Option("--model-format", \.modelFormat, "onnx | tensorrt-plan (default onnx)."),
    Option("--signature-uri", \.signatureURI, "URI of the Ed25519 detached signature over the fetched model."),
    Option("--public-key-file", \.publicKeyFile, "Ed25519 public key: 32 raw bytes, base64, or PEM."),
    Option("--encryption-key-file", \.encryptionKeyFile, "AES-256-GCM key: 32 raw bytes or base64."),
    Option("--calibration-uri", \.calibrationURI, "URI of the INT8 calibration cache."),
    Option("--calibration-digest", \.calibrationDigest, "sha256:HEX of the calibration cache."),
    Option("--precision", \.precision, "fp32 | fp16 | int8 | best."),
    Option("--dla-core", \.dlaCore, "DLA core to build for."),
    Option("--workspace-mib", \.workspaceMiB, "Builder workspace in MiB."),
    Option("--min-shapes", \.minShapes, "name:AxBxC[,…] minimum shapes."),
    Option("--opt-shapes", \.optShapes, "name:AxBxC[,…] optimum shapes."),
    Option("--max-shapes", \.maxShapes, "name:AxBxC[,…] maximum shapes."),
    Option("--key", \.key, "sha256:HEX engine compatibility key (names the cache files)."),
    Option("--cache-dir", \.cacheDir, "Node engine cache directory."),
    Option("--shared-cache-dir", \.sharedCacheDir, "Engine cache shared by the nodes of a node group (a ReadWriteMany volume)."),
    Option("--output-dir", \.outputDir, "Model repository directory shared with the serving container."),
    Option("--model-name", \.modelName, "Model name (Triton model directory)."),
    Option("--model-version", \.modelVersion, "Model version (Triton version directory)."),
    Option("--layout", \.layout, "triton | plain."),
    Option("--max-latency-ms", \.maxLatencyMs, "Acceptance gate: trtexec's mean latency must not exceed this."),
    Option("--min-throughput-qps", \.minThroughputQPS, "Acceptance gate: trtexec's throughput must reach this."),
    Option("--trtexec", \.trtexec, "The trtexec binary (default /usr/src/tensorrt/bin/trtexec)."),
    Option("--termination-log", \.terminationLog, "Where the result JSON goes (default /dev/termination-log when it exists)."),
    Option("--ca-file", \.caFile, "PEM CA bundle for https:// and registry endpoints instead of the system roots."),
    Option("--max-fetch-bytes", \.maxFetchBytes, "The most bytes one fetch may write (default 4 GiB); more fails the build."),
  ]
  static let gpuFallbackFlag = "--allow-gpu-fallback"
  static let gpuFallbackHelp = "Let layers the DLA lacks run on the GPU."

  public init() {}

  /// What a command line asks for: the usage text, or a build.
  public enum Parsed: Sendable {
    case help
    case run(EngineOptions)
    /// `--install-to DIR`: copy this program for an init container of another image (`ToolsInstaller`).
    case install(String)
  }

  static let installFlag = "--install-to"

  /// Reads a command line (without the program name).
  public static func parse(_ arguments: [String]) -> Parsed {
    if arguments.count == 2, arguments[0] == installFlag { return .install(arguments[1]) }
    var o = EngineOptions()
    var i = 0
    while i < arguments.count {
      let word = arguments[i]
      i += 1
      if word == "--help" || word == "-h" { return .help }
      if word == gpuFallbackFlag { o.allowGPUFallback = true; continue }
      let (flag, inline) = split(word)
      guard let option = options.first(where: { $0.flag == flag }) else { o.unrecognized.append(word); continue }
      if let inline {
        o[keyPath: option.field] = inline
      } else if i < arguments.count, !isFlag(arguments[i]) {
        o[keyPath: option.field] = arguments[i]
        i += 1
      } else {
        // Like ArgumentParser: a flag of this program is never taken as another flag's value.
        o.missingValue = o.missingValue ?? flag
      }
    }
    return .run(o)
  }

  /// `--flag=value` → ("--flag", "value"); anything else → (word, nil).
  private static func split(_ word: String) -> (String, String?) {
    guard word.hasPrefix("--"), let eq = word.firstIndex(of: "=") else { return (word, nil) }
    return (String(word[..<eq]), String(word[word.index(after: eq)...]))
  }

  /// Whether `word` is one of this program's flags (with or without `=value`).
  private static func isFlag(_ word: String) -> Bool {
    let flag = split(word).0
    return flag == "--help" || flag == "-h" || flag == gpuFallbackFlag || options.contains { $0.flag == flag }
  }

  /// The `--help` text.
  public static func usage(program: String) -> String {
    let rows = options.map { ($0.flag + " <value>", $0.help) } + [(gpuFallbackFlag, gpuFallbackHelp),
      (installFlag + " <dir>", "Alone: copy this program, its loader, libraries and CA bundle into <dir> for another image's init container."),
      ("-h, --help", "Show this help.")]
    let width = rows.map(\.0.count).max() ?? 0
    let lines = rows.map { "  " + $0.0 + String(repeating: " ", count: width - $0.0.count + 2) + $0.1 }
    return "OVERVIEW: \(abstract)\n\nUSAGE: \(program) --model-uri <uri> --precision <p> --key <key> --cache-dir <dir> --output-dir <dir> --model-name <name> --model-version <v> --layout <layout> [options]\n\nOPTIONS:\n" + lines.joined(separator: "\n") + "\n"
  }

  /// Copies this program, its loader, libraries and CA bundle into `directory`; the exit status.
  public static func install(to directory: String, program: String) -> Int32 {
    do {
      let installed = try ToolsInstaller.install(to: directory)
      print("\(program): installed \(installed.executable) with \(installed.libraries.count) libraries; run it as " +
            "\(installed.loader) --library-path \(directory)/lib \(installed.executable) [options]")
      return 0
    } catch {
      FileHandle.standardError.write(Data("\(program): \(error.message)\n".utf8))
      return 1
    }
  }

  /// Runs the init container's work and returns the exit status; `program` names the command in error lines.
  public func run(program: String) async -> Int32 {
    var logger = Logger(label: "edgeml.engine")
    logger.logLevel = .info
    let termination = terminationLog ?? (FileManager.default.fileExists(atPath: "/dev/termination-log") ? "/dev/termination-log" : nil)
    let request: EngineBuildRequest
    do throws(EngineBuildError) {
      request = try makeRequest(terminationLog: termination)
    } catch {
      let result = EngineBuildResult(key: key ?? "", outcome: .failed(error))
      FileHandle.standardError.write(Data("\(program): \(error.message)\n".utf8))
      if let termination { try? result.writeTerminationMessage(to: termination) }
      return result.exitCode
    }
    // Stopped by the kubelet (pod deleted, node drained): no scratch, decrypted model or trtexec left behind.
    let key = request.key
    BuildInterruption.install { signal in
      let error = EngineBuildError(.buildFailed, "interrupted by signal \(signal) (the pod was stopped): trtexec stopped, partial files removed")
      FileHandle.standardError.write(Data("\(program): \(error.message)\n".utf8))
      if let termination { try? EngineBuildResult(key: key, outcome: .failed(error)).writeTerminationMessage(to: termination) }
    }
    let result = await EngineBuilder(request: request, logger: logger).run()
    print(result.json.serializedString())
    return result.exitCode
  }

  /// Turns the strings of the command line into a request; every problem is `InvalidArguments`.
  func makeRequest(terminationLog: String?) throws(EngineBuildError) -> EngineBuildRequest {
    func invalid(_ message: String) -> EngineBuildError { EngineBuildError(.invalidArguments, message) }
    if let first = unrecognized.first { throw invalid("unknown argument \(first)") }
    if let flag = missingValue { throw invalid("\(flag) needs a value") }
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
    guard let format = EngineBuildRequest.ModelFormat(rawValue: modelFormat ?? "onnx") else {
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
    r.trtexecPath = trtexec ?? "/usr/src/tensorrt/bin/trtexec"
    r.terminationLogPath = terminationLog
    r.caFile = caFile
    if let limit: Int = try number(maxFetchBytes, "--max-fetch-bytes") { r.maxFetchBytes = limit }
    try r.validate()
    return r
  }
}
