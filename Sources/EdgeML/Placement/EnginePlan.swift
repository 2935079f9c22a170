import KubeCore

/// The engine one node group needs: its compatibility key and the `edgeml engine` command line
/// that builds it (docs/edgemodel-contracts.md §2).
public struct EnginePlan: Sendable, Equatable {
  public var key: String
  public var arguments: [String]

  /// Where the init container sees things (volume mount paths in the pod template).
  public enum Paths {
    public static let cache = "/var/lib/edgeml/engines"
    public static let sharedCache = "/var/lib/edgeml/shared-engines"
    public static let models = "/models"
    public static let signatureKey = "/etc/edgeml/keys/signature"
    public static let encryptionKey = "/etc/edgeml/keys/encryption"
    public static let trtexec = "/usr/src/tensorrt/bin/trtexec"
    public static let terminationLog = "/dev/termination-log"
  }

  /// Version of the key's recipe: bump it when the inputs below change meaning, so old cache
  /// entries are never taken for new ones.
  static let keyRecipe = "edgeml.io/engine-key/v1"

  public init(spec: EdgeModelSpec, group: Placement.NodeGroup, modelName: String) {
    let engine = spec.engine
    let precision = (engine?.precision ?? .fp16).rawValue
    let workspace = engine?.workspaceMiB ?? 1024
    let fallback = engine?.allowGPUFallback ?? true
    // Everything that changes the bytes trtexec writes, and nothing else (a changed serving image
    // or replica count must not rebuild): model identity, builder options, the device and TensorRT.
    var inputs: [(String, String)] = [
      ("recipe", EnginePlan.keyRecipe),
      ("model", spec.model.digest ?? "\(spec.model.uri)@\(spec.model.version ?? "")"),
      ("format", (spec.model.format ?? .onnx).rawValue),
      ("precision", precision),
      ("calibration", engine?.calibration?.digest ?? ""),
      ("dlaCore", group.dlaCore.map(String.init) ?? "none"),
      ("gpuFallback", group.dlaCore == nil ? "n/a" : String(fallback)),
      ("workspaceMiB", String(workspace)),
      ("shapes", [engine?.shapes?.min, engine?.shapes?.opt, engine?.shapes?.max].map { $0 ?? "" }.joined(separator: ";")),
      ("tensorrt", group.tensorRT),
      ("gpuArch", group.gpuArch),
      ("module", group.module),
    ]
    if let a = engine?.acceptance {
      // The gate does not change the engine, but a node must re-measure when it changes.
      inputs.append(("acceptance", "\(a.maxLatencyMs.map { "\($0)" } ?? "")/\(a.minThroughputQPS.map { "\($0)" } ?? "")"))
    }
    key = "sha256:" + sha256Hex(inputs.map { "\($0.0)=\($0.1)" }.joined(separator: "\n"))

    var args = ["--model-uri", spec.model.uri]
    if let d = spec.model.digest { args += ["--model-digest", d] }
    if let f = spec.model.format { args += ["--model-format", f.rawValue] }
    // Only when set: a default here would change every existing model's pod template (and roll
    // every serving pod) on an operator upgrade; the engine's own default is the same 4Gi.
    if let limit = spec.model.sizeLimit.flatMap(EnginePlan.bytes) { args += ["--max-fetch-bytes", String(limit)] }
    if let s = spec.model.signature {
      args += ["--signature-uri", s.uri, "--public-key-file", "\(Paths.signatureKey)/\(s.publicKeySecretRef.key)"]
    }
    if let e = spec.model.encryption { args += ["--encryption-key-file", "\(Paths.encryptionKey)/\(e.keySecretRef.key)"] }
    if let c = engine?.calibration { args += ["--calibration-uri", c.uri, "--calibration-digest", c.digest] }
    args += ["--precision", precision]
    if let dla = group.dlaCore {
      args += ["--dla-core", String(dla)]
      if fallback { args.append("--allow-gpu-fallback") }
    }
    args += ["--workspace-mib", String(workspace)]
    if let s = engine?.shapes, let min = s.min, let opt = s.opt, let max = s.max {
      args += ["--min-shapes", min, "--opt-shapes", opt, "--max-shapes", max]
    }
    args += ["--key", key, "--cache-dir", Paths.cache]
    if engine?.cache?.sharedClaimName != nil { args += ["--shared-cache-dir", Paths.sharedCache] }
    args += ["--output-dir", Paths.models, "--model-name", modelName,
             "--model-version", EnginePlan.tritonVersion(spec.model.version),
             "--layout", (spec.serving.modelRepositoryLayout ?? .triton).rawValue]
    if let a = engine?.acceptance {
      if let l = a.maxLatencyMs { args += ["--max-latency-ms", "\(l)"] }
      if let q = a.minThroughputQPS { args += ["--min-throughput-qps", "\(q)"] }
    }
    args += ["--trtexec", Paths.trtexec, "--termination-log", Paths.terminationLog]
    arguments = args
  }

  /// Triton serves numerically named version directories only, and ignores names starting with 0
  /// (shared/reference/jetson/triton.md §1): a version like "3" is used as is, anything else as 1.
  static func tritonVersion(_ version: String?) -> String {
    guard let v = version, !v.isEmpty, !v.hasPrefix("0"), v.allSatisfy({ $0.isASCII && $0.isNumber }), v.count <= 9 else { return "1" }
    return v
  }

  /// A quantity as whole bytes (rounded up), or nil when it is not a positive quantity.
  static func bytes(_ value: IntOrString) -> Int? {
    switch value {
    case .int(let n): return n > 0 ? n : nil
    case .string(let text):
      guard let q = try? Quantity(parsing: text), !q.isZero else { return nil }
      let d = q.doubleValue.rounded(.up)
      return d > 0 && d < Double(Int.max) ? Int(d) : nil
    }
  }
}
