import Crypto
import Foundation

/// Tiny ONNX models, written as protobuf bytes by hand.
///
/// Provenance: field numbers from onnx/onnx `onnx/onnx.proto` (ModelProto.ir_version = 1,
/// graph = 7; GraphProto.node = 1, name = 2, input = 11, output = 12; NodeProto.input = 1,
/// output = 2, op_type = 4; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
/// Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1,
/// dim_param = 2). A model is one chain of nodes from one input to one output. A node whose op
/// type the DLA lacks (`NonMaxSuppression`) marks a model that cannot run on DLA without GPU
/// fallback (Sources/trtexec-double/DLASupport.swift). Regenerate by calling `ONNXFixture.model`.
enum ONNXFixture {
  enum Dim { case value(Int), param(String) }

  static func model(input: String = "images", dims: [Dim] = [.value(1), .value(3), .value(64), .value(64)],
                    ops: [String] = ["Conv", "Relu"]) -> [UInt8] {
    var graph: [UInt8] = []
    for (i, op) in ops.enumerated() {
      let from = i == 0 ? input : "t\(i)"
      let to = i == ops.count - 1 ? "output" : "t\(i + 1)"
      graph += field(1, field(1, Array(from.utf8)) + field(2, Array(to.utf8)) + field(4, Array(op.utf8)))
    }
    graph += field(2, Array("fixture".utf8))
    graph += field(11, valueInfo(input, dims))
    graph += field(12, valueInfo("output", [.value(1), .value(10)]))
    return varintField(1, 8) + field(7, graph)
  }

  static func valueInfo(_ name: String, _ dims: [Dim]) -> [UInt8] {
    let shape = dims.flatMap { d -> [UInt8] in
      switch d {
      case .value(let v): return field(1, varintField(1, UInt64(v)))
      case .param(let p): return field(1, field(2, Array(p.utf8)))
      }
    }
    let tensor = varintField(1, 1) + field(2, shape)
    return field(1, Array(name.utf8)) + field(2, field(1, tensor))
  }

  static func varint(_ value: UInt64) -> [UInt8] {
    var v = value
    var out: [UInt8] = []
    repeat {
      var byte = UInt8(v & 0x7f)
      v >>= 7
      if v != 0 { byte |= 0x80 }
      out.append(byte)
    } while v != 0
    return out
  }
  static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
    varint(UInt64(number << 3 | 2)) + varint(UInt64(payload.count)) + payload
  }
  static func varintField(_ number: Int, _ value: UInt64) -> [UInt8] { varint(UInt64(number << 3)) + varint(value) }

  static func sha256(_ bytes: [UInt8]) -> String {
    "sha256:" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
  }
}
