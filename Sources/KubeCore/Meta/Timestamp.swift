/// An instant in UTC as Kubernetes writes it: RFC 3339 with second precision (`metav1.Time`,
/// `2026-11-25T12:00:00Z`) or with six fractional digits (`metav1.MicroTime`, `2026-11-25T12:00:00.123456Z`).
///
/// Parsing accepts what Go's `time.Parse(time.RFC3339, …)` accepts for these fields: any number of
/// fractional digits, `Z` or a `±hh:mm` offset (k8s.io/apimachinery/pkg/apis/meta/v1/time.go, micro_time.go).
/// Kept as seconds and nanoseconds since the Unix epoch; no Foundation needed.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Whole seconds since 1970-01-01T00:00:00Z.
  public var secondsSinceEpoch: Int64
  /// Nanoseconds within the second, 0..<1_000_000_000.
  public var nanoseconds: Int32

  /// Creates an instant from its parts; the nanoseconds must be below one second.
  public init(secondsSinceEpoch: Int64, nanoseconds: Int32 = 0) {
    precondition((0..<1_000_000_000).contains(nanoseconds), "nanoseconds out of range")
    self.secondsSinceEpoch = secondsSinceEpoch
    self.nanoseconds = nanoseconds
  }

  /// Parses an RFC 3339 date-time (`YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm)`).
  ///
  /// - Throws: `TimestampError` naming the text when it is not a valid RFC 3339 date-time.
  public init(rfc3339 text: String) throws(TimestampError) {
    let b = Array(text.utf8)
    let error = TimestampError(text: text)
    func number(_ range: Range<Int>) throws(TimestampError) -> Int {
      guard range.upperBound <= b.count else { throw error }
      var value = 0
      for i in range {
        guard b[i] >= 48 && b[i] <= 57 else { throw error }
        value = value * 10 + Int(b[i] - 48)
      }
      return value
    }
    func expect(_ i: Int, _ chars: String) throws(TimestampError) {
      guard i < b.count, chars.utf8.contains(b[i]) else { throw error }
    }
    let year = try number(0..<4)
    try expect(4, "-")
    let month = try number(5..<7)
    try expect(7, "-")
    let day = try number(8..<10)
    try expect(10, "Tt")
    let hour = try number(11..<13)
    try expect(13, ":")
    let minute = try number(14..<16)
    try expect(16, ":")
    let second = try number(17..<19)
    var i = 19
    var nanos = 0
    if i < b.count, b[i] == UInt8(ascii: ".") {
      i += 1
      var digits = 0
      while i < b.count, b[i] >= 48 && b[i] <= 57 {
        if digits < 9 { nanos = nanos * 10 + Int(b[i] - 48) }
        digits += 1
        i += 1
      }
      guard digits > 0 else { throw error }
      for _ in min(digits, 9)..<9 { nanos *= 10 }
    }
    var offset = 0
    if i < b.count, b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
      i += 1
    } else {
      try expect(i, "+-")
      let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
      let hours = try number(i + 1..<i + 3)
      try expect(i + 3, ":")
      let minutes = try number(i + 4..<i + 6)
      guard hours < 24, minutes < 60 else { throw error }
      offset = sign * (hours * 3600 + minutes * 60)
      i += 6
    }
    guard i == b.count, (1...12).contains(month), day >= 1, day <= Timestamp.daysIn(month: month, year: year),
      hour < 24, minute < 60, second < 60
    else { throw error }
    let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
    let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    self.init(secondsSinceEpoch: seconds, nanoseconds: Int32(nanos))
  }

  private static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
  public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }

  /// The date for a day count since 1970-01-01 (Hinnant's `civil_from_days`).
  public static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let dayOfEra = z - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let mp = (5 * dayOfYear + 2) / 153
    let day = dayOfYear - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  private func pad(_ value: Int, _ width: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, width - text.count)) + text
  }

  private var dateTime: String {
    let days = Int(secondsSinceEpoch >= 0 ? secondsSinceEpoch / 86_400 : (secondsSinceEpoch - 86_399) / 86_400)
    let secondOfDay = Int(secondsSinceEpoch - Int64(days) * 86_400)
    let (year, month, day) = Timestamp.civilFromDays(days)
    return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
  }

  /// `metav1.Time` form: UTC, whole seconds (the fraction is dropped, as upstream truncates).
  public var rfc3339: String { dateTime + "Z" }

  /// `metav1.MicroTime` form: UTC with exactly six fractional digits.
  public var rfc3339Micro: String { dateTime + "." + pad(Int(nanoseconds) / 1000, 6) + "Z" }

  /// The `metav1.Time` form.
  public var description: String { rfc3339 }

  /// Orders instants in time.
  public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
    (lhs.secondsSinceEpoch, lhs.nanoseconds) < (rhs.secondsSinceEpoch, rhs.nanoseconds)
  }
}

/// Text that is not an RFC 3339 date-time.
public struct TimestampError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The rejected text.
  public var text: String

  /// A message in the shape Go's `time.Parse` failures are reported by the API server.
  public var description: String { "parsing time \"\(text)\" as RFC 3339: invalid timestamp" }
}
