/// Writes `JSONValue` as compact or indented JSON text.
///
/// Strings are escaped as Go's `encoding/json` escapes them (what kube-apiserver sends): `"`, `\`,
/// control characters, and — HTML-safe by default — `<`, `>`, `&`, U+2028 and U+2029 as `\u` escapes.
public enum JSONSerializer {
  /// Appends the compact encoding of `value` to `out`.
  public static func write(_ value: JSONValue, into out: inout [UInt8], escapeHTML: Bool = true) {
    switch value {
    case .null: out.append(contentsOf: nullBytes)
    case .bool(let b): out.append(contentsOf: b ? trueBytes : falseBytes)
    case .number(let n): out.append(contentsOf: n.literal.utf8)
    case .string(let s): writeString(s, into: &out, escapeHTML: escapeHTML)
    case .array(let a):
      out.append(UInt8(ascii: "["))
      a.withUnsafeBufferPointer { elements in
        for i in 0..<elements.count {
          if i > 0 { out.append(UInt8(ascii: ",")) }
          write(elements[i], into: &out, escapeHTML: escapeHTML)
        }
      }
      out.append(UInt8(ascii: "]"))
    case .object(let o):
      out.append(UInt8(ascii: "{"))
      // Index the two arrays directly: iterating pairs copies (and retains) every key and value.
      let count = o.keys.count
      o.keys.withUnsafeBufferPointer { keys in
        o.values.withUnsafeBufferPointer { values in
          for i in 0..<count {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            writeString(keys[i], into: &out, escapeHTML: escapeHTML)
            out.append(UInt8(ascii: ":"))
            write(values[i], into: &out, escapeHTML: escapeHTML)
          }
        }
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  /// Bytes that need an escape: 1 always, 2 only when escaping HTML, 3 the lead byte of U+2028/U+2029.
  private static let escapeClass: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 256)
    for b in 0..<0x20 { table[b] = 1 }
    table[0x22] = 1
    table[0x5C] = 1
    table[0x3C] = 2
    table[0x3E] = 2
    table[0x26] = 2
    table[0xE2] = 3
    return table
  }()

  /// Appends an indented encoding (two spaces, like `kubectl -o json`).
  public static func writePretty(_ value: JSONValue, into out: inout [UInt8], indent: Int = 0) {
    func newline(_ level: Int) {
      out.append(0x0A)
      out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 4))
    }
    switch value {
    case .array(let a) where !a.isEmpty:
      out.append(UInt8(ascii: "["))
      for (i, element) in a.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(indent + 1)
        writePretty(element, into: &out, indent: indent + 1)
      }
      newline(indent)
      out.append(UInt8(ascii: "]"))
    case .object(let o) where !o.isEmpty:
      out.append(UInt8(ascii: "{"))
      var first = true
      for (k, v) in o {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        newline(indent + 1)
        writeString(k, into: &out, escapeHTML: true)
        out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        writePretty(v, into: &out, indent: indent + 1)
      }
      newline(indent)
      out.append(UInt8(ascii: "}"))
    default:
      write(value, into: &out)
    }
  }

  private static let nullBytes: [UInt8] = Array("null".utf8)
  private static let trueBytes: [UInt8] = Array("true".utf8)
  private static let falseBytes: [UInt8] = Array("false".utf8)
  private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  static func writeString(_ s: String, into out: inout [UInt8], escapeHTML: Bool) {
    out.append(UInt8(ascii: "\""))
    var s = s
    let table = escapeClass
    table.withUnsafeBufferPointer { escapeClass in
    s.withUTF8 { utf8 in
      var runStart = 0
      var i = 0
      let n = utf8.count
      while i < n {
        let b = utf8[i]
        let cls = escapeClass[Int(b)]
        if cls == 0 || (cls == 2 && !escapeHTML) {
          i += 1
          continue
        }
        var escape: [UInt8]? = nil
        var width = 1
        if cls == 1 || cls == 2 {
          switch b {
          case 0x22: escape = [0x5C, 0x22]
          case 0x5C: escape = [0x5C, 0x5C]
          case 0x0A: escape = [0x5C, UInt8(ascii: "n")]
          case 0x0D: escape = [0x5C, UInt8(ascii: "r")]
          case 0x09: escape = [0x5C, UInt8(ascii: "t")]
          default: escape = [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]]
          }
        } else if b == 0xE2, i + 2 < n, utf8[i + 1] == 0x80, utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9 {
          // U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR break JavaScript; Go escapes them.
          escape = Array("\\u202".utf8) + [utf8[i + 2] == 0xA8 ? UInt8(ascii: "8") : UInt8(ascii: "9")]
          width = 3
        }
        if let escape {
          if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
          out.append(contentsOf: escape)
          i += width
          runStart = i
        } else {
          i += 1
        }
      }
      if runStart < n { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<n])) }
    }
    }
    out.append(UInt8(ascii: "\""))
  }
}

extension JSONValue {
  /// Compact JSON bytes.
  public func serialized() -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(256)
    JSONSerializer.write(self, into: &out)
    return out
  }

  /// Compact JSON text.
  public func serializedString() -> String { String(decoding: serialized(), as: UTF8.self) }

  /// Indented JSON text (four spaces per level, like kubectl's `-o json`).
  public func prettyString() -> String {
    var out: [UInt8] = []
    JSONSerializer.writePretty(self, into: &out)
    return String(decoding: out, as: UTF8.self)
  }
}

extension JSONValue: CustomStringConvertible {
  public var description: String { serializedString() }
}
