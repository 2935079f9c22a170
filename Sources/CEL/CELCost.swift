/// The runtime cost of one CEL evaluation, bounded by a limit.
///
/// Units follow cel-go's runtime cost tracker (cel-go `interpreter/runtimecost.go`, `checker/cost.go`)
/// closely enough for its purpose here: a variable or field access, operator or call costs 1, a list
/// or map literal 10, and a function whose work grows with its input (string search, regex match,
/// list equality…) adds 0.1 per character or 1 per element. The evaluator charges before it works, so
/// an expression over a huge list stops after `limit` units instead of running on.
package struct CELCost: Sendable {
  /// Upstream's per-expression limit (k8s.io/apiserver `pkg/apis/cel/config.go`: `PerCallLimit = 1000000`).
  package static let perCallLimit: UInt64 = 1_000_000
  /// Upstream's budget for all rules of one object (`RuntimeCELCostBudget = 10000000`, same file).
  package static let runtimeBudget: UInt64 = 10_000_000

  package let limit: UInt64
  private(set) var spent: UInt64 = 0

  package init(limit: UInt64 = CELCost.perCallLimit) { self.limit = limit }

  /// Adds `units`.
  /// - Throws: `CELEvalError.costLimitExceeded` once the total passes the limit.
  package mutating func charge(_ units: UInt64) throws(CELEvalError) {
    let (sum, overflow) = spent.addingReportingOverflow(units)
    spent = overflow ? UInt64.max : sum
    if spent > limit { throw .costLimitExceeded }
  }

  /// `a × b`, saturating instead of overflowing.
  package static func multiplied(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    return o ? .max : r
  }

  /// The cost of a function that reads `length` characters or bytes: 0.1 per unit, rounded up.
  package static func linear(_ length: Int) -> UInt64 { UInt64((max(length, 0) + 9) / 10) }
}
