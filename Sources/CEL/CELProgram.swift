/// A compiled CEL expression: parsed, checked, ready to evaluate many times.
///
/// Compile once (at CRD creation), evaluate per object. Evaluation is bounded by a cost limit, so any
/// program finishes quickly whatever the input.
///
/// ```swift
/// let program = try CELProgram.compile("self.minReplicas <= self.replicas", variables: ["self": .dyn])
/// let result = try program.evaluate(["self": CELValue(json: spec)])   // .bool(true)
/// ```
package struct CELProgram: Sendable {
  /// The expression as written.
  package let source: String
  package let expression: CELExpr
  /// The type the checker inferred (`dyn` when it cannot tell).
  package let outputType: CELType
  /// Whether the expression reads `oldSelf`: Kubernetes runs such a transition rule only on updates.
  package let usesOldSelf: Bool

  /// Parses and checks `source` with the given variable declarations.
  /// - Throws: `CELCompileError`; render it with `render(source:)` for cel-go's display form.
  package static func compile(_ source: String, variables: [String: CELType]) throws(CELCompileError) -> CELProgram {
    let expression = try CELParser.parse(source)
    var checker = CELChecker(variables: variables)
    let type = try checker.check(expression)
    return CELProgram(source: source, expression: expression, outputType: type, usesOldSelf: checker.usesOldSelf)
  }

  /// Evaluates the program.
  /// - Parameters:
  ///   - variables: the values of the declared variables.
  ///   - costLimit: the most cost units this call may spend (upstream's per-call limit by default).
  /// - Returns: the value and the cost spent.
  /// - Throws: `CELEvalError` for a CEL error or when the cost limit is exceeded.
  package func evaluate(_ variables: [String: CELValue], costLimit: UInt64 = CELCost.perCallLimit) throws(CELEvalError) -> (value: CELValue, cost: UInt64) {
    var evaluator = CELEvaluator(variables: variables, costLimit: costLimit)
    let value = try evaluator.evaluate(expression)
    return (value, evaluator.spent)
  }

  /// Compiles and evaluates `source` in one step, declaring every variable as `dyn`; for tests and tools.
  package static func evaluate(_ source: String, _ variables: [String: CELValue] = [:], costLimit: UInt64 = CELCost.perCallLimit) throws -> CELValue {
    let program = try compile(source, variables: variables.mapValues { _ in .dyn })
    return try program.evaluate(variables, costLimit: costLimit).value
  }
}
