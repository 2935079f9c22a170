import Synchronization

/// A compiled `matches()`/`find()` pattern, cached by its text.
///
/// Patterns are RE2 and matched by `CELRE2` in linear time. RE2 matches are unanchored:
/// `'abc'.matches('b')` is true. Errors read as Go's: `error parsing regexp: missing closing ]: `[a``.
package struct CELRegex: Sendable {
  private let re: CELRE2

  private static let cache = Mutex<[String: CELRE2]>([:])

  /// Compiles `pattern` (or fetches it from the cache).
  /// - Throws: `CELEvalError.error` with RE2's message for a pattern RE2 refuses.
  package static func compile(_ pattern: String) throws(CELEvalError) -> CELRegex {
    if let cached = cache.withLock({ $0[pattern] }) { return CELRegex(re: cached) }
    let built: CELRE2
    do { built = try CELRE2(pattern) } catch { throw .error("error parsing regexp: \(error)") }
    cache.withLock { cache in
      if cache.count > 1000 { cache.removeAll() }
      cache[pattern] = built
    }
    return CELRegex(re: built)
  }

  /// The cost of running this pattern over `length` characters, in `CELCost` units: cel-go charges
  /// string cost × regex cost (`checker/cost.go`, 0.1 per character × 0.25 per pattern character); the
  /// compiled program's size stands in for the pattern's length, since that is what the VM walks.
  package func cost(length: Int) -> UInt64 {
    CELCost.linear(length) * UInt64((re.program.count + 3) / 4)
  }

  package func matches(_ s: String) -> Bool { re.firstMatch(in: Array(s.unicodeScalars)) != nil }

  package func find(_ s: String) -> String? {
    let scalars = Array(s.unicodeScalars)
    return re.firstMatch(in: scalars).map { text(scalars[$0]) }
  }

  package func findAll(_ s: String, limit: Int64) -> [String] {
    let scalars = Array(s.unicodeScalars)
    var out: [String] = []
    var start = 0
    while start <= scalars.count, limit < 0 || out.count < Int(limit), let r = re.firstMatch(in: scalars, from: start) {
      out.append(text(scalars[r]))
      start = r.isEmpty ? r.upperBound + 1 : r.upperBound
    }
    return out
  }

  private func text(_ slice: ArraySlice<Unicode.Scalar>) -> String {
    var v = String.UnicodeScalarView(); v.append(contentsOf: slice); return String(v)
  }
}
