import CEL

/// A metric's `successCondition` and `failureCondition`, compiled by our CEL evaluator.
///
/// Both are CEL over one variable, `result` (see `MetricValue`), declared `dyn` because its shape is
/// the provider's answer: a condition written for a scalar fails with a clear error on a vector.
///
/// *Decision* (Argo Rollouts' `evaluateResult`, argoproj/argo-rollouts `utils/evaluate/evaluate.go`):
/// failure condition true → `failed`; else success condition true → `successful`; else `failed` when
/// there is no failure condition, `inconclusive` when there is one (neither held).
/// *Errors*: a condition that does not yield a boolean, or fails at run time, is an `error` measurement.
public struct AnalysisConditions: Sendable {
  private let success: CELProgram
  private let failure: CELProgram?

  /// Compiles the metric's conditions.
  /// - Throws: `AnalysisConditionError` naming the field and the cel-go style message.
  public init(_ metric: AnalysisMetric) throws(AnalysisConditionError) {
    success = try Self.compile(metric.successCondition, field: "successCondition", metric: metric.name)
    if let source = metric.failureCondition {
      failure = try Self.compile(source, field: "failureCondition", metric: metric.name)
    } else {
      failure = nil
    }
  }

  /// Every compile error of the Rollout's metric conditions, for a `Ready=False` condition when the
  /// Rollout is reconciled (the CRD cannot run a CEL compiler at apply time). Empty when all compile.
  public static func validate(_ metrics: [AnalysisMetric]) -> [AnalysisConditionError] {
    var errors: [AnalysisConditionError] = []
    for (index, metric) in metrics.enumerated() {
      for (field, source) in [("successCondition", metric.successCondition), ("failureCondition", metric.failureCondition)] {
        guard let source else { continue }
        do { _ = try compile(source, field: field, metric: metric.name) } catch {
          var located = error
          located.field = "spec.analysis.metrics[\(index)].\(field)"
          errors.append(located)
        }
      }
    }
    return errors
  }

  /// Judges a measured value: the phase and, unless successful, why.
  public func evaluate(_ value: MetricValue) -> (phase: MeasurementPhase, message: String?) {
    if let missing = value.missingDataReason { return (.inconclusive, missing) }
    let bound: CELValue
    switch value {
    case .scalar(let v): bound = .double(v)
    case .vector(let vs): bound = .list(vs.map { .double($0) })
    }
    do {
      if let failure, try Self.holds(failure, result: bound) {
        return (.failed, "failureCondition \"\(failure.source)\" is true for result \(value.text)")
      }
      if try Self.holds(success, result: bound) { return (.successful, nil) }
      if failure == nil { return (.failed, "successCondition \"\(success.source)\" is false for result \(value.text)") }
      return (.inconclusive, "neither successCondition nor failureCondition is true for result \(value.text)")
    } catch {
      return (.error, error.description)
    }
  }

  private static func compile(_ source: String, field: String, metric: String) throws(AnalysisConditionError) -> CELProgram {
    do {
      return try CELProgram.compile(source, variables: ["result": .dyn])
    } catch {
      throw AnalysisConditionError(metric: metric, field: field, expression: source, message: error.render(source: source))
    }
  }

  private static func holds(_ program: CELProgram, result: CELValue) throws(AnalysisConditionError) -> Bool {
    let value: CELValue
    do { value = try program.evaluate(["result": result]).value } catch {
      // The usual slip: a condition written for a number, on a query that returns a vector.
      var hint = ""
      if case .list(let items) = result {
        hint = "; result is a list of \(items.count) value(s) (the query returned a vector): write a condition over the list, "
          + "such as result[0] < 50 or result.all(x, x < 50), or wrap the query in scalar()"
      }
      throw AnalysisConditionError(metric: "", field: "", expression: program.source,
                                   message: "evaluating \"\(program.source)\": \(error.description)\(hint)")
    }
    guard case .bool(let b) = value else {
      throw AnalysisConditionError(metric: "", field: "", expression: program.source,
                                   message: "\"\(program.source)\" must evaluate to a bool, not \(value.typeName)")
    }
    return b
  }
}

/// A metric condition that does not compile or cannot be evaluated.
public struct AnalysisConditionError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The metric's name.
  public var metric: String
  /// `successCondition` or `failureCondition`, or its full path from `validate`.
  public var field: String
  public var expression: String
  /// cel-go's display form for compile errors (`ERROR: <input>:1:8: …` and a caret line).
  public var message: String

  public var description: String {
    field.isEmpty ? message : "\(field) of metric \"\(metric)\": \(message)"
  }
}
