/// A signed span of nanoseconds written the way Go writes durations: `1h30m`, `500ms`, `1.5h`, `-2m`.
///
/// Kubernetes fields such as `metav1.Duration` and many flags carry Go's `time.Duration` text, so both
/// directions follow Go's `time` package (go/src/time/format.go: `ParseDuration`, `Duration.String`):
/// units `ns`, `us`, `µs`/`μs`, `ms`, `s`, `m`, `h`; fractions are exact to the nanosecond; the range is that
/// of `Int64` nanoseconds (about 292 years).
public struct GoDuration: Sendable, Comparable, Hashable, CustomStringConvertible {
  /// The length in nanoseconds.
  public var nanoseconds: Int64

  /// Creates a duration from nanoseconds.
  public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

  private static let units: [String: UInt64] = [
    "ns": 1, "us": 1_000, "\u{00B5}s": 1_000, "\u{03BC}s": 1_000, "ms": 1_000_000,
    "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
  ]
  private static let limit: UInt64 = 1 << 63

  /// Parses Go's duration syntax, `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or a bare `0`.
  ///
  /// - Throws: `GoDurationError` with Go's message: `time: invalid duration "1x"`-style texts for
  ///   missing digits, overflow and empty input, `time: missing unit in duration "1"`, and
  ///   `time: unknown unit "d" in duration "1d"`.
  public init(parsing text: String) throws(GoDurationError) {
    let original = text
    var rest = Substring(text).utf8[...]
    var negative = false
    if let first = rest.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
      negative = first == UInt8(ascii: "-")
      rest = rest.dropFirst()
    }
    let invalid = GoDurationError("time: invalid duration " + GoDuration.quote(original))
    if rest.elementsEqual("0".utf8) { self.init(nanoseconds: 0); return }
    guard !rest.isEmpty else { throw invalid }
    func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    var total: UInt64 = 0
    while let first = rest.first {
      guard first == UInt8(ascii: ".") || isDigit(first) else { throw invalid }
      var whole: UInt64 = 0
      var consumedWhole = false
      while let d = rest.first, isDigit(d) {
        guard whole <= GoDuration.limit / 10 else { throw invalid }
        whole = whole * 10 + UInt64(d - 48)
        guard whole <= GoDuration.limit else { throw invalid }
        rest = rest.dropFirst()
        consumedWhole = true
      }
      var fraction: UInt64 = 0
      var scale: Double = 1
      var consumedFraction = false
      if rest.first == UInt8(ascii: ".") {
        rest = rest.dropFirst()
        var overflow = false
        while let d = rest.first, isDigit(d) {
          rest = rest.dropFirst()
          consumedFraction = true
          // Digits beyond what fits are ignored, as Go's leadingFraction does.
          if overflow { continue }
          if fraction > (UInt64(Int64.max)) / 10 { overflow = true; continue }
          let next = fraction * 10 + UInt64(d - 48)
          if next > GoDuration.limit { overflow = true; continue }
          fraction = next
          scale *= 10
        }
      }
      guard consumedWhole || consumedFraction else { throw invalid }
      var unitEnd = rest.startIndex
      while unitEnd < rest.endIndex, rest[unitEnd] != UInt8(ascii: "."), !isDigit(rest[unitEnd]) {
        unitEnd = rest.index(after: unitEnd)
      }
      guard unitEnd != rest.startIndex else {
        throw GoDurationError("time: missing unit in duration " + GoDuration.quote(original))
      }
      let unitName = String(decoding: rest[..<unitEnd], as: UTF8.self)
      rest = rest[unitEnd...]
      guard let unit = GoDuration.units[unitName] else {
        throw GoDurationError("time: unknown unit " + GoDuration.quote(unitName) + " in duration " + GoDuration.quote(original))
      }
      guard whole <= GoDuration.limit / unit else { throw invalid }
      var value = whole * unit
      if fraction > 0 {
        // Double keeps fractions of an hour exact to the nanosecond (Go's comment: at most 3.6e12 ns).
        value += UInt64(Double(fraction) * (Double(unit) / scale))
        guard value <= GoDuration.limit else { throw invalid }
      }
      let (sum, overflow) = total.addingReportingOverflow(value)
      guard !overflow, sum <= GoDuration.limit else { throw invalid }
      total = sum
    }
    if negative {
      self.init(nanoseconds: total == GoDuration.limit ? Int64.min : -Int64(total))
    } else {
      guard total <= UInt64(Int64.max) else { throw invalid }
      self.init(nanoseconds: Int64(total))
    }
  }

  /// Go's `quote`: printable ASCII as is (with `"` and `\` escaped), every other byte as `\xNN`.
  static func quote(_ text: String) -> String {
    let hex = Array("0123456789abcdef".utf8)
    var out: [UInt8] = [UInt8(ascii: "\"")]
    for byte in text.utf8 {
      if byte >= 0x80 || byte < 0x20 {
        out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
      } else {
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
        out.append(byte)
      }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
  }

  /// The length in seconds, as a double.
  public var seconds: Double { Double(nanoseconds) / 1e9 }

  /// Go's `Duration.String()`: `1h30m0s`, `1.5s`, `500ms`, `1µs`, `0s`.
  public var description: String {
    let negative = nanoseconds < 0
    let magnitude = nanoseconds.magnitude
    var text: String
    if magnitude < 1_000_000_000 {
      if magnitude == 0 { return "0s" }
      let (unit, precision): (String, Int) =
        magnitude < 1_000 ? ("ns", 0) : magnitude < 1_000_000 ? ("\u{00B5}s", 3) : ("ms", 6)
      text = GoDuration.fractional(magnitude, precision: precision) + unit
    } else {
      let seconds = magnitude / 1_000_000_000
      let fraction = GoDuration.fractional(magnitude % 1_000_000_000, precision: 9).drop { $0 == "0" }
      text = String(seconds % 60) + fraction + "s"
      let minutes = seconds / 60
      if minutes > 0 {
        text = String(minutes % 60) + "m" + text
        let hours = minutes / 60
        if hours > 0 { text = String(hours) + "h" + text }
      }
    }
    return (negative ? "-" : "") + text
  }

  /// `value / 10^precision` with the fraction's trailing zeros (and a bare point) omitted, as Go's `fmtFrac`.
  private static func fractional(_ value: UInt64, precision: Int) -> String {
    var divisor: UInt64 = 1
    for _ in 0..<precision { divisor *= 10 }
    let whole = value / divisor
    var fraction = String(value % divisor)
    fraction = String(repeating: "0", count: max(0, precision - fraction.count)) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return String(whole) + (fraction.isEmpty ? "" : "." + fraction)
  }

  /// Orders by length.
  public static func < (lhs: GoDuration, rhs: GoDuration) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}

/// A duration that Go's `time.ParseDuration` would reject; the message is Go's.
public struct GoDurationError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Go's error text.
  public var message: String

  /// Wraps an error message.
  public init(_ message: String) { self.message = message }

  /// Go's error text.
  public var description: String { message }
}
