import KubeCore

/// What a YAML scalar means once its tag and style are taken into account.
enum YAMLScalar: Equatable {
  case null
  case bool(Bool)
  /// An integer that fits `Int64` or, without a sign, `UInt64`, as decimal text.
  case int(String)
  case float(Double)
  case string(String)
}

/// Resolves scalars the way go-yaml v2 does for `interface{}` targets, which is what sigs.k8s.io/yaml and
/// so kubectl see (gopkg.in/yaml.v2 resolve.go `resolve`, decode.go `scalar`): YAML 1.1 booleans including
/// `y`/`n`/`on`/`off`, `~`/`null`/empty as null, Go `ParseInt(_, 0, 64)` integers (`0x1F`, `0o17`, `0777`,
/// `0b101`, `+1`, `1_000`), floats matching go-yaml's `yamlStyleFloat` pattern, `.inf`/`.nan` spellings.
/// Timestamps stay strings, as v2 keeps them when decoding into `interface{}`.
enum YAMLScalarResolver {
  static let tagPrefix = "tag:yaml.org,2002:"

  private static let table: [String: YAMLScalar] = {
    var map: [String: YAMLScalar] = [:]
    for word in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"] { map[word] = .bool(true) }
    for word in ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"] { map[word] = .bool(false) }
    for word in ["", "~", "null", "Null", "NULL"] { map[word] = .null }
    for word in [".nan", ".NaN", ".NAN"] { map[word] = .float(.nan) }
    for word in [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"] { map[word] = .float(.infinity) }
    for word in ["-.inf", "-.Inf", "-.INF"] { map[word] = .float(-.infinity) }
    return map
  }()

  /// Resolves a plain, untagged scalar (go-yaml `resolve("", value)`).
  static func resolvePlain(_ text: String) -> YAMLScalar {
    guard let first = text.utf8.first else { return .null }
    let isSign = first == UInt8(ascii: "+") || first == UInt8(ascii: "-")
    let isDigit = first >= 48 && first <= 57
    let inMap = "yYnNtTfFoO~".utf8.contains(first)
    guard isSign || isDigit || inMap || first == UInt8(ascii: ".") else { return .string(text) }
    if let known = table[text] { return known }
    if first == UInt8(ascii: ".") {
      if let value = goStyleFloat(text) { return .float(value) }
    } else if isSign || isDigit {
      let plain = text.replacingUnderscores()
      if let integer = goParseInteger(plain) { return .int(integer) }
      if let value = goStyleFloat(plain) { return .float(value) }
    }
    return .string(text)
  }

  /// Resolves a scalar with its tag (`!!int`, `!!str`, …), failing as go-yaml does when they disagree.
  static func resolve(_ text: String, tag: String?, isPlainImplicit: Bool) throws(YAMLResolveFailure) -> YAMLScalar {
    guard let tag, tag != "!" else { return isPlainImplicit ? resolvePlain(text) : .string(text) }
    guard tag.hasPrefix(tagPrefix) else { return .string(text) }  // application tags: the text as is
    let short = String(tag.dropFirst(tagPrefix.count))
    let resolved = resolvePlain(text)
    switch (short, resolved) {
    case ("binary", _):
      guard let bytes = base64Decoded(text) else {
        throw YAMLResolveFailure(message: "!!binary value contains invalid base64 data")
      }
      return .string(String(decoding: bytes, as: UTF8.self))  // invalid UTF-8 becomes U+FFFD, as in encoding/json
    case ("str", _), ("timestamp", _): return .string(text)
    case ("null", .null), ("bool", .bool), ("int", .int), ("float", .float): return resolved
    case ("float", .int(let digits)): return .float(Double(digits) ?? 0)
    case ("null", _): return .string(text)
    case ("bool", _), ("int", _), ("float", _):
      throw YAMLResolveFailure(message: "cannot decode !!\(resolved.shortTag) `\(text)` as a !!\(short)")
    default: return .string(text)
    }
  }

  /// Go's `base64.StdEncoding.DecodeString`: standard alphabet, `=` padding required, `\r` and `\n` ignored.
  static func base64Decoded(_ text: String) -> [UInt8]? {
    func sextet(_ c: UInt8) -> UInt8? {
      switch c {
      case 65...90: return c - 65
      case 97...122: return c - 71
      case 48...57: return c + 4
      case UInt8(ascii: "+"): return 62
      case UInt8(ascii: "/"): return 63
      default: return nil
      }
    }
    let chars = text.utf8.filter { $0 != 0x0A && $0 != 0x0D }
    guard chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    var index = 0
    while index < chars.count {
      let quad = chars[index..<index + 4]
      let padding = quad.reversed().prefix { $0 == UInt8(ascii: "=") }.count
      guard padding <= 2, index + 4 == chars.count || padding == 0 else { return nil }
      var values: [UInt8] = []
      for c in quad.dropLast(padding) {
        guard let v = sextet(c) else { return nil }
        values.append(v)
      }
      let bits = values.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (18 - 6 * UInt32($1.offset)) }
      out.append(UInt8(bits >> 16 & 0xFF))
      if padding < 2 { out.append(UInt8(bits >> 8 & 0xFF)) }
      if padding < 1 { out.append(UInt8(bits & 0xFF)) }
      index += 4
    }
    return out
  }

  /// Go `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: decimal text of the value, or nil.
  static func goParseInteger(_ text: String) -> String? {
    var bytes = Substring(text).utf8[...]
    var negative = false
    var signed = false
    if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
      negative = first == UInt8(ascii: "-")
      signed = true
      bytes = bytes.dropFirst()
    }
    var radix: UInt64 = 10
    if bytes.count >= 2, bytes.first == UInt8(ascii: "0") {
      let marker = bytes[bytes.index(after: bytes.startIndex)] | 0x20
      switch marker {
      case UInt8(ascii: "x"): radix = 16; bytes = bytes.dropFirst(2)
      case UInt8(ascii: "o"): radix = 8; bytes = bytes.dropFirst(2)
      case UInt8(ascii: "b"): radix = 2; bytes = bytes.dropFirst(2)
      default: radix = 8; bytes = bytes.dropFirst(1)
      }
    }
    guard !bytes.isEmpty else { return nil }
    var magnitude: UInt64 = 0
    for byte in bytes {
      let digit: UInt64
      switch byte {
      case 48...57: digit = UInt64(byte - 48)
      case 97...102: digit = UInt64(byte - 87)
      case 65...70: digit = UInt64(byte - 55)
      default: return nil
      }
      guard digit < radix else { return nil }
      let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: radix)
      let (sum, overflow2) = shifted.addingReportingOverflow(digit)
      guard !overflow1, !overflow2 else { return nil }
      magnitude = sum
    }
    if negative {
      guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
      return magnitude == 0 ? "0" : "-" + String(magnitude)
    }
    // Beyond Int64 only ParseUint accepts it, and ParseUint takes no sign.
    guard magnitude <= UInt64(Int64.max) || !signed else { return nil }
    return String(magnitude)
  }

  /// go-yaml's `yamlStyleFloat` (`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`) then `ParseFloat`,
  /// which fails (leaving a string) when the value overflows to infinity.
  static func goStyleFloat(_ text: String) -> Double? {
    let b = Array(text.utf8)
    var i = 0
    func digits() -> Int {
      let start = i
      while i < b.count, b[i] >= 48 && b[i] <= 57 { i += 1 }
      return i - start
    }
    if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
    if i < b.count, b[i] == UInt8(ascii: ".") {
      i += 1
      guard digits() > 0 else { return nil }
    } else {
      guard digits() > 0 else { return nil }
      if i < b.count, b[i] == UInt8(ascii: ".") {
        i += 1
        _ = digits()
      }
    }
    if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
      i += 1
      if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
      guard digits() > 0 else { return nil }
    }
    guard i == b.count else { return nil }
    // The pattern is a subset of what strtod (behind `Double(_:)`) reads, `1.` and `.5` included.
    guard let value = Double(text) else { return nil }
    return value.isFinite ? value : nil
  }
}

/// A tag that does not fit its scalar, reported by the composer with the scalar's position.
struct YAMLResolveFailure: Error {
  var message: String
}

extension YAMLScalar {
  /// go-yaml's short tag of the resolved type (`str`, `int`, …).
  var shortTag: String {
    switch self {
    case .null: return "null"
    case .bool: return "bool"
    case .int: return "int"
    case .float: return "float"
    case .string: return "str"
    }
  }
}

extension String {
  func replacingUnderscores() -> String { String(unicodeScalars.filter { $0 != "_" }.map(Character.init)) }

}
