/// A node of a parsed CEL expression, with the offset of the token that produced it.
///
/// Operators are calls named as cel-go names them (`_+_`, `_==_`, `!_`, `-_`, `_[_]`, `_?_:_`,
/// `_&&_`, `_||_`, `@in`), as in google/cel-spec `doc/langdef.md` "Functions". Macros are kept as
/// their own nodes rather than expanded into comprehensions: the evaluator runs them directly.
package indirect enum CELExpr: Sendable {
  case literal(CELValue, offset: Int)
  case ident(String, offset: Int)
  /// `operand.field`; `testOnly` is the `has(operand.field)` form.
  case select(CELExpr, field: String, testOnly: Bool, offset: Int)
  /// A global call `f(args)` or a receiver call `target.f(args)`.
  case call(function: String, target: CELExpr?, args: [CELExpr], offset: Int)
  case list([CELExpr], offset: Int)
  case map([(key: CELExpr, value: CELExpr)], offset: Int)
  /// `range.all(x, p)`, `exists`, `exists_one`, `map(x, t)`, `map(x, p, t)`, `filter(x, p)`; and the
  /// two-variable forms `all(i, v, p)`, `exists(i, v, p)`, `exists_one(i, v, p)` (cel-go
  /// `ext/comprehensions.go`, enabled in Kubernetes since 1.33), where `variable2` is the element or
  /// map value and `variable` the index or key.
  case macro(CELMacro, range: CELExpr, variable: String, variable2: String?, args: [CELExpr], offset: Int)

  package var offset: Int {
    switch self {
    case .literal(_, let o), .ident(_, let o), .select(_, _, _, let o), .call(_, _, _, let o), .list(_, let o),
         .map(_, let o), .macro(_, _, _, _, _, let o):
      return o
    }
  }
}

/// The comprehension macros of langdef.md "Macros" (`has` is `CELExpr.select(testOnly: true)`).
package enum CELMacro: String, Sendable {
  case all, exists
  case existsOne = "exists_one"
  case map, filter
}
