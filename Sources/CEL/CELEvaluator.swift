/// Evaluates a checked `CELExpr` against variable bindings, within a cost limit.
///
/// Semantics follow google/cel-spec `doc/langdef.md` "Evaluation": errors are values that `&&`, `||`,
/// `all` and `exists` may absorb (a `false`/`true` on either side decides regardless of an error on the
/// other, cel-go `interpreter/interpretable.go` `evalAnd`/`evalOr`); every other use of an error is an
/// error. Recursion follows the expression tree, whose depth the parser bounds.
package struct CELEvaluator {
  package var cost: CELCost
  private var variables: [String: CELValue]
  /// Comprehension variables, innermost last.
  package var locals: [(name: String, value: CELValue)] = []

  package init(variables: [String: CELValue], costLimit: UInt64 = CELCost.perCallLimit) {
    self.variables = variables
    self.cost = CELCost(limit: costLimit)
  }

  /// The cost spent so far.
  package var spent: UInt64 { cost.spent }

  /// Type names that evaluate to type values when no variable shadows them.
  package static let typeIdentifiers: Set<String> = ["int", "uint", "double", "bool", "string", "bytes", "list", "map",
                                              "null_type", "type"]

  package mutating func evaluate(_ expr: CELExpr) throws(CELEvalError) -> CELValue {
    switch expr {
    case .literal(let v, _):
      return v
    case .ident(let name, _):
      try cost.charge(1)
      if let local = locals.last(where: { $0.name == name }) { return local.value }
      if let v = variables[name] { return v }
      if CELEvaluator.typeIdentifiers.contains(name) { return .type(name == "null_type" ? "null_type" : name) }
      throw .error("no such attribute: \(name)")
    case .select(let operand, let field, let testOnly, _):
      try cost.charge(1)
      let base = try evaluate(operand)
      switch base {
      case .map(let m):
        if testOnly { return .bool(m.contains(.string(field))) }
        guard let v = m[.string(field)] else { throw .error("no such key: \(field)") }
        return v
      default:
        throw .error("type '\(base.typeName)' does not support field selection")
      }
    case .list(let items, _):
      try cost.charge(10)
      var out: [CELValue] = []
      out.reserveCapacity(items.count)
      for item in items { out.append(try evaluate(item)) }
      return .list(out)
    case .map(let entries, _):
      try cost.charge(30)
      var m = CELMap()
      for entry in entries {
        let k = try evaluate(entry.key)
        guard CELMap.isKeyType(k) else { throw .error("unsupported key type") }
        if m.contains(k) { throw .error("Failed with repeated key") }
        m[k] = try evaluate(entry.value)
      }
      return .map(m)
    case .macro(let macro, let range, let variable, let variable2, let args, _):
      return try evaluateMacro(macro, range: range, variable: variable, variable2: variable2, args: args)
    case .call(let function, let target, let args, _):
      try cost.charge(1)
      switch function {
      case "_&&_": return try logical(args, decisive: false)
      case "_||_": return try logical(args, decisive: true)
      case "_?_:_":
        guard args.count == 3 else { throw CELEvalError.noSuchOverload }
        guard case .bool(let c) = try evaluate(args[0]) else { throw CELEvalError.noSuchOverload }
        return try evaluate(c ? args[1] : args[2])
      default:
        let receiver = try target.map { e throws(CELEvalError) in try evaluate(e) }
        var values: [CELValue] = []
        values.reserveCapacity(args.count)
        for a in args { values.append(try evaluate(a)) }
        return try CELFunctions.call(function, target: receiver, args: values, cost: &cost)
      }
    }
  }

  /// `&&` (decisive value false) and `||` (decisive value true), commutative over errors.
  private mutating func logical(_ args: [CELExpr], decisive: Bool) throws(CELEvalError) -> CELValue {
    var firstError: CELEvalError?
    for arg in args {
      if try absorbing(arg, decisive: decisive, firstError: &firstError) { return .bool(decisive) }
    }
    if let firstError { throw firstError }
    return .bool(!decisive)
  }

  /// Evaluates one operand of a commutative logical operation: true when it equals `decisive`; an error
  /// or a non-bool is remembered in `firstError` (only the cost limit escapes at once).
  package mutating func absorbing(_ expr: CELExpr, decisive: Bool, firstError: inout CELEvalError?) throws(CELEvalError) -> Bool {
    do {
      guard case .bool(let b) = try evaluate(expr) else {
        if firstError == nil { firstError = .noSuchOverload }
        return false
      }
      return b == decisive
    } catch .costLimitExceeded {
      throw .costLimitExceeded
    } catch {
      if firstError == nil { firstError = error }
      return false
    }
  }
}
