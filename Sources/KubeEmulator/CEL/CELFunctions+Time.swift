import KubeCore

extension CELFunctions {
  /// Timestamp accessors of langdef.md "Timestamp and Duration" (`getFullYear`, `getMonth` from 0,
  /// `getDate` from 1, `getDayOfMonth` from 0, `getDayOfWeek` from Sunday = 0, `getDayOfYear` from 0,
  /// `getHours`, `getMinutes`, `getSeconds`, `getMilliseconds`), in UTC; a time zone argument other
  /// than `UTC`/`Z` is refused.
  static func timestampMember(_ name: String, _ t: Timestamp, _ args: [CELValue]) throws(CELEvalError) -> CELValue {
    if let zone = args.first {
      guard case .string(let z) = zone, ["UTC", "Z", "+00:00", "00:00"].contains(z) else {
        throw .error("unsupported time zone (only UTC is supported by this emulator)")
      }
    }
    let days = t.secondsSinceEpoch >= 0 ? t.secondsSinceEpoch / 86_400 : (t.secondsSinceEpoch - 86_399) / 86_400
    let secondsOfDay = t.secondsSinceEpoch - days * 86_400
    let (year, month, day) = civil(fromDays: days)
    switch name {
    case "getFullYear": return .int(year)
    case "getMonth": return .int(month - 1)
    case "getDate": return .int(day)
    case "getDayOfMonth": return .int(day - 1)
    case "getDayOfWeek": return .int(((days % 7) + 11) % 7)   // 1970-01-01 was a Thursday (4)
    case "getDayOfYear": return .int(days - daysFromCivil(year, 1, 1))
    case "getHours": return .int(secondsOfDay / 3600)
    case "getMinutes": return .int(secondsOfDay % 3600 / 60)
    case "getSeconds": return .int(secondsOfDay % 60)
    case "getMilliseconds": return .int(Int64(t.nanoseconds) / 1_000_000)
    default: throw CELEvalError.noSuchOverload
    }
  }

  /// Howard Hinnant's `civil_from_days` ("chrono-Compatible Low-Level Date Algorithms").
  private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }

  /// Hinnant's `days_from_civil`.
  private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }
}
