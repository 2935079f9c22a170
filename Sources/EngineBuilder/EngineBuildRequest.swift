/// Everything one `edgeml engine` run is asked to do (docs/edgemodel-contracts.md §2).
///
/// A value: the command line fills it in, `validate()` checks it before anything touches the disk
/// or the network, and `EngineBuilder` carries it out.
public struct EngineBuildRequest: Sendable, Equatable {
  /// What the model URI points at.
  public enum ModelFormat: String, Sendable, CaseIterable {
    /// An ONNX model: built into a plan with `trtexec`.
    case onnx
    /// A prebuilt TensorRT plan: verified, cached and laid out as it is, no build.
    case tensorRTPlan = "tensorrt-plan"
  }

  /// The precision `trtexec` builds at (`--fp16`, `--int8`, `--best`; none for fp32).
  public enum Precision: String, Sendable, CaseIterable { case fp32, fp16, int8, best }

  /// How the plan is laid out for the serving container.
  public enum Layout: String, Sendable, CaseIterable {
    /// `<output>/<name>/config.pbtxt` and `<output>/<name>/<version>/model.plan`.
    case triton
    /// `<output>/model.plan`.
    case plain
  }

  /// One optimization profile: `name:AxBxC[,name:…]` for each of min, opt and max.
  public struct Shapes: Sendable, Equatable {
    public var min: String
    public var opt: String
    public var max: String
    public init(min: String, opt: String, max: String) { self.min = min; self.opt = opt; self.max = max }
  }

  public var modelURI: String
  /// `sha256:<64 hex>`; may be absent only when the source pins a digest itself.
  public var modelDigest: String?
  public var modelFormat: ModelFormat = .onnx
  public var signatureURI: String?
  public var publicKeyFile: String?
  public var encryptionKeyFile: String?
  public var calibrationURI: String?
  public var calibrationDigest: String?
  public var precision: Precision
  public var dlaCore: Int?
  public var allowGPUFallback = false
  public var workspaceMiB: Int?
  public var shapes: Shapes?
  /// `sha256:<64 hex>`: the engine's compatibility key, computed by the controller.
  public var key: String
  public var cacheDirectory: String
  /// A cache the nodes of a node group share (a ReadWriteMany volume): consulted after the node
  /// cache, and where builds of the group serialise (docs/edgemodel-contracts.md §2).
  public var sharedCacheDirectory: String?
  public var outputDirectory: String
  public var modelName: String
  public var modelVersion: String
  public var layout: Layout
  public var maxLatencyMs: Double?
  public var minThroughputQPS: Double?
  public var trtexecPath = "/usr/src/tensorrt/bin/trtexec"
  public var terminationLogPath: String?
  /// A PEM CA bundle trusted for `https://` (and the registries' endpoints) instead of the system roots.
  public var caFile: String?
  /// The most bytes one fetch (model, signature, calibration cache) may write.
  public var maxFetchBytes = FetchContext.defaultMaxBytes

  public init(modelURI: String, precision: Precision, key: String, cacheDirectory: String, outputDirectory: String,
              modelName: String, modelVersion: String, layout: Layout) {
    self.modelURI = modelURI
    self.precision = precision
    self.key = key
    self.cacheDirectory = cacheDirectory
    self.outputDirectory = outputDirectory
    self.modelName = modelName
    self.modelVersion = modelVersion
    self.layout = layout
  }

  /// The 64 hex digits of `key`, which name the cache files.
  public var keyHex: String { String(key.dropFirst("sha256:".count)) }

  /// Whether an acceptance gate asks for trtexec's timing.
  public var hasAcceptanceGate: Bool { maxLatencyMs != nil || minThroughputQPS != nil }

  /// Checks the combination of arguments; every failure is `InvalidArguments`.
  ///
  /// The model name must be a directory name Triton accepts, and with the Triton layout the version
  /// must be a positive integer without a leading zero: Triton ignores version directories "that are
  /// not numerically named, or have names that start with the character "0"" (shared/reference/jetson/
  /// triton.md §1, model_repository.md).
  public func validate() throws(EngineBuildError) {
    func invalid(_ message: String) -> EngineBuildError { EngineBuildError(.invalidArguments, message) }
    guard EngineBuildRequest.isSHA256(key) else { throw invalid("--key must be sha256: followed by 64 lower-case hex digits") }
    if let modelDigest, !EngineBuildRequest.isSHA256(modelDigest) {
      throw invalid("--model-digest must be sha256: followed by 64 lower-case hex digits")
    }
    guard modelURI.contains("://") else { throw invalid("--model-uri must be a URI with a scheme (file://, https://, s3://, oci://, mlflow://)") }
    guard (signatureURI == nil) == (publicKeyFile == nil) else {
      throw invalid("--signature-uri and --public-key-file go together")
    }
    guard (calibrationURI == nil) == (calibrationDigest == nil) else {
      throw invalid("--calibration-uri and --calibration-digest go together")
    }
    if let calibrationDigest, !EngineBuildRequest.isSHA256(calibrationDigest) {
      throw invalid("--calibration-digest must be sha256: followed by 64 lower-case hex digits")
    }
    if calibrationURI != nil && precision != .int8 && precision != .best {
      throw invalid("--calibration-uri needs --precision int8 or best")
    }
    if let dlaCore, dlaCore < 0 { throw invalid("--dla-core must be 0 or more") }
    if allowGPUFallback && dlaCore == nil { throw invalid("--allow-gpu-fallback needs --dla-core") }
    if let workspaceMiB, workspaceMiB <= 0 { throw invalid("--workspace-mib must be positive") }
    if maxFetchBytes <= 0 { throw invalid("--max-fetch-bytes must be positive") }
    if let shapes {
      for spec in [shapes.min, shapes.opt, shapes.max] where !EngineBuildRequest.isShapeSpec(spec) {
        throw invalid("shape spec \(spec) is not name:AxBxC[,name:AxBxC…]")
      }
    }
    if let maxLatencyMs, !(maxLatencyMs > 0 && maxLatencyMs.isFinite) { throw invalid("--max-latency-ms must be positive") }
    if let minThroughputQPS, !(minThroughputQPS > 0 && minThroughputQPS.isFinite) { throw invalid("--min-throughput-qps must be positive") }
    guard !modelName.isEmpty, modelName.utf8.count <= 253,
          modelName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
          modelName != ".", modelName != ".."
    else { throw invalid("--model-name must be letters, digits, '-', '_' or '.'") }
    if layout == .triton {
      guard let first = modelVersion.first, first != "0", modelVersion.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        throw invalid("--model-version must be a positive integer without leading zeros for the triton layout")
      }
    }
    for (flag, path) in [("--cache-dir", cacheDirectory), ("--output-dir", outputDirectory)] where path.isEmpty {
      throw invalid("\(flag) must not be empty")
    }
  }

  static func isSHA256(_ text: String) -> Bool {
    guard text.hasPrefix("sha256:") else { return false }
    return EngineCache.isKeyHex(text.dropFirst(7))
  }

  static func isShapeSpec(_ spec: String) -> Bool {
    !spec.isEmpty && spec.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { part in
      guard let colon = part.lastIndex(of: ":"), colon != part.startIndex else { return false }
      let dims = part[part.index(after: colon)...].split(separator: "x", omittingEmptySubsequences: false)
      return !dims.isEmpty && dims.allSatisfy { Int($0).map { $0 > 0 } ?? false }
    }
  }
}
