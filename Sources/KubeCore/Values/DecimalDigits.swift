/// An unsigned integer of any size kept as decimal digits, most significant first, without leading zeros.
///
/// Quantities need exact arithmetic beyond 64 bits (apimachinery falls back to `inf.Dec` and `big.Int`),
/// but only a handful of operations: scaling by small numbers, dividing by 1024, comparing and rounding.
/// Decimal digits make those and printing trivial; the inputs are short strings typed by people.
struct DecimalDigits: Sendable, Hashable, Comparable {
  /// Digit values 0...9; empty means zero.
  private(set) var digits: [UInt8]

  init(_ digits: [UInt8]) {
    self.digits = Array(digits.drop(while: { $0 == 0 }))
  }

  /// Parses ASCII digits; the caller has checked them.
  init<S: Sequence>(ascii: S) where S.Element == UInt8 {
    self.init(ascii.map { $0 &- 48 })
  }

  init(_ value: UInt64) { self.init(ascii: Array(String(value).utf8)) }

  var isZero: Bool { digits.isEmpty }

  var text: String { isZero ? "0" : String(decoding: digits.map { $0 + 48 }, as: UTF8.self) }

  /// The number of trailing zero digits.
  var trailingZeros: Int {
    var count = 0
    for digit in digits.reversed() {
      guard digit == 0 else { break }
      count += 1
    }
    return count
  }

  /// Multiplies by a small factor (at most 2³²).
  func multiplied(by factor: UInt64) -> DecimalDigits {
    var result: [UInt8] = []
    var carry: UInt64 = 0
    for digit in digits.reversed() {
      let product = UInt64(digit) * factor + carry
      result.append(UInt8(product % 10))
      carry = product / 10
    }
    while carry > 0 {
      result.append(UInt8(carry % 10))
      carry /= 10
    }
    return DecimalDigits(result.reversed())
  }

  /// Divides by a small divisor, returning the quotient and whether the division was exact.
  func divided(by divisor: UInt64) -> (quotient: DecimalDigits, exact: Bool) {
    var quotient: [UInt8] = []
    var remainder: UInt64 = 0
    for digit in digits {
      let current = remainder * 10 + UInt64(digit)
      quotient.append(UInt8(current / divisor))
      remainder = current % divisor
    }
    return (DecimalDigits(quotient), remainder == 0)
  }

  /// Appends `count` zero digits (multiplies by 10^count).
  func shifted(by count: Int) -> DecimalDigits {
    isZero ? self : DecimalDigits(digits + repeatElement(0, count: count))
  }

  /// Drops the last `count` digits, rounding away from zero when any of them is non-zero.
  func droppingRoundingUp(_ count: Int) -> DecimalDigits {
    guard count > 0 else { return self }
    if count >= digits.count { return isZero ? self : DecimalDigits([1]) }
    let kept = DecimalDigits(Array(digits.dropLast(count)))
    let roundUp = digits.suffix(count).contains { $0 != 0 }
    return roundUp ? kept.adding(1) : kept
  }

  private func adding(_ one: UInt8) -> DecimalDigits {
    var result = Array(digits.reversed())
    var carry = one
    var i = 0
    while carry > 0 {
      if i == result.count { result.append(0) }
      let sum = result[i] + carry
      result[i] = sum % 10
      carry = sum / 10
      i += 1
    }
    return DecimalDigits(result.reversed())
  }

  static func < (lhs: DecimalDigits, rhs: DecimalDigits) -> Bool {
    if lhs.digits.count != rhs.digits.count { return lhs.digits.count < rhs.digits.count }
    return lhs.digits.lexicographicallyPrecedes(rhs.digits)
  }
}
