import KubeCore

extension CELFunctions {
  /// Timestamp accessors of langdef.md "Timestamp and Duration" (`getFullYear`, `getMonth` from 0,
  /// `getDate` from 1, `getDayOfMonth` from 0, `getDayOfWeek` from Sunday = 0, `getDayOfYear` from 0,
  /// `getHours`, `getMinutes`, `getSeconds`, `getMilliseconds`), in UTC; a time zone argument other
  /// than `UTC`/`Z` is refused.
  package static func timestampMember(_ name: String, _ t: Timestamp, _ args: [CELValue]) throws(CELEvalError) -> CELValue {
    if let zone = args.first {
      guard case .string(let z) = zone, ["UTC", "Z", "+00:00", "00:00"].contains(z) else {
        throw .error("unsupported time zone (only UTC is supported by this emulator)")
      }
    }
    let days = t.secondsSinceEpoch >= 0 ? t.secondsSinceEpoch / 86_400 : (t.secondsSinceEpoch - 86_399) / 86_400
    let secondsOfDay = t.secondsSinceEpoch - days * 86_400
    let (y, m, d) = Timestamp.civilFromDays(Int(days))
    let (year, month, day) = (Int64(y), Int64(m), Int64(d))
    switch name {
    case "getFullYear": return .int(year)
    case "getMonth": return .int(month - 1)
    case "getDate": return .int(day)
    case "getDayOfMonth": return .int(day - 1)
    case "getDayOfWeek": return .int(((days % 7) + 11) % 7)   // 1970-01-01 was a Thursday (4)
    case "getDayOfYear": return .int(days - Int64(Timestamp.daysFromCivil(year: y, month: 1, day: 1)))
    case "getHours": return .int(secondsOfDay / 3600)
    case "getMinutes": return .int(secondsOfDay % 3600 / 60)
    case "getSeconds": return .int(secondsOfDay % 60)
    case "getMilliseconds": return .int(Int64(t.nanoseconds) / 1_000_000)
    default: throw CELEvalError.noSuchOverload
    }
  }
}
