/// What the double needs from an ONNX model: its graph inputs and the operator types of its nodes.
///
/// A minimal protobuf (proto3 wire format) reader over `onnx.proto`'s field numbers:
/// `ModelProto.graph = 7`; `GraphProto.node = 1`, `initializer = 5`, `input = 11`;
/// `NodeProto.op_type = 4`; `TensorProto.name = 8`; `ValueInfoProto.name = 1`, `type = 2`;
/// `TypeProto.tensor_type = 1`; `TypeProto.Tensor.elem_type = 1`, `shape = 2`;
/// `TensorShapeProto.dim = 1`; `Dimension.dim_value = 1`, `dim_param = 2` (onnx/onnx `onnx/onnx.proto`).
/// Anything that is not well-formed protobuf, or a model without a graph that has at least one
/// input, is "not parseable" — the double then prints the parser's failure tail.
/// Initializers listed among the inputs (ONNX IR < 4 did that) are not network inputs, as in
/// onnx-tensorrt's `importInputs`.
struct ONNXModel {
  struct Input: Equatable {
    var name: String
    /// ONNX `TensorProto.DataType` (1 = FLOAT, 10 = FLOAT16, 7 = INT64, …); 0 when absent.
    var elementType: Int
    /// Dimensions; `nil` for a symbolic (`dim_param`) or missing dimension.
    var dims: [Int?]
    var isDynamic: Bool { dims.contains { ($0 ?? 0) <= 0 } }
  }
  var inputs: [Input]
  var operatorTypes: [String]

  init?(bytes: [UInt8]) {
    guard let model = try? ProtoReader.fields(bytes[...]),
          let graphBytes = model.last(where: { $0.number == 7 })?.bytes,
          let graph = try? ProtoReader.fields(graphBytes)
    else { return nil }
    var initializers = Set<String>()
    var inputs: [Input] = []
    var ops: [String] = []
    do {
      for field in graph {
        switch (field.number, field.bytes) {
        case (1, let node?):
          let op = try ProtoReader.fields(node).last { $0.number == 4 }?.bytes
          ops.append(op.map { String(decoding: $0, as: UTF8.self) } ?? "")
        case (5, let tensor?):
          if let name = try ProtoReader.fields(tensor).last(where: { $0.number == 8 })?.bytes {
            initializers.insert(String(decoding: name, as: UTF8.self))
          }
        case (11, let valueInfo?):
          inputs.append(try ONNXModel.input(valueInfo))
        default: continue
        }
      }
    } catch { return nil }
    self.inputs = inputs.filter { !initializers.contains($0.name) }
    self.operatorTypes = ops
    guard !self.inputs.isEmpty else { return nil }
  }

  private static func input(_ bytes: ArraySlice<UInt8>) throws -> Input {
    let fields = try ProtoReader.fields(bytes)
    let name = fields.last { $0.number == 1 }?.bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
    var elementType = 0
    var dims: [Int?] = []
    if let type = fields.last(where: { $0.number == 2 })?.bytes,
       let tensor = try ProtoReader.fields(type).last(where: { $0.number == 1 })?.bytes {
      let tensorFields = try ProtoReader.fields(tensor)
      elementType = Int(tensorFields.last { $0.number == 1 }?.varint ?? 0)
      if let shape = tensorFields.last(where: { $0.number == 2 })?.bytes {
        for dim in try ProtoReader.fields(shape) where dim.number == 1 {
          guard let dimBytes = dim.bytes else { continue }
          let value = try ProtoReader.fields(dimBytes).last { $0.number == 1 }?.varint
          dims.append(value.map { Int(Int64(bitPattern: $0)) })
        }
      }
    }
    return Input(name: name, elementType: elementType, dims: dims)
  }
}

/// Protobuf wire-format decoding, one message level at a time.
enum ProtoReader {
  struct Field {
    var number: Int
    /// The value of a varint field.
    var varint: UInt64?
    /// The payload of a length-delimited field.
    var bytes: ArraySlice<UInt8>?
  }
  struct Malformed: Error {}

  /// Splits one message into its fields; throws on anything that is not well-formed.
  static func fields(_ bytes: ArraySlice<UInt8>) throws(Malformed) -> [Field] {
    var fields: [Field] = []
    var i = bytes.startIndex
    while i < bytes.endIndex {
      let key = try varint(bytes, &i)
      let number = Int(key >> 3)
      guard number > 0, number < (1 << 29) else { throw Malformed() }
      switch key & 7 {
      case 0: fields.append(Field(number: number, varint: try varint(bytes, &i)))
      case 1:
        guard bytes.endIndex - i >= 8 else { throw Malformed() }
        i += 8
        fields.append(Field(number: number))
      case 2:
        let length = try varint(bytes, &i)
        guard length <= UInt64(bytes.endIndex - i) else { throw Malformed() }
        let end = i + Int(length)
        fields.append(Field(number: number, bytes: bytes[i..<end]))
        i = end
      case 5:
        guard bytes.endIndex - i >= 4 else { throw Malformed() }
        i += 4
        fields.append(Field(number: number))
      default: throw Malformed()   // groups (3, 4) are not used by onnx.proto; 6 and 7 do not exist
      }
    }
    return fields
  }

  static func varint(_ bytes: ArraySlice<UInt8>, _ i: inout Int) throws(Malformed) -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard i < bytes.endIndex, shift < 64 else { throw Malformed() }
      let byte = bytes[i]
      i += 1
      result |= UInt64(byte & 0x7f) << shift
      if byte & 0x80 == 0 { return result }
      shift += 7
    }
  }
}
