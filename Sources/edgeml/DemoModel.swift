import Crypto
import Foundation

/// A small ONNX model for the demo, written as protobuf bytes (field numbers from onnx/onnx.proto:
/// ModelProto.ir_version 1, graph 7, opset_import 8; GraphProto.node 1, name 2, input 11, output 12;
/// ValueInfoProto.name 1; NodeProto.input 1, output 2, op_type 4; OperatorSetIdProto.version 2).
/// Real models are megabytes of weights; this one is a graph with one Relu, enough for the
/// `trtexec` double, which reads the graph's inputs as the real parser would.
enum DemoModel {
  static func bytes(version: String) -> [UInt8] {
    let node = field(1, "images") + field(2, "output0") + field(4, "Relu")
    var graph = field(1, node) + field(2, "detector-v\(version)")
    graph += field(11, field(1, "images")) + field(12, field(1, "output0"))
    return varintField(1, 8) + field(7, graph) + field(8, varintField(2, 17))
  }

  /// Writes the model under `directory` and returns its `file://` URI and `sha256:` digest.
  static func write(version: String, to directory: URL) throws -> (uri: String, digest: String) {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent("detector-v\(version).onnx")
    let data = bytes(version: version)
    try Data(data).write(to: url, options: .atomic)
    let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    return ("file://" + url.path, "sha256:" + digest)
  }

  private static func varint(_ value: Int) -> [UInt8] {
    var n = UInt64(value)
    var out: [UInt8] = []
    repeat {
      var byte = UInt8(n & 0x7f)
      n >>= 7
      if n != 0 { byte |= 0x80 }
      out.append(byte)
    } while n != 0
    return out
  }
  private static func varintField(_ number: Int, _ value: Int) -> [UInt8] { varint(number << 3) + varint(value) }
  private static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] { varint(number << 3 | 2) + varint(payload.count) + payload }
  private static func field(_ number: Int, _ text: String) -> [UInt8] { field(number, Array(text.utf8)) }
}
