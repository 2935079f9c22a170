/// One `POST /v1/observations` body, checked against the agent's features: a column of values per
/// feature, all of one length.
///
/// ```json
/// {"features": {"brightness": [0.41, 0.52], "label": ["car", "bus"]}}
/// ```
/// Numerical values are JSON numbers, categorical values JSON strings. A batch may carry a subset
/// of the features; it may not carry an unknown one.
public struct ObservationBatch: Sendable, Equatable {
  public enum Column: Sendable, Equatable {
    case numerical([Double])
    case categorical([String])

    var count: Int {
      switch self {
      case .numerical(let v): v.count
      case .categorical(let v): v.count
      }
    }
  }

  /// Columns by position in `AgentConfiguration.features` (nil: the batch does not carry that feature).
  public var columns: [Column?]
  /// Rows in the batch (every column's length).
  public var rows: Int

  /// Parses and checks a body. Nothing is kept of a body that fails.
  ///
  /// The parser is written for this one shape rather than going through a general JSON tree: the
  /// body is the agent's hot path (docs/benchmarks.md, drift agent), and reading it this way also
  /// lets `NaN` and `Infinity` (which Python's `json.dumps` writes, and which are not JSON) be
  /// refused with the feature named instead of as a syntax error.
  /// - Throws: `BatchRefusal` with the reason and a message naming the feature.
  public init(parsing bytes: [UInt8], configuration: AgentConfiguration) throws(BatchRefusal) {
    var index: [String: Int] = [:]
    for (i, f) in configuration.features.enumerated() { index[f.name] = i }
    var columns = [Column?](repeating: nil, count: configuration.features.count)
    var reader = Reader(bytes: bytes)
    try reader.expect(UInt8(ascii: "{"), "the body must be a JSON object {\"features\": {...}}")
    var sawFeatures = false
    if !reader.consume(UInt8(ascii: "}")) {
      repeat {
        let key = try reader.string(context: "a field name")
        try reader.expect(UInt8(ascii: ":"), "expected ':' after \"\(key)\"")
        guard key == "features" else { throw BatchRefusal(.malformed, "unknown field \"\(key)\": the body is {\"features\": {...}}") }
        guard !sawFeatures else { throw BatchRefusal(.malformed, "\"features\" appears twice") }
        sawFeatures = true
        try reader.expect(UInt8(ascii: "{"), "\"features\" must be an object of columns")
        if reader.consume(UInt8(ascii: "}")) { continue }
        repeat {
          let name = try reader.string(context: "a feature name")
          try reader.expect(UInt8(ascii: ":"), "expected ':' after feature \"\(name)\"")
          guard let position = index[name] else {
            let known = configuration.features.map(\.name).joined(separator: ", ")
            throw BatchRefusal(.unknownFeature, "feature \"\(name)\" is not one this agent summarises (\(known))")
          }
          guard columns[position] == nil else { throw BatchRefusal(.malformed, "feature \"\(name)\" appears twice") }
          let feature = configuration.features[position]
          columns[position] = try reader.column(feature: feature, maximumCategoryBytes: configuration.maximumCategoryBytes)
        } while reader.consume(UInt8(ascii: ","))
        try reader.expect(UInt8(ascii: "}"), "expected ',' or '}' in \"features\"")
      } while reader.consume(UInt8(ascii: ","))
      try reader.expect(UInt8(ascii: "}"), "expected ',' or '}' after \"features\"")
    }
    reader.skipSpace()
    guard reader.atEnd else { throw BatchRefusal(.malformed, "unexpected text after the JSON object") }
    guard sawFeatures else { throw BatchRefusal(.malformed, "the body has no \"features\" object") }
    var rows: Int?
    for (position, column) in columns.enumerated() {
      guard let column else { continue }
      if let rows, rows != column.count {
        let first = configuration.features[columns.firstIndex { $0 != nil }!].name
        throw BatchRefusal(.unequalLength, "feature \"\(configuration.features[position].name)\" has \(column.count) values, \"\(first)\" has \(rows): columns must be of equal length")
      }
      rows = column.count
    }
    self.columns = columns
    self.rows = rows ?? 0
  }
}

/// Why a batch was refused; the agent counts refusals per reason (`edgeml_drift_agent_batches_refused_total`).
public struct BatchRefusal: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Reason: String, Sendable, CaseIterable {
    case malformed = "malformed"
    case unknownFeature = "unknown_feature"
    case wrongType = "wrong_type"
    case notFinite = "not_finite"
    case unequalLength = "unequal_length"
    case valueTooLong = "value_too_long"
    case tooLarge = "too_large"
  }
  public var reason: Reason
  public var message: String
  public init(_ reason: Reason, _ message: String) { self.reason = reason; self.message = message }
  public var description: String { message }
}

/// A cursor over the body's bytes.
private struct Reader {
  let bytes: [UInt8]
  var offset = 0

  var atEnd: Bool { offset >= bytes.count }

  mutating func skipSpace() {
    while offset < bytes.count {
      switch bytes[offset] {
      case 0x20, 0x09, 0x0A, 0x0D: offset += 1
      default: return
      }
    }
  }

  mutating func consume(_ byte: UInt8) -> Bool {
    skipSpace()
    guard offset < bytes.count, bytes[offset] == byte else { return false }
    offset += 1
    return true
  }

  mutating func expect(_ byte: UInt8, _ message: String) throws(BatchRefusal) {
    guard consume(byte) else { throw BatchRefusal(.malformed, "\(message) (at byte \(offset))") }
  }

  /// A JSON string (RFC 8259 §7), escapes decoded.
  mutating func string(context: String) throws(BatchRefusal) -> String {
    skipSpace()
    guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
      throw BatchRefusal(.malformed, "expected \(context) as a JSON string (at byte \(offset))")
    }
    offset += 1
    let start = offset
    // Fast path: no escapes.
    while offset < bytes.count, bytes[offset] != UInt8(ascii: "\""), bytes[offset] != UInt8(ascii: "\\"), bytes[offset] >= 0x20 { offset += 1 }
    if offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") {
      defer { offset += 1 }
      return try utf8(bytes[start..<offset])
    }
    var out = Array(bytes[start..<offset])
    while offset < bytes.count {
      let c = bytes[offset]
      offset += 1
      switch c {
      case UInt8(ascii: "\""): return try utf8(out[...])
      case UInt8(ascii: "\\"):
        guard offset < bytes.count else { break }
        let e = bytes[offset]
        offset += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try hex4()
          if (0xD800..<0xDC00).contains(scalar) {
            // A high surrogate must be followed by \u and a low one (RFC 8259 §7).
            guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") else {
              throw BatchRefusal(.malformed, "unpaired surrogate in a string (at byte \(offset))")
            }
            offset += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw BatchRefusal(.malformed, "unpaired surrogate in a string (at byte \(offset))") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else if (0xDC00..<0xE000).contains(scalar) {
            throw BatchRefusal(.malformed, "unpaired surrogate in a string (at byte \(offset))")
          }
          out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
        default: throw BatchRefusal(.malformed, "invalid escape in a string (at byte \(offset - 1))")
        }
      default:
        guard c >= 0x20 else { throw BatchRefusal(.malformed, "control character in a string (at byte \(offset - 1))") }
        out.append(c)
      }
    }
    throw BatchRefusal(.malformed, "unterminated string")
  }

  private mutating func hex4() throws(BatchRefusal) -> UInt32 {
    guard offset + 4 <= bytes.count else { throw BatchRefusal(.malformed, "truncated \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[offset]
      offset += 1
      let d: UInt32
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a")) + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A")) + 10
      default: throw BatchRefusal(.malformed, "invalid \\u escape (at byte \(offset - 1))")
      }
      v = v << 4 | d
    }
    return v
  }

  private func utf8(_ slice: ArraySlice<UInt8>) throws(BatchRefusal) -> String {
    guard let s = String(validating: slice, as: UTF8.self) else { throw BatchRefusal(.malformed, "a string is not valid UTF-8") }
    return s
  }

  /// One feature's array of values.
  mutating func column(feature: AgentConfiguration.Feature, maximumCategoryBytes: Int) throws(BatchRefusal) -> ObservationBatch.Column {
    let name = feature.name
    try expect(UInt8(ascii: "["), "feature \"\(name)\" must be an array of values")
    var numbers: [Double] = []
    var strings: [String] = []
    if !consume(UInt8(ascii: "]")) {
      repeat {
        skipSpace()
        guard offset < bytes.count else { throw BatchRefusal(.malformed, "feature \"\(name)\": truncated array") }
        let c = bytes[offset]
        let isString = c == UInt8(ascii: "\"")
        switch (feature.kind, isString) {
        case (.numerical, false):
          numbers.append(try number(feature: name, at: numbers.count))
        case (.categorical, true):
          let value = try string(context: "a value")
          guard value.utf8.count <= maximumCategoryBytes else {
            throw BatchRefusal(.valueTooLong, "feature \"\(name)\" value \(strings.count) is \(value.utf8.count) bytes long; at most \(maximumCategoryBytes)")
          }
          strings.append(value)
        case (.numerical, true):
          throw BatchRefusal(.wrongType, "feature \"\(name)\" is numerical: value \(numbers.count) is a string, expected a JSON number")
        case (.categorical, false):
          throw BatchRefusal(.wrongType, "feature \"\(name)\" is categorical: value \(strings.count) is not a string, expected a JSON string")
        }
      } while consume(UInt8(ascii: ","))
      try expect(UInt8(ascii: "]"), "feature \"\(name)\": expected ',' or ']'")
    }
    return feature.kind == .numerical ? .numerical(numbers) : .categorical(strings)
  }

  /// A JSON number; `NaN`, `Infinity`, `-Infinity` and numbers beyond Double's range are refused as not finite.
  private mutating func number(feature: String, at position: Int) throws(BatchRefusal) -> Double {
    let start = offset
    for token in ["NaN", "Infinity", "-Infinity"] where bytes[offset...].starts(with: token.utf8) {
      throw BatchRefusal(.notFinite, "feature \"\(feature)\" value \(position) is \(token): values must be finite numbers")
    }
    while offset < bytes.count, Self.isNumberByte(bytes[offset]) { offset += 1 }
    let slice = bytes[start..<offset]
    guard !slice.isEmpty else {
      let what = bytes[offset...].starts(with: "null".utf8) ? "null" : bytes[offset...].starts(with: "true".utf8) || bytes[offset...].starts(with: "false".utf8) ? "a boolean" : "not a number"
      throw BatchRefusal(.wrongType, "feature \"\(feature)\" is numerical: value \(position) is \(what), expected a JSON number")
    }
    guard Self.isJSONNumber(slice), let value = Double(String(decoding: slice, as: UTF8.self)) else {
      throw BatchRefusal(.malformed, "feature \"\(feature)\" value \(position) is not a JSON number")
    }
    guard value.isFinite else {
      throw BatchRefusal(.notFinite, "feature \"\(feature)\" value \(position) is beyond a double's range: values must be finite numbers")
    }
    return value
  }

  private static func isNumberByte(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
      || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
  }

  /// RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
  private static func isJSONNumber(_ s: ArraySlice<UInt8>) -> Bool {
    var i = s.startIndex
    func digit(_ i: Int) -> Bool { i < s.endIndex && s[i] >= UInt8(ascii: "0") && s[i] <= UInt8(ascii: "9") }
    if i < s.endIndex, s[i] == UInt8(ascii: "-") { i += 1 }
    guard digit(i) else { return false }
    if s[i] == UInt8(ascii: "0") { i += 1 } else { while digit(i) { i += 1 } }
    if i < s.endIndex, s[i] == UInt8(ascii: ".") {
      i += 1
      guard digit(i) else { return false }
      while digit(i) { i += 1 }
    }
    if i < s.endIndex, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
      i += 1
      if i < s.endIndex, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") { i += 1 }
      guard digit(i) else { return false }
      while digit(i) { i += 1 }
    }
    return i == s.endIndex
  }
}
