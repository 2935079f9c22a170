import NIOConcurrencyHelpers

/// A compiled `matches()` pattern.
///
/// CEL's regular expressions are RE2 (langdef.md "Regular Expressions"); Swift's `Regex` accepts a
/// superset of RE2's syntax, so the constructs RE2 rejects — lookaround and backreferences — are refused
/// here with RE2's wording (`error parsing regexp: invalid or unsupported Perl syntax`). RE2 matches are
/// unanchored: `'abc'.matches('b')` is true. Compiled patterns are cached.
struct CELRegex: @unchecked Sendable {
  // @unchecked: `Regex<AnyRegexOutput>` is immutable once built; it is only read after `compile`.
  private let regex: Regex<AnyRegexOutput>

  nonisolated(unsafe) private static var cache: [String: Regex<AnyRegexOutput>] = [:]
  private static let lock = NIOLock()

  /// Compiles `pattern` (or fetches it from the cache).
  /// - Throws: `CELEvalError.error` with an RE2-style message for a pattern RE2 would refuse.
  static func compile(_ pattern: String) throws(CELEvalError) -> CELRegex {
    if let cached = lock.withLock({ cache[pattern] }) { return CELRegex(regex: cached) }
    if let message = unsupported(pattern) { throw .error("error parsing regexp: \(message)") }
    let built: Regex<AnyRegexOutput>
    do { built = try Regex(pattern) } catch {
      throw .error("error parsing regexp: invalid pattern: `\(pattern)`")
    }
    lock.withLock {
      if cache.count > 1000 { cache.removeAll() }
      cache[pattern] = built
    }
    return CELRegex(regex: built)
  }

  /// RE2's refusal for Perl-only constructs, or nil.
  private static func unsupported(_ pattern: String) -> String? {
    for construct in ["(?=", "(?!", "(?<=", "(?<!", "(?>"] where pattern.contains(construct) {
      return "invalid or unsupported Perl syntax: `\(construct)`"
    }
    let scalars = Array(pattern.unicodeScalars)
    var k = 0
    while k + 1 < scalars.count {
      if scalars[k] == "\\" {
        let next = scalars[k + 1]
        if next >= "1" && next <= "9" { return "invalid escape sequence: `\\\(next)`" }
        k += 2
      } else {
        k += 1
      }
    }
    return nil
  }

  func matches(_ s: String) -> Bool { ((try? regex.firstMatch(in: s)) ?? nil) != nil }

  func find(_ s: String) -> String? {
    guard let m = (try? regex.firstMatch(in: s)) ?? nil else { return nil }
    return String(s[m.range])
  }

  func findAll(_ s: String, limit: Int64) -> [String] {
    var out: [String] = []
    for m in s.matches(of: regex) {
      if limit >= 0 && out.count >= Int(limit) { break }
      out.append(String(s[m.range]))
    }
    return out
  }
}
