/// A minimal protocol-buffers encoder: the wire format of
/// https://protobuf.dev/programming-guides/encoding/ (varints, tags of `number << 3 | wire type`,
/// length-delimited strings and messages, little-endian 64-bit doubles). proto3 rules: a scalar
/// equal to its default (empty string, false, 0) is not written; a message field is written when
/// present, even when empty.
struct ProtobufWriter {
  private(set) var bytes: [UInt8] = []

  enum WireType: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2 }

  mutating func varint(_ value: UInt64) {
    var v = value
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }

  mutating func tag(_ number: Int, _ type: WireType) { varint(UInt64(number) << 3 | UInt64(type.rawValue)) }

  mutating func string(_ number: Int, _ value: String?) {
    guard let value, !value.isEmpty else { return }
    tag(number, .lengthDelimited)
    varint(UInt64(value.utf8.count))
    bytes.append(contentsOf: value.utf8)
  }

  mutating func strings(_ number: Int, _ values: [String]) {
    for value in values {
      // A repeated string keeps its empty elements.
      tag(number, .lengthDelimited)
      varint(UInt64(value.utf8.count))
      bytes.append(contentsOf: value.utf8)
    }
  }

  mutating func bool(_ number: Int, _ value: Bool?) {
    guard value == true else { return }
    tag(number, .varint)
    varint(1)
  }

  /// An int64 (two's complement varint, so negative values take ten bytes).
  mutating func int64(_ number: Int, _ value: Int64?) {
    guard let value, value != 0 else { return }
    tag(number, .varint)
    varint(UInt64(bitPattern: value))
  }

  mutating func double(_ number: Int, _ value: Double?) {
    guard let value, value != 0 else { return }
    tag(number, .fixed64)
    let bits = value.bitPattern
    for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
  }

  /// A length-delimited message field whose content `body` writes.
  mutating func message(_ number: Int, _ body: (inout ProtobufWriter) -> Void) {
    var inner = ProtobufWriter()
    body(&inner)
    raw(number, inner.bytes)
  }

  /// A length-delimited field holding bytes already encoded.
  mutating func raw(_ number: Int, _ content: [UInt8]) {
    tag(number, .lengthDelimited)
    varint(UInt64(content.count))
    bytes.append(contentsOf: content)
  }

  mutating func append(_ encoded: [UInt8]) { bytes.append(contentsOf: encoded) }
}
