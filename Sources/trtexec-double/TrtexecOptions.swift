/// The options of one trtexec run, parsed the way the modelled TensorRT release parses them.
///
/// Flag names and meanings: trtexec.md §1 (`sampleOptions.cpp` help @v10.3.0). What each release
/// accepts, warns about or no longer knows (trtexec.md §2; `sampleOptions.cpp` at each tag):
///
/// | flag | 8.5.2 | 8.6.x | 10.x |
/// |---|---|---|---|
/// | `--workspace=N` | warns "--workspace flag has been deprecated by --memPoolSize flag." (8.5.2 l.793) | same (8.6.1 l.891) | unknown option |
/// | `--explicitBatch` | warns "--explicitBatch flag has been deprecated and has no effect!" (8.5.2 l.767) | same (8.6.1 l.865) | unknown option |
/// | `--buildOnly` | accepted silently, skips inference (8.5.2 l.849, trtexec.cpp l.249-255) | warns "--buildOnly flag has been deprecated by --skipInference flag." (8.6.1 l.966) | unknown option |
/// | `--skipInference` | unknown option | accepted (8.6.1 l.968) | accepted (v10.3.0 l.1259) |
/// | `--fp8` | unknown option | accepted (8.6.1 l.954) | accepted |
/// | `--bf16`, `--stronglyTyped` | unknown option | unknown option | accepted (v10.3.0 l.1227-1231) |
///
/// `--memPoolSize=pool:size[,…]`: size in MiB unless suffixed (`K`, `M`, `G`, base 2); pools
/// `workspace dlaSRAM dlaLocalDRAM dlaGlobalDRAM tacticSharedMem`; errors "Unknown memory pool: X"
/// and "Negative memory pool size: X" (v10.3.0 l.1123-1175). Shapes: `name:AxBxC[,name:…]`, the name
/// being everything before the last `:` (`splitNameAndValue`, l.267); a dimension that is not an
/// integer throws from `std::stoi`, reported as "stoi conversion failure: failed to parse
/// minShapes/optShapes/maxShapes. Please double check your input string." (l.1080-1084).
struct TrtexecOptions {
  var onnx: String?
  var loadEngine: String?
  var saveEngine: String?
  var fp16 = false
  var int8 = false
  var best = false
  var bf16 = false
  var fp8 = false
  var calib: String?
  var dlaCore: Int?
  var allowGPUFallback = false
  var workspaceMiB: Double?
  var minShapes: [(String, [Int])] = []
  var optShapes: [(String, [Int])] = []
  var maxShapes: [(String, [Int])] = []
  var timingCacheFile: String?
  var skipInference = false
  var verbose = false
  /// Deprecation warnings to print after parsing, in order.
  var warnings: [String] = []

  /// An option with a value trtexec rejects (`std::invalid_argument`): help, then `[E] <message>`.
  struct InvalidArgument: Error { var message: String }

  /// Takes every option this release knows out of `arguments`; what remains is unknown.
  static func parse(_ arguments: inout ArgumentMap, version v: TensorRTVersion) throws(InvalidArgument) -> TrtexecOptions {
    var o = TrtexecOptions()
    o.onnx = arguments.take("--onnx")
    o.loadEngine = arguments.take("--loadEngine")
    o.saveEngine = arguments.take("--saveEngine")
    if v.major < 10, arguments.takeFlag("--explicitBatch") {
      o.warnings.append("--explicitBatch flag has been deprecated and has no effect!")
    }
    do {
      o.minShapes = try shapes(arguments.take("--minShapes"))
      o.optShapes = try shapes(arguments.take("--optShapes"))
      o.maxShapes = try shapes(arguments.take("--maxShapes"))
    } catch {
      throw InvalidArgument(message: "stoi conversion failure: failed to parse minShapes/optShapes/maxShapes. Please double check your input string.")
    }
    if v.major < 10, let w = arguments.take("--workspace") {
      o.warnings.append("--workspace flag has been deprecated by --memPoolSize flag.")
      guard let mib = Double(w) else { throw InvalidArgument(message: "stod") }
      o.workspaceMiB = mib
    }
    if let pools = arguments.take("--memPoolSize") {
      for spec in pools.split(separator: ",", omittingEmptySubsequences: true) {
        guard let colon = spec.lastIndex(of: ":"),
              let size = mebibytes(String(spec[spec.index(after: colon)...])) else {
          throw InvalidArgument(message: "stod conversion failure: failed to parse --memPoolSize. Please double check your input string.")
        }
        let name = String(spec[..<colon])
        guard size >= 0 else { throw InvalidArgument(message: "Negative memory pool size: \(size)") }
        switch name {
        case "workspace": o.workspaceMiB = size
        case "dlaSRAM", "dlaLocalDRAM", "dlaGlobalDRAM", "tacticSharedMem": break
        default: throw InvalidArgument(message: "Unknown memory pool: \(name)")
        }
      }
    }
    o.best = arguments.takeFlag("--best")
    o.fp16 = arguments.takeFlag("--fp16")
    o.int8 = arguments.takeFlag("--int8")
    _ = arguments.takeFlag("--noTF32")
    if v.major >= 10 {
      o.bf16 = arguments.takeFlag("--bf16")
      _ = arguments.takeFlag("--stronglyTyped")
    }
    if v >= .v(8, 6) { o.fp8 = arguments.takeFlag("--fp8") }
    if o.best { o.fp16 = true; o.int8 = true }   // "--best" turns on int8 and fp16 (trtexec.md §1)
    o.allowGPUFallback = arguments.takeFlag("--allowGPUFallback")
    if v < .v(8, 6) {
      o.skipInference = arguments.takeFlag("--buildOnly")
    } else if v.major < 10 {
      if arguments.takeFlag("--buildOnly") {
        o.skipInference = true
        o.warnings.append("--buildOnly flag has been deprecated by --skipInference flag.")
      }
    }
    if v >= .v(8, 6), arguments.takeFlag("--skipInference") { o.skipInference = true }
    o.calib = arguments.take("--calib")
    o.timingCacheFile = arguments.take("--timingCacheFile")
    if let core = arguments.take("--useDLACore") {
      guard let n = Int(core) else { throw InvalidArgument(message: "stoi") }
      o.dlaCore = n >= 0 ? n : nil
    }
    _ = arguments.take("--shapes")
    o.verbose = arguments.takeFlag("--verbose")
    return o
  }

  private struct BadShape: Error {}

  private static func shapes(_ text: String?) throws -> [(String, [Int])] {
    guard let text, !text.isEmpty else { return [] }
    return try text.split(separator: ",").map { spec in
      guard let colon = spec.lastIndex(of: ":") else { throw BadShape() }
      let name = spec[..<colon].replacingOccurrences(of: "'", with: "")
      let dimsText = spec[spec.index(after: colon)...]
      if dimsText == "scalar" { return (name, []) }
      let dims = try dimsText.split(separator: "x", omittingEmptySubsequences: false).map { d -> Int in
        guard let n = Int(d) else { throw BadShape() }
        return n
      }
      return (name, dims)
    }
  }

  /// `addDefaultUnitSuffixIfNotSpecified(…, 'M')` then base-2 units, in MiB.
  private static func mebibytes(_ text: String) -> Double? {
    var number = text
    var scale = 1.0
    if let last = text.last, "KMG".contains(last) {
      number = String(text.dropLast())
      scale = last == "K" ? 1.0 / 1024 : last == "M" ? 1 : 1024
    }
    return Double(number).map { $0 * scale }
  }

  /// The precision the builder ends up with, as recorded in the engine header.
  ///
  /// On a DLA core without `--int8` trtexec turns FP16 on (v10.3.0 `sampleEngines.cpp` l.1140-1143).
  var precision: String {
    var p = ["fp32"]
    if fp16 || (dlaCore != nil && !int8) { p.append("fp16") }
    if bf16 { p.append("bf16") }
    if int8 { p.append("int8") }
    if fp8 { p.append("fp8") }
    return p.joined(separator: "+")
  }
}
