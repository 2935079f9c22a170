/// An error in JSON text, with the place it was found.
///
/// The message follows Go's `encoding/json` wording ("invalid character 'x' looking for beginning of
/// value", "unexpected end of JSON input") because kube-apiserver returns those words in its 400
/// responses, and users search for them.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  /// 1-based line of the offending byte.
  public var line: Int
  /// 1-based column (in bytes) of the offending byte.
  public var column: Int
  /// 0-based byte offset.
  public var offset: Int

  public var description: String { "\(message) (line \(line), column \(column))" }
}

/// A strict RFC 8259 parser producing `JSONValue`.
///
/// Strict means: no comments, no trailing commas, no leading zeros, no control characters inside
/// strings, only the escapes of §7, surrogate pairs must pair, UTF-8 must be valid, one value per
/// document with only whitespace around it. Duplicate keys keep the last value, as Go does; the API
/// server's strict field validation reports them separately (`duplicateKeys`).
public struct JSONParser {
  /// Nesting deeper than this is refused.
  ///
  /// Go's `encoding/json` allows 10000 levels because goroutine stacks grow; this parser recurses on a
  /// fixed thread stack (about 2 KB a level in debug builds, and NIO or Swift Testing threads may have
  /// less than 8 MB), where 10000 levels crashed. Real objects nest a few dozen levels deep.
  public static let maximumDepth = 512

  private let bytes: [UInt8]
  private var index = 0
  private var depth = 0
  /// Paths (dotted) of keys that appeared twice in one object, in the order found.
  public private(set) var duplicateKeys: [String] = []
  /// The keys down to the member being parsed, kept only when duplicates are reported (they name them).
  private var path: [String] = []
  private var tracksPath = false

  /// Parses one JSON document.
  /// - Throws: `JSONParseError` with line and column.
  public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
    try parse(Array(text.utf8))
  }

  /// Parses one JSON document from UTF-8 bytes.
  public static func parse(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    return try parser.parseDocument()
  }

  /// Parses one JSON document, building only the members `projection` keeps.
  ///
  /// A member left out is still scanned — the document must be well formed throughout, with the
  /// same errors — but not built: no strings, numbers, arrays or objects are made for it. Its strings
  /// are checked for control characters and escapes, not for UTF-8 validity.
  public static func parse(_ bytes: [UInt8], projection: JSONProjection) throws(JSONParseError) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    return try parser.parseDocument(projection)
  }

  /// Parses and also reports keys repeated within one object (for strict field validation).
  public static func parseReportingDuplicates(_ bytes: [UInt8]) throws(JSONParseError) -> (JSONValue, [String]) {
    var parser = JSONParser(bytes: bytes)
    parser.tracksPath = true
    let value = try parser.parseDocument()
    return (value, parser.duplicateKeys)
  }

  init(bytes: [UInt8]) { self.bytes = bytes }

  mutating func parseDocument(_ projection: JSONProjection = .all) throws(JSONParseError) -> JSONValue {
    skipWhitespace()
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    let value = try parseValue(projection)
    skipWhitespace()
    if index < bytes.count {
      throw error("invalid character \(describe(bytes[index])) after top-level value")
    }
    return value
  }

  private func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
    let at = min(offset ?? index, bytes.count)
    var line = 1
    var lineStart = 0
    var i = 0
    while i < at {
      if bytes[i] == 0x0A { line += 1; lineStart = i + 1 }
      i += 1
    }
    return JSONParseError(message: message, line: line, column: at - lineStart + 1, offset: at)
  }

  /// Go's `quoteChar` (encoding/json scanner.go): the byte as a rune, quoted as `strconv.Quote` would.
  private func describe(_ byte: UInt8) -> String {
    let hex = String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
    switch byte {
    case UInt8(ascii: "'"): return "'\\''"
    case UInt8(ascii: "\""): return "'\"'"
    case 0x07: return "'\\a'"
    case 0x08: return "'\\b'"
    case 0x09: return "'\\t'"
    case 0x0A: return "'\\n'"
    case 0x0B: return "'\\v'"
    case 0x0C: return "'\\f'"
    case 0x0D: return "'\\r'"
    case 0x20...0x7E, 0xA1...0xAC, 0xAE...0xFF: return "'\(Character(Unicode.Scalar(byte)))'"
    case 0x80...0xA0, 0xAD: return "'\\u00" + hex + "'"
    default: return "'\\x" + hex + "'"
    }
  }

  private mutating func skipWhitespace() {
    while index < bytes.count {
      switch bytes[index] {
      case 0x20, 0x0A, 0x0D, 0x09: index += 1
      default: return
      }
    }
  }

  private mutating func parseValue(_ projection: JSONProjection = .all) throws(JSONParseError) -> JSONValue {
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try parseObject(projection)
    case UInt8(ascii: "["): return try parseArray(projection)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
    case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
    case UInt8(ascii: "n"): try expectLiteral("null"); return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
    default: throw error("invalid character \(describe(bytes[index])) looking for beginning of value")
    }
  }

  private mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
    let count = word.utf8CodeUnitCount
    let start = word.utf8Start
    for k in 0..<count {
      guard index + k < bytes.count else { throw error("unexpected end of JSON input", at: bytes.count) }
      if bytes[index + k] != start[k] {
        throw error("invalid character \(describe(bytes[index + k])) in literal \(word) (expecting '\(Character(Unicode.Scalar(start[k])))')", at: index + k)
      }
    }
    index += count
  }

  private mutating func enter() throws(JSONParseError) {
    depth += 1
    if depth > JSONParser.maximumDepth { throw error("exceeded max depth") }
  }

  /// Enters an object or array at its opening bracket; true when it is empty (closed, depth restored).
  private mutating func open(closingWith closing: UInt8) throws(JSONParseError) -> Bool {
    try enter()
    index += 1
    skipWhitespace()
    guard index < bytes.count, bytes[index] == closing else { return false }
    index += 1
    depth -= 1
    return true
  }

  /// At the start of a member: checks for the key's opening quote.
  private mutating func expectKey() throws(JSONParseError) {
    skipWhitespace()
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    guard bytes[index] == UInt8(ascii: "\"") else {
      throw error("invalid character \(describe(bytes[index])) looking for beginning of object key string")
    }
  }

  /// After a key: the colon and the whitespace before the value.
  private mutating func expectColon() throws(JSONParseError) {
    skipWhitespace()
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    guard bytes[index] == UInt8(ascii: ":") else {
      throw error("invalid character \(describe(bytes[index])) after object key")
    }
    index += 1
    skipWhitespace()
  }

  /// After an array element: true at the closing bracket (consumed, depth restored), false after a comma.
  private mutating func endOfElement() throws(JSONParseError) -> Bool {
    try end(closingWith: UInt8(ascii: "]"), after: "array element")
  }

  /// After an object member: true at the closing brace (consumed, depth restored), false after a comma.
  private mutating func endOfMember() throws(JSONParseError) -> Bool {
    try end(closingWith: UInt8(ascii: "}"), after: "object key:value pair")
  }

  private mutating func end(closingWith closing: UInt8, after what: String) throws(JSONParseError) -> Bool {
    skipWhitespace()
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    switch bytes[index] {
    case UInt8(ascii: ","):
      index += 1
      return false
    case closing:
      index += 1
      depth -= 1
      return true
    default: throw error("invalid character \(describe(bytes[index])) after \(what)")
    }
  }

  private mutating func parseObject(_ projection: JSONProjection) throws(JSONParseError) -> JSONValue {
    var object = JSONObject()
    if try open(closingWith: UInt8(ascii: "}")) { return .object(object) }
    var seen: Set<String>? = nil
    while true {
      try expectKey()
      let key = try parseString()
      try expectColon()
      let member: JSONProjection
      switch projection {
      case .all: member = .all
      case .object(let members, let only, let dropping):
        if dropping.contains(key) || only.map({ !$0.contains(key) }) == true {
          try skipValue()
          if try endOfMember() { return .object(object) }
          continue
        }
        member = members[key] ?? .all
      }
      if tracksPath { path.append(key) }
      let value = try parseValue(member)
      if tracksPath { path.removeLast() }
      // Small objects scan; large ones keep a set so parsing stays linear.
      let isDuplicate: Bool
      if object.count < 16 {
        isDuplicate = object.index(forKey: key) != nil
      } else {
        if seen == nil { seen = Set(object.keys) }
        isDuplicate = !seen!.insert(key).inserted
      }
      if isDuplicate {
        duplicateKeys.append((path + [key]).joined(separator: "."))
        object[key] = value
      } else {
        object.appendUnchecked(key, value)
        if seen != nil { seen!.insert(key) }
      }
      if try endOfMember() { return .object(object) }
    }
  }


  /// Scans past one value, with the errors `parseValue` would raise for it, building nothing.
  private mutating func skipValue() throws(JSONParseError) {
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    switch bytes[index] {
    case UInt8(ascii: "{"):
      if try open(closingWith: UInt8(ascii: "}")) { return }
      repeat {
        try expectKey()
        try skipString()
        try expectColon()
        try skipValue()
      } while try !endOfMember()
    case UInt8(ascii: "["):
      if try open(closingWith: UInt8(ascii: "]")) { return }
      repeat {
        skipWhitespace()
        try skipValue()
      } while try !endOfElement()
    case UInt8(ascii: "\""): try skipString()
    case UInt8(ascii: "t"): try expectLiteral("true")
    case UInt8(ascii: "f"): try expectLiteral("false")
    case UInt8(ascii: "n"): try expectLiteral("null")
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try scanNumber()
    default: throw error("invalid character \(describe(bytes[index])) looking for beginning of value")
    }
  }

  /// Scans past a string: control characters and escapes are checked (as `parseString` does), UTF-8 is not.
  private mutating func skipString() throws(JSONParseError) {
    index += 1   // opening quote
    while index < bytes.count {
      let b = bytes[index]
      if b == UInt8(ascii: "\"") {
        index += 1
        return
      }
      if b < 0x20 { throw error("invalid character \(describe(b)) in string literal") }
      index += 1
      guard b == UInt8(ascii: "\\") else { continue }
      guard index < bytes.count else { throw error("unexpected end of JSON input") }
      let e = bytes[index]
      index += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
           UInt8(ascii: "r"), UInt8(ascii: "t"):
        continue
      case UInt8(ascii: "u"):
        let scalar = try parseHex4()
        if (0xD800...0xDBFF).contains(scalar) {
          guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
            throw error("invalid surrogate pair in string escape", at: index - 6)
          }
          index += 2
          guard (0xDC00...0xDFFF).contains(try parseHex4()) else { throw error("invalid surrogate pair in string escape", at: index - 6) }
        } else if (0xDC00...0xDFFF).contains(scalar) {
          throw error("invalid surrogate pair in string escape", at: index - 6)
        }
      default:
        throw error("invalid character \(describe(e)) in string escape code", at: index - 1)
      }
    }
    throw error("unexpected end of JSON input")
  }

  /// An array's items each take the array's projection (the items of a list response, say).
  private mutating func parseArray(_ projection: JSONProjection) throws(JSONParseError) -> JSONValue {
    var elements: [JSONValue] = []
    if try open(closingWith: UInt8(ascii: "]")) { return .array(elements) }
    repeat {
      skipWhitespace()
      elements.append(try parseValue(projection))
    } while try !endOfElement()
    return .array(elements)
  }

  private mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
    let range = try scanNumber()
    return JSONNumber(unchecked: String(decoding: bytes[range], as: UTF8.self))
  }

  /// Scans past a number (RFC 8259 grammar, Go's errors); returns its bytes' range.
  private mutating func scanNumber() throws(JSONParseError) -> Range<Int> {
    let start = index
    func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    if bytes[index] == UInt8(ascii: "-") {
      index += 1
      guard index < bytes.count else { throw error("unexpected end of JSON input") }
      guard isDigit(bytes[index]) else { throw error("invalid character \(describe(bytes[index])) in numeric literal") }
    }
    if bytes[index] == UInt8(ascii: "0") {
      index += 1
    } else {
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      guard index < bytes.count else { throw error("unexpected end of JSON input") }
      guard isDigit(bytes[index]) else { throw error("invalid character \(describe(bytes[index])) after decimal point in numeric literal") }
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
      guard index < bytes.count else { throw error("unexpected end of JSON input") }
      guard isDigit(bytes[index]) else { throw error("invalid character \(describe(bytes[index])) in exponent of numeric literal") }
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
    // A leading zero followed by a digit: "01" — Go reports the second digit.
    if index < bytes.count, isDigit(bytes[index]) {
      throw error("invalid character \(describe(bytes[index])) after top-level value")
    }
    return start..<index
  }

  private mutating func parseString() throws(JSONParseError) -> String {
    index += 1   // opening quote
    let start = index
    // Fast path: no escapes, ASCII or valid UTF-8 without control characters.
    var hasEscape = false
    var hasNonASCII = false
    while index < bytes.count {
      let b = bytes[index]
      if b == UInt8(ascii: "\"") { break }
      if b == UInt8(ascii: "\\") { hasEscape = true; break }
      if b < 0x20 { throw error("invalid character \(describe(b)) in string literal") }
      if b >= 0x80 { hasNonASCII = true }
      index += 1
    }
    guard index < bytes.count else { throw error("unexpected end of JSON input") }
    if !hasEscape {
      let slice = bytes[start..<index]
      index += 1
      if hasNonASCII {
        guard let s = String(validating: slice, as: UTF8.self) else {
          throw error("invalid UTF-8 in string literal", at: start)
        }
        return s
      }
      return String(decoding: slice, as: UTF8.self)
    }
    var out: [UInt8] = Array(bytes[start..<index])
    while index < bytes.count {
      let b = bytes[index]
      if b == UInt8(ascii: "\"") {
        index += 1
        guard let s = String(validating: out, as: UTF8.self) else {
          throw error("invalid UTF-8 in string literal", at: start)
        }
        return s
      }
      if b < 0x20 { throw error("invalid character \(describe(b)) in string literal") }
      if b != UInt8(ascii: "\\") {
        out.append(b)
        index += 1
        continue
      }
      index += 1
      guard index < bytes.count else { throw error("unexpected end of JSON input") }
      let e = bytes[index]
      index += 1
      switch e {
      case UInt8(ascii: "\""): out.append(0x22)
      case UInt8(ascii: "\\"): out.append(0x5C)
      case UInt8(ascii: "/"): out.append(0x2F)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try parseHex4()
        if (0xD800...0xDBFF).contains(scalar) {
          // A high surrogate must be followed by \u and a low surrogate.
          if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
            index += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid surrogate pair in string escape", at: index - 6) }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else {
            throw error("invalid surrogate pair in string escape", at: index - 6)
          }
        } else if (0xDC00...0xDFFF).contains(scalar) {
          throw error("invalid surrogate pair in string escape", at: index - 6)
        }
        guard let u = Unicode.Scalar(scalar) else { throw error("invalid unicode escape") }
        out.append(contentsOf: Array(String(Character(u)).utf8))
      default:
        throw error("invalid character \(describe(e)) in string escape code", at: index - 1)
      }
    }
    throw error("unexpected end of JSON input")
  }

  private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard index < bytes.count else { throw error("unexpected end of JSON input") }
      let b = bytes[index]
      let digit: UInt32
      switch b {
      case 48...57: digit = UInt32(b - 48)
      case 65...70: digit = UInt32(b - 55)
      case 97...102: digit = UInt32(b - 87)
      default: throw error("invalid character \(describe(b)) in \\u hexadecimal character escape")
      }
      value = value * 16 + digit
      index += 1
    }
    return value
  }
}


extension JSONValue {
  /// Parses JSON text.
  public init(parsing text: String) throws(JSONParseError) { self = try JSONParser.parse(text) }
  /// Parses JSON bytes (UTF-8).
  public init(parsing bytes: [UInt8]) throws(JSONParseError) { self = try JSONParser.parse(bytes) }
}
