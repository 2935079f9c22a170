/// A JSON document as the Kubernetes API carries it.
///
/// Two properties matter for an API server and its clients and are the reason this type exists
/// instead of `Any` or `Codable` round trips:
/// - objects keep the order of their keys, so a document read and written back looks the same to a
///   person diffing it (and `kubectl apply`'s last-applied annotation stays byte-stable);
/// - numbers are kept as their literal text, so int64 values, integers beyond 2⁶⁴ and decimals
///   round-trip byte for byte (`JSONNumber`).
///
/// Equality treats objects as unordered maps (as JSON does) and numbers by their literal text.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case number(JSONNumber)
  case string(String)
  case array([JSONValue])
  case object(JSONObject)
}

/// A JSON number kept as the exact literal that was parsed or produced.
///
/// The literal is always valid RFC 8259 number syntax. Conversions to `Int64` and `Double` are
/// offered; they return `nil` rather than rounding silently when the value does not fit.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
  /// The number exactly as it appears in JSON text.
  public let literal: String

  /// Wraps a literal that the caller guarantees is valid JSON number syntax.
  ///
  /// Use `init?(validating:)` for text from outside.
  public init(unchecked literal: String) { self.literal = literal }

  /// Wraps `text` if it is a valid JSON number, else returns nil.
  public init?(validating text: String) {
    guard JSONNumber.isValidLiteral(Array(text.utf8)) else { return nil }
    self.literal = text
  }

  public init(_ value: Int) { literal = String(value) }
  public init(_ value: Int64) { literal = String(value) }

  /// Encodes a double the way Go's `encoding/json` does for float64: the shortest digits that
  /// round-trip, plain decimal notation for 1e-6 ≤ |x| < 1e21 (so integral values print as `3`), and
  /// exponent notation (`1e+21`, `1e-7`) outside that range (Go `encoding/json/encode.go`, floatEncoder).
  /// Non-finite values have no JSON form; the caller must not pass them (see `JSONValue.init(_ double:)`).
  public init(_ value: Double) {
    precondition(value.isFinite, "non-finite doubles have no JSON literal")
    literal = JSONNumber.goFormat(value)
  }

  static func goFormat(_ value: Double) -> String {
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    // Swift's description is the shortest round-tripping form; take its digits and exponent apart.
    let text = "\(abs(value))"
    var mantissa = Substring(text)
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      mantissa = text[..<e]
      exponent = Int(text[text.index(after: e)...]) ?? 0
    }
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    var whole = String(parts[0])
    var fraction = parts.count > 1 ? String(parts[1]) : ""
    if fraction == "0" { fraction = "" }
    // digits d1d2...dn with the decimal point after `pointPosition` digits.
    var digits = whole + fraction
    var pointPosition = whole.count + exponent
    while digits.count > 1, digits.hasPrefix("0") { digits.removeFirst(); pointPosition -= 1 }
    while digits.count > 1, digits.hasSuffix("0") { digits.removeLast() }
    whole = ""
    let sign = value < 0 ? "-" : ""
    let magnitude = abs(value)
    if magnitude >= 1e-6 && magnitude < 1e21 {
      if pointPosition <= 0 {
        return sign + "0." + String(repeating: "0", count: -pointPosition) + digits
      } else if pointPosition >= digits.count {
        return sign + digits + String(repeating: "0", count: pointPosition - digits.count)
      } else {
        let i = digits.index(digits.startIndex, offsetBy: pointPosition)
        return sign + digits[..<i] + "." + digits[i...]
      }
    }
    let exp = pointPosition - 1
    let head = String(digits.prefix(1))
    let tail = String(digits.dropFirst())
    return sign + head + (tail.isEmpty ? "" : "." + tail) + "e" + (exp < 0 ? "-" : "+") + String(abs(exp))
  }

  /// The value as a 64-bit integer when the literal is an integer that fits.
  public var int64: Int64? { Int64(literal) }

  /// The value as an `Int` when the literal is an integer that fits.
  public var int: Int? { Int(literal) }

  /// The value as a double (possibly rounded, as every JSON reader that uses binary floating point does).
  public var double: Double? { Double(literal) }

  /// Whether the literal has no fraction and no exponent.
  public var isInteger: Bool { !literal.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) }

  public var description: String { literal }

  public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
    if lhs.literal == rhs.literal { return true }
    // 1 and 1.0 are the same number; compare numerically only when both are exact in binary.
    if let l = lhs.double, let r = rhs.double, l == r, abs(l) < 9.007_199_254_740_992e15 {
      return l.rounded() == l || lhs.literal.count < 17 && rhs.literal.count < 17
    }
    return false
  }

  public func hash(into hasher: inout Hasher) {
    if let d = double, abs(d) < 9.007_199_254_740_992e15 { hasher.combine(d) } else { hasher.combine(literal) }
  }

  /// Checks RFC 8259 §6 number syntax: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
  static func isValidLiteral(_ bytes: [UInt8]) -> Bool {
    var i = 0
    let n = bytes.count
    func digit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    if i < n, bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard i < n else { return false }
    if bytes[i] == UInt8(ascii: "0") { i += 1 }
    else if digit(bytes[i]) { while i < n, digit(bytes[i]) { i += 1 } }
    else { return false }
    if i < n, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard i < n, digit(bytes[i]) else { return false }
      while i < n, digit(bytes[i]) { i += 1 }
    }
    if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      guard i < n, digit(bytes[i]) else { return false }
      while i < n, digit(bytes[i]) { i += 1 }
    }
    return i == n
  }
}

/// A JSON object whose keys keep their insertion order.
///
/// Kubernetes objects have few keys per level, so lookups scan a small array. A lookup is linear in
/// the number of keys: a reader that looks up many keys of one large object (the OpenAPI
/// definitions, say) copies it into a dictionary first.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
  public private(set) var keys: [String] = []
  public private(set) var values: [JSONValue] = []

  public init() {}

  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    for (k, v) in elements { self[k] = v }
  }

  public init(_ pairs: [(String, JSONValue)]) {
    keys.reserveCapacity(pairs.count)
    values.reserveCapacity(pairs.count)
    for (k, v) in pairs { self[k] = v }
  }

  public var count: Int { keys.count }
  public var isEmpty: Bool { keys.isEmpty }

  public func index(forKey key: String) -> Int? {
    keys.firstIndex(of: key)
  }

  public subscript(key: String) -> JSONValue? {
    get { index(forKey: key).map { values[$0] } }
    set {
      if let i = index(forKey: key) {
        if let newValue { values[i] = newValue } else { keys.remove(at: i); values.remove(at: i) }
      } else if let newValue {
        keys.append(key)
        values.append(newValue)
      }
    }
  }

  /// Removes `key` and returns its value.
  @discardableResult
  public mutating func removeValue(forKey key: String) -> JSONValue? {
    guard let i = index(forKey: key) else { return nil }
    keys.remove(at: i)
    return values.remove(at: i)
  }

  /// Appends without checking for an existing key: only for builders that know keys are unique.
  public mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
    keys.append(key)
    values.append(value)
  }

  public func makeIterator() -> Zip2Sequence<[String], [JSONValue]>.Iterator {
    zip(keys, values).makeIterator()
  }

  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    guard lhs.count == rhs.count else { return false }
    if lhs.keys == rhs.keys { return lhs.values == rhs.values }
    for (k, v) in lhs {
      guard let other = rhs[k], other == v else { return false }
    }
    return true
  }

  public func hash(into hasher: inout Hasher) {
    // Order-independent: XOR-free commutative sum of per-pair hashes.
    var sum = 0
    for (k, v) in self {
      var h = Hasher()
      h.combine(k)
      h.combine(v)
      sum = sum &+ h.finalize()
    }
    hasher.combine(count)
    hasher.combine(sum)
  }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
  public init(nilLiteral: ()) { self = .null }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(integerLiteral value: Int) { self = .number(JSONNumber(value)) }
  public init(floatLiteral value: Double) { self = .number(JSONNumber(value)) }
  public init(stringLiteral value: String) { self = .string(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    var o = JSONObject()
    for (k, v) in elements { o[k] = v }
    self = .object(o)
  }

  /// A number from an `Int`.
  public init(_ value: Int) { self = .number(JSONNumber(value)) }

  /// A number from a double; NaN and infinities have no JSON form and become `null`.
  public init(_ value: Double) { self = value.isFinite ? .number(JSONNumber(value)) : .null }
}

extension JSONValue {
  public var isNull: Bool { if case .null = self { return true } else { return false } }

  public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
  public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
  public var numberValue: JSONNumber? { if case .number(let n) = self { return n } else { return nil } }
  public var intValue: Int? { numberValue?.int }
  public var int64Value: Int64? { numberValue?.int64 }
  public var doubleValue: Double? { numberValue?.double }
  public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
  public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }

  /// The JSON type name used in Kubernetes validation messages (`string`, `integer`, `number`, `boolean`, `object`, `array`, `null`).
  public var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .number(let n): return n.isInteger ? "integer" : "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }

  /// Reads or writes a member of an object; reading a non-object gives nil, writing a non-object
  /// replaces it with an object holding just that member.
  public subscript(key: String) -> JSONValue? {
    get { if case .object(let o) = self { return o[key] } else { return nil } }
    set {
      var o: JSONObject
      if case .object(let existing) = self { o = existing } else { o = JSONObject() }
      o[key] = newValue
      self = .object(o)
    }
  }

  /// Reads or writes a nested member; intermediate objects are created on write.
  public subscript(path path: [String]) -> JSONValue? {
    get {
      var current: JSONValue? = self
      for key in path { current = current?[key] }
      return current
    }
    set {
      guard let first = path.first else {
        self = newValue ?? .null
        return
      }
      if path.count == 1 {
        self[first] = newValue
        return
      }
      var child = self[first] ?? .object(JSONObject())
      if newValue == nil, self[first] == nil { return }
      child[path: Array(path.dropFirst())] = newValue
      self[first] = child
    }
  }
}
