import KubeCore

/// A dotted version (`36.4.3`) compared numerically, missing parts as 0 (`36.2` == `36.2.0`).
public struct DottedVersion: Comparable, Sendable, CustomStringConvertible {
  public let parts: [Int]
  public let description: String
  public init?(_ text: String) {
    let t = text.trimmingSpaces()
    let p = t.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
    guard !p.isEmpty, p.count <= 4, p.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
    parts = p.map { $0! }
    description = t
  }
  private func padded(_ n: Int) -> [Int] { parts + Array(repeating: 0, count: max(0, n - parts.count)) }
  public static func == (a: DottedVersion, b: DottedVersion) -> Bool {
    let n = max(a.parts.count, b.parts.count)
    return a.padded(n) == b.padded(n)
  }
  public static func < (a: DottedVersion, b: DottedVersion) -> Bool {
    let n = max(a.parts.count, b.parts.count)
    return a.padded(n).lexicographicallyPrecedes(b.padded(n))
  }
}

/// An L4T range as the CRD accepts it: comma-separated comparisons, all of which must hold
/// (`>=36.2`, `>=35.4, <37`, `36.4.3` meaning equal).
public struct VersionRange: Sendable, CustomStringConvertible {
  public enum Op: String, Sendable { case ge = ">=", le = "<=", gt = ">", lt = "<", eq = "==" }
  public let clauses: [(Op, DottedVersion)]
  public let description: String

  public init?(_ text: String) {
    var clauses: [(Op, DottedVersion)] = []
    for raw in text.split(separator: ",") {
      var s = String(raw).trimmingSpaces()
      var op = Op.eq
      for candidate in [">=", "<=", "==", ">", "<", "="] where s.hasPrefix(candidate) {
        op = candidate == "=" ? .eq : Op(rawValue: candidate)!
        s = String(s.dropFirst(candidate.count))
        break
      }
      guard let v = DottedVersion(s) else { return nil }
      clauses.append((op, v))
    }
    guard !clauses.isEmpty else { return nil }
    self.clauses = clauses
    description = text.trimmingSpaces()
  }

  /// The first clause `version` fails, or nil when it satisfies all of them.
  public func failingClause(_ version: DottedVersion) -> String? {
    for (op, bound) in clauses {
      let ok: Bool
      switch op {
      case .ge: ok = version >= bound
      case .le: ok = version <= bound
      case .gt: ok = version > bound
      case .lt: ok = version < bound
      case .eq: ok = version == bound
      }
      if !ok {
        // Say what is wrong in the direction of the failure: "35.4.1 < 36.2".
        switch op {
        case .ge, .gt: return "\(version) \(op == .ge ? "<" : "<=") \(bound)"
        case .le, .lt: return "\(version) \(op == .le ? ">" : ">=") \(bound)"
        case .eq: return "\(version) != \(bound)"
        }
      }
    }
    return nil
  }
}
