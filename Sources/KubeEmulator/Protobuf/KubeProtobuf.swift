import Foundation
import KubeCore

/// How a protobuf field is encoded and what JSON it becomes.
indirect enum ProtobufKind: Sendable {
  case string, bytes, bool, int32, int64, uint32, uint64, double, float, fixed64, sfixed64, fixed32, sint32, sint64
  case message(String)
  case repeated(ProtobufKind)
  case map(key: ProtobufKind, value: ProtobufKind)
}

/// One field of a message: its JSON name and kind.
struct ProtobufField: Sendable {
  let name: String
  let kind: ProtobufKind
  init(_ name: String, _ kind: ProtobufKind) { self.name = name; self.kind = kind }
}

/// The messages the emulator can decode (`ProtobufFields.swift`, generated).
enum ProtobufSchema {}

/// Why a protobuf body could not be read.
struct ProtobufError: Error, CustomStringConvertible {
  var description: String
}

/// Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON the rest of the
/// emulator works with, for the kinds `kubectl create …`, `kubectl auth can-i` and `kubectl create
/// token` send in that encoding.
///
/// The envelope is 4 magic bytes `k8s\0` and a `runtime.Unknown` (typeMeta = 1, raw = 2,
/// contentEncoding = 3, contentType = 4) whose `raw` is the object's message
/// (k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go). Messages are decoded with the
/// field numbers of the upstream `generated.proto` files; a field the table does not know is an
/// error, never silently dropped.
///
/// Go's protobuf marshaller writes non-pointer scalar fields even when zero, and Go's JSON omits
/// them (`omitempty`), so zero scalars are dropped except for the pointer fields where an explicit
/// zero means something (`replicas: 0`), listed in `keepZero`.
enum KubeProtobuf {
  static let magic: [UInt8] = [0x6B, 0x38, 0x73, 0x00]
  static let maximumDepth = 64
  static let keepZero: Set<String> = ["replicas", "parallelism", "completions", "backoffLimit", "suspend", "immutable",
                                      "automountServiceAccountToken", "value", "expirationSeconds", "minReadySeconds",
                                      "revisionHistoryLimit", "progressDeadlineSeconds", "terminationGracePeriodSeconds",
                                      "activeDeadlineSeconds", "ttlSecondsAfterFinished", "allowed", "denied", "successfulJobsHistoryLimit",
                                      "failedJobsHistoryLimit", "startingDeadlineSeconds", "gracePeriodSeconds", "orphanDependents", "readOnly"]

  /// Decodes a whole request body (magic + `runtime.Unknown`).
  static func decodeObject(_ bytes: [UInt8]) throws(ProtobufError) -> JSONValue {
    guard bytes.count >= 4, Array(bytes[0..<4]) == magic else {
      throw ProtobufError(description: "provided object is not a Kubernetes protobuf message (missing the k8s\\0 prefix)")
    }
    var reader = WireReader(bytes: Array(bytes[4...]))
    var apiVersion = "", kind = ""
    var raw: [UInt8] = []
    while !reader.isAtEnd {
      let (number, wireType) = try reader.readTag()
      switch (number, wireType) {
      case (1, 2):
        var meta = WireReader(bytes: try reader.readLengthDelimited())
        while !meta.isAtEnd {
          let (n, w) = try meta.readTag()
          if n == 1, w == 2 { apiVersion = try meta.readString() }
          else if n == 2, w == 2 { kind = try meta.readString() }
          else { try meta.skip(wireType: w) }
        }
      case (2, 2): raw = try reader.readLengthDelimited()
      case (3, 2), (4, 2): _ = try reader.readLengthDelimited()
      default: try reader.skip(wireType: wireType)
      }
    }
    let (group, version) = splitAPIVersion(apiVersion)
    guard let message = ProtobufSchema.roots["\(group)/\(version)/\(kind)"] else {
      throw ProtobufError(description: "protobuf bodies of kind \(kind.isEmpty ? "(none)" : kind) in \(apiVersion.isEmpty ? "(no apiVersion)" : apiVersion) are not supported by this emulator; send JSON or YAML")
    }
    var object = try decodeMessage(raw, message: message, depth: 0)
    guard case .object(let fields) = object else { return object }
    var out = JSONObject()
    out["apiVersion"] = .string(apiVersion)
    out["kind"] = .string(kind)
    for (k, v) in fields { out[k] = v }
    object = .object(out)
    return object
  }

  static func decodeMessage(_ bytes: [UInt8], message: String, depth: Int) throws(ProtobufError) -> JSONValue {
    guard depth < maximumDepth else { throw ProtobufError(description: "protobuf message nested too deeply") }
    var reader = WireReader(bytes: bytes)
    switch message {
    case "k8s.io.apimachinery.pkg.apis.meta.v1.Time", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime":
      var seconds: Int64 = 0, nanos: Int64 = 0
      while !reader.isAtEnd {
        let (n, w) = try reader.readTag()
        if n == 1, w == 0 { seconds = Int64(bitPattern: try reader.readVarint()) }
        else if n == 2, w == 0 { nanos = Int64(Int32(truncatingIfNeeded: try reader.readVarint())) }
        else { try reader.skip(wireType: w) }
      }
      if seconds == 0 && nanos == 0 { return .null }
      let date = Date(timeIntervalSince1970: Double(seconds) + Double(nanos) / 1e9)
      return .string(RFC3339.format(date, fractional: message.hasSuffix("MicroTime")))
    case "k8s.io.apimachinery.pkg.apis.meta.v1.Duration":
      var nanos: Int64 = 0
      while !reader.isAtEnd {
        let (n, w) = try reader.readTag()
        if n == 1, w == 0 { nanos = Int64(bitPattern: try reader.readVarint()) } else { try reader.skip(wireType: w) }
      }
      return .string(GoDuration(nanoseconds: nanos).description)
    case "k8s.io.apimachinery.pkg.api.resource.Quantity":
      var text = ""
      while !reader.isAtEnd {
        let (n, w) = try reader.readTag()
        if n == 1, w == 2 { text = try reader.readString() } else { try reader.skip(wireType: w) }
      }
      return .string(text)
    case "k8s.io.apimachinery.pkg.util.intstr.IntOrString":
      var type: UInt64 = 0, intVal: Int64 = 0, strVal = ""
      while !reader.isAtEnd {
        let (n, w) = try reader.readTag()
        switch (n, w) {
        case (1, 0): type = try reader.readVarint()
        case (2, 0): intVal = Int64(Int32(truncatingIfNeeded: try reader.readVarint()))
        case (3, 2): strVal = try reader.readString()
        default: try reader.skip(wireType: w)
        }
      }
      return type == 1 ? .string(strVal) : JSONValue(Int(intVal))
    case "k8s.io.apimachinery.pkg.runtime.RawExtension", "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1":
      var raw: [UInt8] = []
      while !reader.isAtEnd {
        let (n, w) = try reader.readTag()
        if n == 1, w == 2 { raw = try reader.readLengthDelimited() } else { try reader.skip(wireType: w) }
      }
      if raw.isEmpty { return .null }
      do { return try JSONValue(parsing: raw) } catch { throw ProtobufError(description: "embedded JSON in \(message): \(error)") }
    default:
      break
    }
    guard let fields = ProtobufSchema.messages[message] else {
      throw ProtobufError(description: "protobuf message \(message) is not supported by this emulator; send JSON or YAML")
    }
    var out = JSONObject()
    while !reader.isAtEnd {
      let (number, wireType) = try reader.readTag()
      guard number < UInt64(Int32.max), let field = fields[Int(number)] else {
        throw ProtobufError(description: "field \(number) of \(message) is not known to this emulator; send JSON or YAML")
      }
      switch field.kind {
      case .repeated(let inner):
        var list = out[field.name]?.arrayValue ?? []
        if wireType == 2, inner.isPackable {
          var packed = WireReader(bytes: try reader.readLengthDelimited())
          while !packed.isAtEnd { list.append(try readScalar(&packed, kind: inner, wireType: inner.wireType)) }
        } else {
          list.append(try readValue(&reader, kind: inner, wireType: wireType, depth: depth))
        }
        out[field.name] = .array(list)
      case .map(let keyKind, let valueKind):
        guard wireType == 2 else { throw ProtobufError(description: "map entry \(field.name) has wire type \(wireType)") }
        var entry = WireReader(bytes: try reader.readLengthDelimited())
        var key = "", value: JSONValue = .null
        var sawValue = false
        while !entry.isAtEnd {
          let (n, w) = try entry.readTag()
          if n == 1 { key = try readValue(&entry, kind: keyKind, wireType: w, depth: depth).stringValue ?? "" }
          else if n == 2 { value = try readValue(&entry, kind: valueKind, wireType: w, depth: depth); sawValue = true }
          else { try entry.skip(wireType: w) }
        }
        if !sawValue { value = valueKind.zeroJSON }
        var map = out[field.name]?.objectValue ?? JSONObject()
        map[key] = value
        out[field.name] = .object(map)
      default:
        let value = try readValue(&reader, kind: field.kind, wireType: wireType, depth: depth)
        if value.isZeroScalar && !keepZero.contains(field.name) { continue }
        out[field.name] = value
      }
    }
    return .object(out)
  }

  static func readValue(_ reader: inout WireReader, kind: ProtobufKind, wireType: UInt64, depth: Int) throws(ProtobufError) -> JSONValue {
    if case .message(let name) = kind {
      guard wireType == 2 else { throw ProtobufError(description: "message \(name) has wire type \(wireType)") }
      return try decodeMessage(try reader.readLengthDelimited(), message: name, depth: depth + 1)
    }
    return try readScalar(&reader, kind: kind, wireType: wireType)
  }

  static func readScalar(_ reader: inout WireReader, kind: ProtobufKind, wireType: UInt64) throws(ProtobufError) -> JSONValue {
    guard wireType == kind.wireType else { throw ProtobufError(description: "a \(kind) field has wire type \(wireType)") }
    switch kind {
    case .string: return .string(try reader.readString())
    case .bytes: return .string(Data(try reader.readLengthDelimited()).base64EncodedString())
    case .bool: return .bool(try reader.readVarint() != 0)
    case .int32: return JSONValue(Int(Int32(truncatingIfNeeded: try reader.readVarint())))
    case .int64: return .number(JSONNumber(Int64(bitPattern: try reader.readVarint())))
    case .uint32, .uint64: return .number(JSONNumber(unchecked: String(try reader.readVarint())))
    case .sint32, .sint64:
      let v = try reader.readVarint()
      return .number(JSONNumber(Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))))
    case .double: return JSONValue(Double(bitPattern: try reader.readFixed64()))
    case .float: return JSONValue(Double(Float(bitPattern: try reader.readFixed32())))
    case .fixed64: return .number(JSONNumber(unchecked: String(try reader.readFixed64())))
    case .sfixed64: return .number(JSONNumber(Int64(bitPattern: try reader.readFixed64())))
    case .fixed32: return JSONValue(Int(try reader.readFixed32()))
    case .message, .repeated, .map: throw ProtobufError(description: "not a scalar")
    }
  }
}

extension ProtobufKind {
  var wireType: UInt64 {
    switch self {
    case .double, .fixed64, .sfixed64: return 1
    case .float, .fixed32: return 5
    case .string, .bytes, .message, .repeated, .map: return 2
    default: return 0
    }
  }

  var isPackable: Bool { wireType == 0 || wireType == 1 || wireType == 5 }

  var zeroJSON: JSONValue {
    switch self {
    case .string, .bytes: return ""
    case .bool: return false
    case .message: return .object(JSONObject())
    default: return 0
    }
  }
}

extension JSONValue {
  fileprivate var isZeroScalar: Bool {
    switch self {
    case .string(let s): return s.isEmpty
    case .bool(let b): return !b
    case .number(let n): return n.literal == "0"
    default: return false
    }
  }
}

/// Reads protobuf wire format (developers.google.com/protocol-buffers/docs/encoding).
struct WireReader {
  let bytes: [UInt8]
  var index = 0
  var isAtEnd: Bool { index >= bytes.count }

  mutating func readVarint() throws(ProtobufError) -> UInt64 {
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard index < bytes.count else { throw ProtobufError(description: "truncated varint") }
      let b = bytes[index]
      index += 1
      guard shift < 64 else { throw ProtobufError(description: "varint longer than 10 bytes") }
      result |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 { return result }
      shift += 7
    }
  }

  mutating func readTag() throws(ProtobufError) -> (UInt64, UInt64) {
    let tag = try readVarint()
    guard tag >> 3 != 0 else { throw ProtobufError(description: "field number 0") }
    return (tag >> 3, tag & 7)
  }

  mutating func readLengthDelimited() throws(ProtobufError) -> [UInt8] {
    let length = try readVarint()
    guard length <= UInt64(bytes.count - index) else { throw ProtobufError(description: "length-delimited field runs past the end") }
    let end = index + Int(length)
    defer { index = end }
    return Array(bytes[index..<end])
  }

  mutating func readString() throws(ProtobufError) -> String {
    let raw = try readLengthDelimited()
    guard let s = String(validating: raw, as: UTF8.self) else { throw ProtobufError(description: "string field is not UTF-8") }
    return s
  }

  mutating func readFixed64() throws(ProtobufError) -> UInt64 {
    guard bytes.count - index >= 8 else { throw ProtobufError(description: "truncated fixed64") }
    var v: UInt64 = 0
    for i in 0..<8 { v |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
    index += 8
    return v
  }

  mutating func readFixed32() throws(ProtobufError) -> UInt32 {
    guard bytes.count - index >= 4 else { throw ProtobufError(description: "truncated fixed32") }
    var v: UInt32 = 0
    for i in 0..<4 { v |= UInt32(bytes[index + i]) << (8 * UInt32(i)) }
    index += 4
    return v
  }

  mutating func skip(wireType: UInt64) throws(ProtobufError) {
    switch wireType {
    case 0: _ = try readVarint()
    case 1: _ = try readFixed64()
    case 2: _ = try readLengthDelimited()
    case 5: _ = try readFixed32()
    default: throw ProtobufError(description: "unsupported wire type \(wireType)")
    }
  }
}
