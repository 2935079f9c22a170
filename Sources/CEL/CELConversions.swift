#if canImport(Glibc)
import Glibc  // pow; the target stays free of Foundation (EdgeML links FoundationEssentials only)
#elseif canImport(Darwin)
import Darwin
#endif
import KubeCore

/// Type conversions (`int()`, `uint()`, `double()`, `string()`, `bool()`, `bytes()`, `duration()`,
/// `timestamp()`) and the Kubernetes `quantity()`/`isQuantity()` constructors.
///
/// Ranges and formats follow langdef.md "Type Conversions" and cel-go `common/types/{int,uint,double,
/// string,duration,timestamp}.go`; doubles print as Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
package enum CELConversions {
  package static func convert(_ name: String, _ args: [CELValue], cost: inout CELCost) throws(CELEvalError) -> CELValue {
    guard args.count == 1 else { throw CELEvalError.noSuchOverload }
    let v = args[0]
    switch name {
    case "int":
      switch v {
      case .int: return v
      case .uint(let u):
        guard u <= UInt64(Int64.max) else { throw .error("integer overflow") }
        return .int(Int64(u))
      case .double(let d):
        guard d.isFinite, d > -9223372036854775809.0, d < 9223372036854775808.0 else { throw .error("integer overflow") }
        return .int(Int64(d.rounded(.towardZero)))
      case .string(let s):
        guard let i = Int64(s) else { throw .error("cannot convert string '\(s)' to int") }
        return .int(i)
      case .timestamp(let t): return .int(t.secondsSinceEpoch)
      case .duration(let d): return .int(d)
      default: throw CELEvalError.noSuchOverload
      }
    case "uint":
      switch v {
      case .uint: return v
      case .int(let i):
        guard i >= 0 else { throw .error("unsigned integer overflow") }
        return .uint(UInt64(i))
      case .double(let d):
        guard d.isFinite, d > -1, d < 18446744073709551616.0 else { throw .error("unsigned integer overflow") }
        return .uint(UInt64(d.rounded(.towardZero)))
      case .string(let s):
        guard let u = UInt64(s) else { throw .error("cannot convert string '\(s)' to uint") }
        return .uint(u)
      default: throw CELEvalError.noSuchOverload
      }
    case "double":
      switch v {
      case .double: return v
      case .int(let i): return .double(Double(i))
      case .uint(let u): return .double(Double(u))
      case .string(let s):
        guard let d = Double(s) else { throw .error("cannot convert string '\(s)' to double") }
        return .double(d)
      default: throw CELEvalError.noSuchOverload
      }
    case "string":
      try cost.charge(1)
      switch v {
      case .string: return v
      case .int(let i): return .string(String(i))
      case .uint(let u): return .string(String(u))
      case .double(let d): return .string(goFormat(d))
      case .bool(let b): return .string(b ? "true" : "false")
      case .bytes(let b):
        guard let s = String(validating: b, as: UTF8.self) else { throw .error("invalid UTF-8 in bytes, cannot convert to string") }
        return .string(s)
      case .duration(let d): return .string(durationText(d))
      case .timestamp(let t): return .string(t.nanoseconds == 0 ? t.rfc3339 : t.rfc3339Micro)
      case .quantity(let q): return .string(q.canonical)
      default: throw CELEvalError.noSuchOverload
      }
    case "bool":
      switch v {
      case .bool: return v
      case .string(let s):
        switch s {
        case "1", "t", "true", "TRUE", "True": return .bool(true)
        case "0", "f", "false", "FALSE", "False": return .bool(false)
        default: throw .error("type conversion error from 'string' to 'bool'")
        }
      default: throw CELEvalError.noSuchOverload
      }
    case "bytes":
      switch v {
      case .bytes: return v
      case .string(let s): return .bytes(Array(s.utf8))
      default: throw CELEvalError.noSuchOverload
      }
    case "duration":
      switch v {
      case .duration: return v
      case .string(let s):
        do { return .duration(try GoDuration(parsing: s).nanoseconds) } catch {
          throw .error("type conversion error from 'string' to 'google.protobuf.Duration'")
        }
      default: throw CELEvalError.noSuchOverload
      }
    case "timestamp":
      switch v {
      case .timestamp: return v
      case .string(let s):
        do { return .timestamp(try Timestamp(rfc3339: s)) } catch {
          throw .error("type conversion error from 'string' to 'google.protobuf.Timestamp'")
        }
      case .int(let i): return .timestamp(try Timestamp(secondsSinceEpoch: 0).advanced(seconds: i))
      default: throw CELEvalError.noSuchOverload
      }
    case "quantity":
      guard case .string(let s) = v else { throw CELEvalError.noSuchOverload }
      do { return .quantity(try Quantity(parsing: s)) } catch { throw .error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'") }
    case "isQuantity":
      guard case .string(let s) = v else { throw CELEvalError.noSuchOverload }
      return .bool((try? Quantity(parsing: s)) != nil)
    default:
      throw .error("no such overload: \(name)")
    }
  }

  /// `'…'.format([args])` of cel-go `ext/strings.go`: `%s`, `%d`, `%f` (with `.N` precision), `%e`, `%x`,
  /// `%X`, `%o`, `%b` and `%%`.
  package static func format(_ template: String, _ values: [CELValue]) throws(CELEvalError) -> String {
    var out = ""
    var next = 0
    var scalars = template.unicodeScalars.makeIterator()
    func argument() throws(CELEvalError) -> CELValue {
      guard next < values.count else { throw .error("index \(next) out of range") }
      defer { next += 1 }
      return values[next]
    }
    while let c = scalars.next() {
      guard c == "%" else { out.unicodeScalars.append(c); continue }
      var precision: Int?
      var verb = scalars.next()
      if verb == "." {
        var digits = ""
        while let d = scalars.next() {
          if d >= "0" && d <= "9" { digits.unicodeScalars.append(d) } else { verb = d; break }
        }
        precision = Int(digits)
      }
      switch verb {
      case "%"?: out += "%"
      case "s"?:
        let v = try argument()
        switch v {
        case .string(let s): out += s
        case .list, .keyedList, .map, .null, .type: out += display(v)
        default:
          var cost = CELCost(limit: .max)
          guard case .string(let s) = try convert("string", [v], cost: &cost) else { throw CELEvalError.noSuchOverload }
          out += s
        }
      case "d"?:
        switch try argument() {
        case .int(let i): out += String(i)
        case .uint(let u): out += String(u)
        case .double(let d) where d == d.rounded() && abs(d) < 9.2e18: out += String(Int64(d))
        default: throw .error("error during formatting: decimal clause can only be used on integers")
        }
      case "f"?, "e"?:
        let d: Double
        switch try argument() {
        case .double(let x): d = x
        case .int(let i): d = Double(i)
        case .uint(let u): d = Double(u)
        default: throw .error("error during formatting: fixed-point clause can only be used on doubles")
        }
        out += verb == "f" ? fixed(d, precision ?? 6) : scientific(d, precision ?? 6)
      case "x"?, "X"?, "o"?, "b"?:
        let radix = verb == "o" ? 8 : (verb == "b" ? 2 : 16)
        var text: String
        switch try argument() {
        case .int(let i): text = (i < 0 ? "-" : "") + String(i.magnitude, radix: radix)
        case .uint(let u): text = String(u, radix: radix)
        case .string(let s) where radix == 16: text = s.utf8.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        default: throw .error("error during formatting: only integers and strings can be formatted as hex")
        }
        if verb == "X" { text = text.uppercased() }
        out += text
      default:
        throw .error("could not parse formatting clause: unrecognized formatting clause")
      }
    }
    return out
  }

  /// Go's `%.Nf`, nearly (magnitudes whose scaled value passes Int64 fall back to the shortest form).
  package static func fixed(_ d: Double, _ digits: Int) -> String {
    let digits = min(max(digits, 0), 17)
    let scale = (0..<digits).reduce(Int64(1)) { r, _ in r * 10 }
    // Go rounds the exact binary value half to even; rounding the scaled double matches it except when
    // the scaling itself rounds (2.675 → "2.68" here, "2.67" in Go)
    let scaled = (d.magnitude * Double(scale)).rounded(.toNearestOrEven)
    guard d.isFinite, scaled < 9.2e18 else { return goFormat(d) }
    let units = Int64(scaled)
    var text = String(units / scale)
    if digits > 0 {
      let fraction = String(units % scale)
      text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return (d < 0 && units != 0 ? "-" : "") + text
  }

  /// Go's `%.Ne`.
  package static func scientific(_ d: Double, _ digits: Int) -> String {
    if d == 0 { return fixed(0, digits) + "e+00" }
    if !d.isFinite { return goFormat(d) }
    var exponent = Int(log10(d.magnitude).rounded(.down))
    var mantissa = d.magnitude / pow(10, Double(exponent))
    if mantissa >= 10 { mantissa /= 10; exponent += 1 }
    let e = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
    return (d < 0 ? "-" : "") + fixed(mantissa, digits) + "e" + (exponent < 0 ? "-" : "+") + e
  }

  /// A map key as cel-go prints it in `no such key: …`.
  package static func display(_ v: CELValue) -> String {
    switch v {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .uint(let u): return String(u)
    case .double(let d): return goFormat(d)
    case .bool(let b): return b ? "true" : "false"
    default: return v.typeName
    }
  }

  /// A duration as CEL's `string(duration)` prints it: seconds with up to nine decimals and `s`.
  package static func durationText(_ nanos: Int64) -> String {
    let negative = nanos < 0
    let magnitude = nanos.magnitude
    var text = String(magnitude / 1_000_000_000)
    let fraction = magnitude % 1_000_000_000
    if fraction != 0 {
      var digits = String(fraction)
      digits = String(repeating: "0", count: 9 - digits.count) + digits
      while digits.hasSuffix("0") { digits.removeLast() }
      text += "." + digits
    }
    return (negative ? "-" : "") + text + "s"
  }

  /// Formats a double as Go's `strconv.FormatFloat(d, 'g', -1, 64)`: shortest digits, exponent form
  /// when the decimal exponent is below -4 or at least 6 (Go's `eprec` for shortest formatting).
  package static func goFormat(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Inf" : "+Inf" }
    if d == 0 { return d.sign == .minus ? "-0" : "0" }
    // Swift's description gives the shortest round-trip digits.
    var text = "\(d.magnitude)"
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      exponent = Int(text[text.index(after: e)...]) ?? 0
      text = String(text[..<e])
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let intPart = String(parts.first ?? "0"), fracPart = parts.count > 1 ? String(parts[1]) : ""
    var digits = intPart + fracPart
    var pointPosition = intPart.count + exponent   // digits before the decimal point
    while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointPosition -= 1 }
    while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
    let exp10 = pointPosition - 1
    let sign = d < 0 ? "-" : ""
    if exp10 < -4 || exp10 >= 6 {
      var mantissa = String(digits.prefix(1))
      if digits.count > 1 { mantissa += "." + digits.dropFirst() }
      let e = abs(exp10) < 10 ? "0\(abs(exp10))" : "\(abs(exp10))"
      return "\(sign)\(mantissa)e\(exp10 < 0 ? "-" : "+")\(e)"
    }
    if pointPosition <= 0 { return sign + "0." + String(repeating: "0", count: -pointPosition) + digits }
    if pointPosition >= digits.count { return sign + digits + String(repeating: "0", count: pointPosition - digits.count) }
    let split = digits.index(digits.startIndex, offsetBy: pointPosition)
    return sign + digits[..<split] + "." + digits[split...]
  }
}

extension Timestamp {
  fileprivate func advanced(seconds: Int64) throws(CELEvalError) -> Timestamp {
    let (s, o) = secondsSinceEpoch.addingReportingOverflow(seconds)
    guard !o, s >= -62135596800, s <= 253402300799 else { throw .error("timestamp overflow") }
    return Timestamp(secondsSinceEpoch: s, nanoseconds: nanoseconds)
  }
}
