#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses one number from a slice of a file's bytes, correctly rounded, or nothing.
///
/// Reading text is most of what `edgeml stats` costs on large files, and glibc's `strtod` alone
/// takes ~0.8 µs per 17-digit number on the development machine, so the usual shape of a number —
/// an optional sign, at most 19 significant decimal digits, an optional exponent, with a decimal
/// exponent q (value = w·10^q) of at most 27 in magnitude — is converted here with exact integer
/// arithmetic: 5^|q| < 2⁶³, so w·5^q is an exact 128-bit product, and w/5^|q| an exact 64-bit
/// quotient of at least 62 bits with its remainder; rounding that to 53 bits with the remainder as
/// sticky bit is correct rounding (ties to even), and the factor 2^q is exact. This is Clinger's
/// observation ("How to read floating point numbers accurately", PLDI 1990) that exact operands
/// give exact results, carried to 64-bit integers. Every other spelling (more digits, larger
/// exponents, hexadecimal, `inf`, `nan`) goes to `strtod`, which rounds correctly too (glibc uses
/// exact multi-precision arithmetic), on a NUL-terminated copy of the slice. Either way the value is
/// accepted only when the whole slice is the number: "5 6", "5abc" and "" are not numbers. The
/// process never calls `setlocale`, so `strtod`'s decimal point is '.'.
struct DecimalParser {
  private var scratch = [CChar](repeating: 0, count: 64)

  /// The number the bytes spell (decimal or hexadecimal notation, `inf`, `infinity`, `nan`, with an
  /// optional sign), or nil when they are anything else.
  mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    if let value = Self.parseShortDecimal(bytes) { return value }
    return parseWithStrtod(bytes)
  }

  /// `strtod` on a NUL-terminated copy of the bytes.
  mutating func parseWithStrtod(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    guard let source = bytes.baseAddress, !bytes.isEmpty else { return nil }
    if scratch.count <= bytes.count { scratch = [CChar](repeating: 0, count: bytes.count + 1) }
    return scratch.withUnsafeMutableBufferPointer { buffer -> Double? in
      guard let text = buffer.baseAddress else { return nil }
      UnsafeMutableRawPointer(text).copyMemory(from: source, byteCount: bytes.count)
      text[bytes.count] = 0
      var end: UnsafeMutablePointer<CChar>?
      let value = strtod(text, &end)
      return end == text + bytes.count ? value : nil
    }
  }

  /// [+-]digits[.digits][(e|E)[+-]digits] with ≤ 19 significant digits and |q| ≤ 27, exactly; nil for
  /// anything else (which may still be a number `strtod` reads).
  static func parseShortDecimal(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
    let count = bytes.count
    var i = 0
    var negative = false
    if i < count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    var w: UInt64 = 0
    var significant = 0, exponent = 0, digits = 0
    while i < count, let d = digit(bytes[i]) {
      if w != 0 || d != 0 { significant += 1; w = w &* 10 &+ d }
      digits += 1
      i += 1
    }
    if i < count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      while i < count, let d = digit(bytes[i]) {
        if w != 0 || d != 0 { significant += 1; w = w &* 10 &+ d }
        exponent -= 1
        digits += 1
        i += 1
      }
    }
    guard digits > 0, significant <= 19 else { return nil }
    if i < count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      var exponentNegative = false
      if i < count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
        exponentNegative = bytes[i] == UInt8(ascii: "-")
        i += 1
      }
      var e = 0, exponentDigits = 0
      while i < count, let d = digit(bytes[i]) {
        if e < 100_000 { e = e * 10 + Int(d) }
        exponentDigits += 1
        i += 1
      }
      guard exponentDigits > 0 else { return nil }
      exponent += exponentNegative ? -e : e
    }
    guard i == count else { return nil }
    if w == 0 { return negative ? -0.0 : 0.0 }
    guard exponent.magnitude <= 27 else { return nil }
    let magnitude = exponent >= 0 ? scaledUp(w, by: exponent) : scaledDown(w, by: -exponent)
    return negative ? -magnitude : magnitude
  }

  @inline(__always) private static func digit(_ byte: UInt8) -> UInt64? {
    byte &- UInt8(ascii: "0") < 10 ? UInt64(byte &- UInt8(ascii: "0")) : nil
  }

  /// 5^0 … 5^27, the powers below 2⁶³.
  private static let powersOfFive: [UInt64] = (0...27).reduce(into: []) { powers, i in powers.append(i == 0 ? 1 : powers[i - 1] * 5) }

  /// w·10^e = (w·5^e)·2^e, the product exact in 128 bits.
  private static func scaledUp(_ w: UInt64, by e: Int) -> Double {
    let (high, low) = w.multipliedFullWidth(by: powersOfFive[e])
    if high == 0 { return rounded(low, sticky: false, twoExponent: e) }
    // 128 bits: keep the top 64 (from the first set bit), the rest is sticky.
    let shift = 64 - high.leadingZeroBitCount
    let top = (high << (64 - shift)) | (low >> shift)
    let sticky = low << (64 - shift) != 0   // shift is 1…63: the product is below 2¹²⁷
    return rounded(top, sticky: sticky, twoExponent: e + shift)
  }

  /// w/10^e = (w/5^e)·2^-e: w normalised to 64 bits and shifted left by s so that the quotient by
  /// 5^e has 62–64 bits; the remainder is sticky.
  private static func scaledDown(_ w: UInt64, by e: Int) -> Double {
    let divisor = powersOfFive[e]
    let normalize = w.leadingZeroBitCount
    let numerator = w << normalize
    let s = 63 - divisor.leadingZeroBitCount   // bit length of 5^e, minus one
    let high = s == 0 ? 0 : numerator >> (64 - s)
    let low = numerator << s
    let (quotient, remainder) = divisor.dividingFullWidth((high, low))
    return rounded(quotient, sticky: remainder != 0, twoExponent: -e - normalize - s)
  }

  /// The double nearest to (m + f)·2^twoExponent, where 0 < f < 1 when `sticky` and f = 0 otherwise,
  /// ties to even; m > 0. The result is a normal double for every input `parseShortDecimal` accepts.
  private static func rounded(_ m: UInt64, sticky: Bool, twoExponent: Int) -> Double {
    // Normalise to 64 bits, so 11 bits are rounded off and f lies below their last one.
    let normalize = m.leadingZeroBitCount
    let full = m << normalize
    var mantissa = full >> 11
    let rest = full & 0x7FF
    if rest > 0x400 || (rest == 0x400 && (sticky || mantissa & 1 == 1)) { mantissa += 1 }
    return Double(sign: .plus, exponent: twoExponent - normalize + 11, significand: Double(mantissa))
  }
}
