extension CELEvaluator {
  /// Runs one comprehension macro (langdef.md "Macros"; cel-go `parser/macro.go` expansions).
  package mutating func evaluateMacro(_ macro: CELMacro, range: CELExpr, variable: String, variable2: String?, args: [CELExpr]) throws(CELEvalError) -> CELValue {
    let collection = try evaluate(range)
    let elements: [CELValue]
    var seconds: [CELValue] = []   // with two variables: the list elements or map values
    switch collection.listItems.map(CELValue.list) ?? collection {
    case .list(let items):
      elements = variable2 == nil ? items : items.indices.map { .int(Int64($0)) }
      if variable2 != nil { seconds = items }
    case .map(let m):
      elements = m.entries.map(\.key)
      if variable2 != nil { seconds = m.entries.map(\.value) }
    default: throw .error("no such overload: \(collection.typeName).\(macro.rawValue)")
    }
    locals.append((variable, .null))
    if let variable2 { locals.append((variable2, .null)) }
    defer { locals.removeLast(variable2 == nil ? 1 : 2) }
    let slot = locals.count - (variable2 == nil ? 1 : 2)
    var firstError: CELEvalError?
    var count = 0
    var results: [CELValue] = []
    for (k, element) in elements.enumerated() {
      try cost.charge(1)
      locals[slot].value = element
      if variable2 != nil { locals[slot + 1].value = seconds[k] }
      switch macro {
      case .all, .exists:
        let decisive = macro == .exists
        if try absorbing(args[0], decisive: decisive, firstError: &firstError) { return .bool(decisive) }
      case .existsOne:
        guard case .bool(let b) = try evaluate(args[0]) else { throw CELEvalError.noSuchOverload }
        if b { count += 1 }
      case .filter:
        guard case .bool(let b) = try evaluate(args[0]) else { throw CELEvalError.noSuchOverload }
        if b { results.append(element) }
      case .map:
        if args.count == 2 {
          guard case .bool(let b) = try evaluate(args[0]) else { throw CELEvalError.noSuchOverload }
          if b { results.append(try evaluate(args[1])) }
        } else {
          results.append(try evaluate(args[0]))
        }
      }
    }
    switch macro {
    case .all, .exists:
      if let firstError { throw firstError }
      return .bool(macro == .all)
    case .existsOne: return .bool(count == 1)
    case .filter, .map: return .list(results)
    }
  }
}
