/// A Kubernetes resource quantity such as `100m`, `1Gi`, `1e3` or `0.5`.
///
/// Parsing, rounding and the canonical form follow apimachinery's `resource.Quantity`
/// (k8s.io/apimachinery/pkg/api/resource/quantity.go, amount.go, suffix.go):
/// - suffixes are binary SI (`Ki`…`Ei`), decimal SI (`n u m k M G T P E`) or a decimal exponent (`e3`, `E-2`);
/// - values are rounded *up* (away from zero) to a whole nano unit, so asking for a tiny amount still asks
///   for some; binary-SI amounts are capped at 2⁶³−1;
/// - the canonical form keeps the format of the input, uses the largest suffix that keeps an integer
///   mantissa and an exponent that is a multiple of three (`1.5Gi` → `1536Mi`, `0.5` → `500m`,
///   `1000m` → `1`, `1e3` stays `1e3` because its format is DecimalExponent).
///
/// Comparison is exact (decimal digits of any length, never `Double`); equality ignores the format, so
/// `1Ki == 1024`, as upstream's `Cmp`.
public struct Quantity: Sendable, Comparable, Hashable, CustomStringConvertible {
  /// How a quantity prints: the suffix family of the text it was parsed from.
  public enum Format: String, Sendable {
    /// `Ki`, `Mi`, … (powers of 1024).
    case binarySI = "BinarySI"
    /// `m`, `k`, `M`, … (powers of 1000).
    case decimalSI = "DecimalSI"
    /// `e3`, `E-6` (powers of ten).
    case decimalExponent = "DecimalExponent"
  }

  /// The suffix family used by `canonical`.
  public let format: Format
  private let isNegative: Bool
  /// The magnitude's digits with trailing zeros moved into `exponent`.
  private let mantissa: DecimalDigits
  private let exponent: Int

  private init(negative: Bool, magnitude: DecimalDigits, exponent: Int, format: Format) {
    let zeros = magnitude.trailingZeros
    self.mantissa = zeros > 0 ? DecimalDigits(Array(magnitude.digits.dropLast(zeros))) : magnitude
    self.exponent = magnitude.isZero ? 0 : exponent + zeros
    self.isNegative = negative && !magnitude.isZero
    self.format = format
  }

  private static let decimalSuffixes: [(String, Int)] = [
    ("n", -9), ("u", -6), ("m", -3), ("", 0), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18),
  ]
  private static let binarySuffixes: [(String, Int)] = [
    ("Ki", 10), ("Mi", 20), ("Gi", 30), ("Ti", 40), ("Pi", 50), ("Ei", 60),
  ]
  /// 2⁶³−1, upstream's `maxAllowed` for binary-SI amounts.
  private static let maximumBinary = DecimalDigits(UInt64(Int64.max))

  /// The quantity `value` × 10^`scale`, printed in `format`: apimachinery's `NewScaledQuantity`
  /// followed by setting `Format`, how metrics-server builds its usage quantities.
  public init(_ value: UInt64, scale: Int = 0, format: Format) {
    self.init(negative: false, magnitude: DecimalDigits(value), exponent: scale, format: format)
  }

  /// Parses a quantity.
  ///
  /// Upstream quirks kept on purpose: `+1`, `1.` and `.5` are accepted, as are a lone sign (`-`, zero) and
  /// leading zeros (`007`).
  /// - Throws: `QuantityError.formatWrong` when the text does not have the shape number-then-suffix,
  ///   `QuantityError.suffix` for an unknown suffix such as `1K` or `1ki`.
  public init(parsing text: String) throws(QuantityError) {
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { throw .formatWrong }
    var position = 0
    var negative = false
    if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
      negative = bytes[0] == UInt8(ascii: "-")
      position = 1
    }
    func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    while position < bytes.count, bytes[position] == UInt8(ascii: "0") { position += 1 }
    if position == bytes.count {  // only zeros (or nothing) after the sign
      self.init(negative: false, magnitude: DecimalDigits([]), exponent: 0, format: .decimalSI)
      return
    }
    let numberStart = position
    while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    let whole = bytes[numberStart..<position]
    var fraction: ArraySlice<UInt8> = []
    if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
      position += 1
      let fractionStart = position
      while position < bytes.count, isDigit(bytes[position]) { position += 1 }
      fraction = bytes[fractionStart..<position]
    }
    // Suffix: letters from "eEinumkKMGTP", an optional sign, then digits to the end (quantity.go).
    let suffixStart = position
    while position < bytes.count, "eEinumkKMGTP".utf8.contains(bytes[position]) { position += 1 }
    if position < bytes.count, bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+") { position += 1 }
    while position < bytes.count, isDigit(bytes[position]) { position += 1 }
    guard position == bytes.count else { throw .formatWrong }
    let suffix = String(decoding: bytes[suffixStart...], as: UTF8.self)

    var format: Format
    var base10Exponent = 0
    var binaryExponent = 0
    if let match = Quantity.decimalSuffixes.first(where: { $0.0 == suffix }) {
      format = .decimalSI
      base10Exponent = match.1
    } else if let match = Quantity.binarySuffixes.first(where: { $0.0 == suffix }) {
      format = .binarySI
      binaryExponent = match.1
    } else if suffix.utf8.count > 1, suffix.hasPrefix("e") || suffix.hasPrefix("E"), let value = Int64(suffix.dropFirst()) {
      format = .decimalExponent
      base10Exponent = Int(Int32(truncatingIfNeeded: value))  // upstream converts to int32
    } else {
      throw .suffix
    }

    var magnitude = DecimalDigits(ascii: whole + fraction)
    var exponent = base10Exponent - fraction.count
    if binaryExponent > 0 {
      for _ in 0..<(binaryExponent / 10) { magnitude = magnitude.multiplied(by: 1024) }
    }
    // Round up to whole nano units: "if you want some resources, you should get some resources".
    if exponent < -9 {
      magnitude = magnitude.droppingRoundingUp(-9 - exponent)
      exponent = -9
    }
    if format == .binarySI {
      if Quantity.compareMagnitudes(magnitude, exponent, Quantity.maximumBinary, 0) > 0 {
        magnitude = Quantity.maximumBinary
        exponent = 0
      }
      if !magnitude.isZero, Quantity.compareMagnitudes(magnitude, exponent, DecimalDigits([1]), 0) < 0 {
        format = .decimalSI  // "This avoids rounding and hopefully confusion, too."
      }
    }
    self.init(negative: negative, magnitude: magnitude, exponent: exponent, format: format)
  }

  /// Compares |a|·10^ea with |b|·10^eb without building huge powers of ten.
  private static func compareMagnitudes(_ a: DecimalDigits, _ ea: Int, _ b: DecimalDigits, _ eb: Int) -> Int {
    if a.isZero || b.isZero { return a.isZero ? (b.isZero ? 0 : -1) : 1 }
    let orderA = a.digits.count + ea
    let orderB = b.digits.count + eb
    if orderA != orderB { return orderA < orderB ? -1 : 1 }
    // Same order of magnitude: align on the smaller exponent; the shift is bounded by the digit counts.
    let low = min(ea, eb)
    let left = a.shifted(by: ea - low)
    let right = b.shifted(by: eb - low)
    return left == right ? 0 : (left < right ? -1 : 1)
  }

  /// Whether the quantity is zero.
  public var isZero: Bool { mantissa.isZero }

  /// The canonical text, as `Quantity.String()` prints a quantity that was not parsed from canonical text.
  ///
  /// Binary SI is used only for whole numbers of at least 1024 in magnitude; otherwise decimal SI. Decimal
  /// SI beyond `E` falls back to an exponent (`1000E` → `1e21`), as current apimachinery does.
  public var canonical: String {
    if isZero { return "0" }
    let sign = isNegative ? "-" : ""
    if format == .binarySI, exponent >= 0, Quantity.compareMagnitudes(mantissa, exponent, DecimalDigits(1024), 0) >= 0 {
      var value = mantissa.shifted(by: exponent)
      var power = 0
      while power < 6 {
        let (quotient, exact) = value.divided(by: 1024)
        guard exact else { break }
        value = quotient
        power += 1
      }
      let suffix = power == 0 ? "" : Quantity.binarySuffixes[power - 1].0
      return sign + value.text + suffix
    }
    // Lower the exponent to a multiple of three, moving zeros into the digits.
    let target = exponent >= 0 ? exponent - exponent % 3 : -((-exponent + 2) / 3) * 3
    let digits = mantissa.shifted(by: exponent - target).text
    if format != .decimalExponent, let suffix = Quantity.decimalSuffixes.first(where: { $0.1 == target }) {
      return sign + digits + suffix.0
    }
    return sign + digits + (target == 0 ? "" : "e\(target)")
  }

  /// The canonical text.
  public var description: String { canonical }

  /// The value as a double, rounded as binary floating point must; use comparisons for exact answers.
  public var doubleValue: Double {
    Double((isNegative ? "-" : "") + mantissa.text + "e\(exponent)") ?? (isNegative ? -.infinity : .infinity)
  }

  /// Compares values exactly, ignoring the format.
  public static func < (lhs: Quantity, rhs: Quantity) -> Bool {
    if lhs.isNegative != rhs.isNegative { return lhs.isNegative }
    let magnitude = compareMagnitudes(lhs.mantissa, lhs.exponent, rhs.mantissa, rhs.exponent)
    return lhs.isNegative ? magnitude > 0 : magnitude < 0
  }

  /// Equal values are equal whatever their format (`1Ki == 1024`), as upstream's `Cmp`.
  public static func == (lhs: Quantity, rhs: Quantity) -> Bool {
    lhs.isNegative == rhs.isNegative && lhs.mantissa == rhs.mantissa && lhs.exponent == rhs.exponent
  }

  /// Hashes the value, not the format, consistent with `==`.
  public func hash(into hasher: inout Hasher) {
    hasher.combine(isNegative)
    hasher.combine(mantissa)
    hasher.combine(exponent)
  }
}

/// Why a quantity could not be parsed; the descriptions are apimachinery's error texts.
public enum QuantityError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The text is not a number followed by a suffix.
  case formatWrong
  /// The suffix is not one of the known ones.
  case suffix

  /// apimachinery's message (`ErrFormatWrong`, `ErrSuffix`).
  public var description: String {
    switch self {
    case .formatWrong:
      return "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    case .suffix:
      return "unable to parse quantity's suffix"
    }
  }
}
