import Foundation

/// The double's serialized engine ("plan"): a header that says what it was built for, then a body.
///
/// Layout: the line `EDGEML-TRTEXEC-DOUBLE-PLAN 1\n`, one line of JSON (the `Header`), then the
/// body. A real plan is opaque, but TensorRT refuses a plan from another TensorRT version or
/// another compute capability (trtexec.md §4); the header carries exactly what that check needs.
/// The body is derived deterministically from the ONNX bytes and the build options (FNV-1a seed,
/// xorshift stream), so equal inputs give byte-identical plans. Its size is a few times the ONNX
/// size — 4× at FP32, 3× at FP16, 2× with INT8 — plus 16 KiB of "kernels", so even a tiny fixture
/// gives a plan of plausible shape.
struct EngineFile {
  static let magic = "EDGEML-TRTEXEC-DOUBLE-PLAN 1\n"

  struct Header: Codable, Equatable {
    /// `major.minor.patch.build` of the TensorRT that built it.
    var tensorrt: String
    /// Compute capability, e.g. `8.7`.
    var compute: String
    var precision: String
    /// DLA core, -1 for the GPU.
    var dlaCore: Int
    /// `name: [min, opt, max]` dims of each graph input.
    var shapes: [String: [[Int]]]
    var inputs: [String]
    /// The modelled mean inference latency, so a loaded plan times like the built one.
    var latencyMs: Double
  }

  var header: Header
  var body: [UInt8]

  var bytes: [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    let json = (try? encoder.encode(header)) ?? Data()
    return Array(EngineFile.magic.utf8) + Array(json) + [0x0a] + body
  }

  /// Reads a plan; `nil` when the bytes are not a plan of this double.
  static func read(_ bytes: [UInt8]) -> EngineFile? {
    let magic = Array(EngineFile.magic.utf8)
    guard bytes.count > magic.count, Array(bytes[0..<magic.count]) == magic,
          let end = bytes[magic.count...].firstIndex(of: 0x0a),
          let header = try? JSONDecoder().decode(Header.self, from: Data(bytes[magic.count..<end]))
    else { return nil }
    return EngineFile(header: header, body: Array(bytes[(end + 1)...]))
  }

  /// The body for one build: deterministic in the model bytes and the options.
  static func body(model: [UInt8], options: String, precision: String) -> [UInt8] {
    var seed: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a 64 offset basis
    for byte in model + Array(options.utf8) {
      seed ^= UInt64(byte)
      seed &*= 0x0000_0100_0000_01b3
    }
    let factor = precision.contains("int8") ? 2 : precision.contains("fp16") ? 3 : 4
    let count = model.count * factor + 16 * 1024
    var out = [UInt8]()
    out.reserveCapacity(count)
    var state = seed | 1
    while out.count < count {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      withUnsafeBytes(of: state.littleEndian) { out.append(contentsOf: $0.prefix(count - out.count)) }
    }
    return out
  }
}
