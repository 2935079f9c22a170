import KubeCore

/// Checks a parsed expression before it is stored: every identifier is declared, every function
/// exists with that many arguments, every field of a schema object exists, operator operands of known
/// types have an overload, and literal regular expressions compile.
///
/// This is a light version of cel-go's `checker/checker.go`; its messages are cel-go's
/// (`undeclared reference to 'x' (in container '')`, `undefined field 'x'`, `found no matching overload
/// for '_==_' applied to '(int, bool)'`). What it cannot type is `dyn` and is checked at run time.
package struct CELChecker {
  private var scopes: [[String: CELType]]
  /// Whether the expression reads `oldSelf` (a transition rule).
  private(set) var usesOldSelf = false

  /// A checker whose outermost scope declares `variables`.
  package init(variables: [String: CELType]) { scopes = [variables] }

  /// Checks `expr` and returns its inferred type.
  /// - Throws: `CELCompileError` at the first problem.
  package mutating func check(_ expr: CELExpr) throws(CELCompileError) -> CELType {
    switch expr {
    case .literal(let v, _):
      return CELType.ofLiteral(v)
    case .ident(let name, let offset):
      for (depth, scope) in scopes.enumerated().reversed() {
        if let t = scope[name] {
          if name == "oldSelf" && depth == 0 { usesOldSelf = true }   // not a macro variable named oldSelf
          return t
        }
      }
      if CELEvaluator.typeIdentifiers.contains(name) { return .type }
      throw CELCompileError(offset: offset, message: "undeclared reference to '\(name)' (in container '')")
    case .select(let operand, let field, let testOnly, let offset):
      let t = try check(operand)
      let fieldType = try select(t, field, offset: offset)
      return testOnly ? .bool : fieldType
    case .list(let items, _):
      var element: CELType?
      for item in items {
        let t = try check(item)
        element = element == nil ? t : (element == t ? t : .dyn)
      }
      return .list(element ?? .dyn)
    case .map(let entries, _):
      var key: CELType?, value: CELType?
      for entry in entries {
        let k = try check(entry.key), v = try check(entry.value)
        key = key == nil ? k : (key == k ? k : .dyn)
        value = value == nil ? v : (value == v ? v : .dyn)
      }
      return .map(key: key ?? .dyn, value: value ?? .dyn)
    case .macro(let macro, let range, let variable, let variable2, let args, let offset):
      let rangeType = try check(range)
      var element: CELType, second: CELType
      switch rangeType {
      case .list(let e): element = e; second = e
      case .map(let k, let v): element = k; second = v
      case .dyn, .object: element = .dyn; second = .dyn
      default:
        throw CELCompileError(offset: offset, message: "expression of type '\(rangeType.name)' cannot be range of a comprehension (must be list, map, or dynamic)")
      }
      var scope = [variable: element]
      if let variable2 {
        if case .list = rangeType { element = .int; scope[variable] = .int }
        scope[variable2] = second
      }
      scopes.append(scope)
      defer { scopes.removeLast() }
      var last: CELType = .dyn
      for (k, arg) in args.enumerated() {
        last = try check(arg)
        let isPredicate = macro != .map || (args.count == 2 && k == 0)
        if isPredicate && last != .bool && last != .dyn {
          throw CELCompileError(offset: arg.offset, message: "found no matching overload for '\(macro.rawValue)' predicate of type '\(last.name)'")
        }
      }
      switch macro {
      case .all, .exists, .existsOne: return .bool
      case .filter: return .list(element)
      case .map: return .list(last)
      }
    case .call(let function, let target, let args, let offset):
      let targetType = try target.map { e throws(CELCompileError) in try check(e) }
      var argTypes: [CELType] = []
      for a in args { argTypes.append(try check(a)) }
      if function == "matches" || (target != nil && ["find", "findAll"].contains(function)),
         let pattern = args.last.flatMap({ e -> String? in if case .literal(.string(let s), _) = e { return s } else { return nil } }),
         target != nil || args.count == 2 {
        do { _ = try CELRegex.compile(pattern) } catch {
          throw CELCompileError(offset: args.last?.offset ?? offset, message: "invalid matches argument: \(error)")
        }
      }
      if let targetType {
        return try member(function, targetType, argTypes, offset: offset)
      }
      return try global(function, argTypes, offset: offset)
    }
  }

  /// The type a call returns for operands of these types; `dyn` where no overload matches. For the
  /// cost estimator, which runs on expressions that already passed `check`.
  package func resultType(of function: String, receiver: CELType?, arguments: [CELType]) -> CELType {
    if let receiver { return (try? member(function, receiver, arguments, offset: 0)) ?? .dyn }
    return (try? global(function, arguments, offset: 0)) ?? .dyn
  }

  private func select(_ t: CELType, _ field: String, offset: Int) throws(CELCompileError) -> CELType {
    switch t {
    case .dyn: return .dyn
    case .map(_, let v): return v
    case .object(let schema):
      if let p = CELEscaping.property(field, of: schema) { return CELType.of(schema: p) }
      if schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true { return .dyn }
      throw CELCompileError(offset: offset, message: "undefined field '\(field)'")
    default:
      throw CELCompileError(offset: offset, message: "type '\(t.name)' does not support field selection")
    }
  }

  private func noOverload(_ function: String, _ types: [CELType], receiver: CELType? = nil, offset: Int) -> CELCompileError {
    let list = "(" + types.map(\.name).joined(separator: ", ") + ")"
    return CELCompileError(offset: offset, message: "found no matching overload for '\(function)' applied to '\(receiver.map { $0.name + "." } ?? "")\(list)'")
  }

  private func global(_ function: String, _ t: [CELType], offset: Int) throws(CELCompileError) -> CELType {
    guard let arities = CELFunctions.globals[function] else {
      throw CELCompileError(offset: offset, message: "undeclared reference to '\(function)' (in container '')")
    }
    guard arities.contains(t.count) else { throw noOverload(function, t, offset: offset) }
    let known = t.allSatisfy(\.isPrimitive)
    func same(_ allowed: Set<String>) -> Bool { t[0] == t[1] && allowed.contains(t[0].name) }
    switch function {
    case "_==_", "_!=_":
      if known && t[0] != t[1] && t[0] != .null && t[1] != .null { throw noOverload(function, t, offset: offset) }
      return .bool
    case "_<_", "_<=_", "_>_", "_>=_":
      if known && !(t[0].isNumeric && t[1].isNumeric) && !same(["string", "bytes", "bool", "google.protobuf.Duration", "google.protobuf.Timestamp"]) {
        throw noOverload(function, t, offset: offset)
      }
      return .bool
    case "_+_":
      if case .list(let a) = t[0], case .list(let b) = t[1] { return .list(a == b ? a : .dyn) }
      if t[0] == .timestamp && t[1] == .duration || t[0] == .duration && t[1] == .timestamp { return .timestamp }
      if known {
        guard same(["int", "uint", "double", "string", "bytes", "google.protobuf.Duration"]) else { throw noOverload(function, t, offset: offset) }
        return t[0]
      }
      return t[0] == t[1] ? t[0] : .dyn
    case "_-_":
      if t[0] == .timestamp && t[1] == .timestamp { return .duration }
      if t[0] == .timestamp && t[1] == .duration { return .timestamp }
      if known {
        guard same(["int", "uint", "double", "google.protobuf.Duration"]) else { throw noOverload(function, t, offset: offset) }
        return t[0]
      }
      return t[0] == t[1] ? t[0] : .dyn
    case "_*_", "_/_", "_%_":
      if known {
        let allowed: Set<String> = function == "_%_" ? ["int", "uint"] : ["int", "uint", "double"]
        guard same(allowed) else { throw noOverload(function, t, offset: offset) }
        return t[0]
      }
      return t[0] == t[1] ? t[0] : .dyn
    case "!_":
      if t[0] != .bool && t[0] != .dyn { throw noOverload(function, t, offset: offset) }
      return .bool
    case "-_":
      if known && ![.int, .double, .duration].contains(t[0]) { throw noOverload(function, t, offset: offset) }
      return t[0]
    case "_&&_", "_||_":
      if t.contains(where: { $0 != .bool && $0 != .dyn }) { throw noOverload(function, t, offset: offset) }
      return .bool
    case "_?_:_":
      if t[0] != .bool && t[0] != .dyn { throw noOverload(function, t, offset: offset) }
      return t[1] == t[2] ? t[1] : .dyn
    case "@in":
      switch t[1] {
      case .list, .map, .dyn: return .bool
      default: throw noOverload(function, t, offset: offset)
      }
    case "_[_]":
      switch t[0] {
      case .list(let e): return e
      case .map(_, let v): return v
      case .dyn, .object: return .dyn
      default: throw noOverload(function, t, offset: offset)
      }
    case "size":
      if known && ![.string, .bytes].contains(t[0]) { throw noOverload(function, t, offset: offset) }
      return .int
    case "matches": return .bool
    case "int": return .int
    case "uint": return .uint
    case "double": return .double
    case "string": return .string
    case "bool": return .bool
    case "bytes": return .bytes
    case "duration":
      if known && ![.string, .duration].contains(t[0]) { throw noOverload(function, t, offset: offset) }
      return .duration
    case "timestamp":
      if known && ![.string, .timestamp, .int].contains(t[0]) { throw noOverload(function, t, offset: offset) }
      return .timestamp
    case "type": return .type
    case "quantity":
      if known && t[0] != .string { throw noOverload(function, t, offset: offset) }
      return .quantity
    case "isQuantity": return .bool
    default: return .dyn
    }
  }

  private static let stringMembers: Set<String> = ["size", "contains", "startsWith", "endsWith", "matches", "lowerAscii",
    "upperAscii", "trim", "split", "indexOf", "lastIndexOf", "replace", "substring", "charAt", "reverse", "find", "findAll", "format"]
  private static let listMembers: Set<String> = ["size", "join", "indexOf", "lastIndexOf", "isSorted", "sum", "min", "max"]
  private static let quantityMembers: Set<String> = ["compareTo", "isGreaterThan", "isLessThan", "asInteger",
    "asApproximateFloat", "isInteger", "sign"]

  private func member(_ function: String, _ receiver: CELType, _ t: [CELType], offset: Int) throws(CELCompileError) -> CELType {
    guard let arities = CELFunctions.members[function] else {
      throw CELCompileError(offset: offset, message: "undeclared reference to '\(function)' (in container '')")
    }
    guard arities.contains(t.count) else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    var element: CELType = .dyn
    switch receiver {
    case .string:
      guard CELChecker.stringMembers.contains(function) else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .list(let e):
      element = e
      guard CELChecker.listMembers.contains(function) else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .map, .bytes:
      guard function == "size" else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .quantity:
      guard CELChecker.quantityMembers.contains(function) else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .duration:
      guard function.hasPrefix("get"), t.isEmpty else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .timestamp:
      guard function.hasPrefix("get") else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .optional(let inner):
      element = inner
      guard ["hasValue", "value", "orValue"].contains(function) else { throw noOverload(function, t, receiver: receiver, offset: offset) }
    case .dyn:
      break
    default:
      throw noOverload(function, t, receiver: receiver, offset: offset)
    }
    switch function {
    case "size", "indexOf", "lastIndexOf", "compareTo", "asInteger", "sign":
      return .int
    case _ where function.hasPrefix("get"):
      return .int
    case "contains", "startsWith", "endsWith", "matches", "isSorted", "isGreaterThan", "isLessThan", "isInteger", "hasValue":
      return .bool
    case "lowerAscii", "upperAscii", "trim", "substring", "charAt", "replace", "reverse", "join", "find", "format": return .string
    case "split", "findAll": return .list(.string)
    case "asApproximateFloat": return .double
    case "sum", "min", "max", "value", "orValue": return element
    default: return .dyn
    }
  }
}
