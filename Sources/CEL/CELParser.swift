/// Parses CEL source into a `CELExpr`, following the grammar of google/cel-spec `doc/langdef.md`
/// ("Syntax"):
///
/// ```
/// Expr           = ConditionalOr ["?" ConditionalOr ":" Expr]
/// ConditionalOr  = [ConditionalOr "||"] ConditionalAnd
/// ConditionalAnd = [ConditionalAnd "&&"] Relation
/// Relation       = [Relation Relop] Addition          Relop = < <= >= > == != in
/// Addition       = [Addition ("+" | "-")] Multiplication
/// Multiplication = [Multiplication ("*" | "/" | "%")] Unary
/// Unary          = Member | "!" {"!"} Member | "-" {"-"} Member
/// Member         = Primary | Member "." IDENT ["(" [ExprList] ")"] | Member "[" Expr "]"
/// Primary        = ["."] IDENT ["(" [ExprList] ")"] | "(" Expr ")" | "[" [ExprList] [","] "]"
///                | "{" [MapInits] [","] "}" | LITERAL
/// ```
///
/// Message construction (`T{field: v}`) is not supported: CRD rules have no protobuf types.
/// Nesting is bounded (`maxDepth`, as cel-go's parser bounds recursion with `MaxRecursionDepth`), so
/// hostile input cannot exhaust the stack. Macros are recognised here, as cel-go's parser does.
package struct CELParser {
  /// The deepest nesting accepted.
  package static let maxDepth = 100

  private var tokens: [CELToken]
  private var pos = 0
  private var depth = 0

  /// Parses `source`.
  /// - Throws: `CELCompileError` at the first syntax error.
  package static func parse(_ source: String) throws(CELCompileError) -> CELExpr {
    var parser = CELParser(tokens: try CELLexer.tokenize(source))
    let expr = try parser.expr()
    guard case .end = parser.current.kind else {
      throw CELCompileError(offset: parser.current.offset, message: "Syntax error: mismatched input \(parser.describe(parser.current)) expecting <EOF>")
    }
    return expr
  }

  private init(tokens: [CELToken]) { self.tokens = tokens }

  private var current: CELToken { tokens[min(pos, tokens.count - 1)] }

  private func describe(_ t: CELToken) -> String {
    switch t.kind {
    case .identifier(let n): return "'\(n)'"
    case .punct(let p): return "'\(p)'"
    case .end: return "<EOF>"
    default: return "literal"
    }
  }

  private func isPunct(_ p: String) -> Bool { if case .punct(p) = current.kind { return true } else { return false } }

  private mutating func accept(_ p: String) -> Bool {
    if isPunct(p) { pos += 1; return true }
    return false
  }

  private mutating func expect(_ p: String) throws(CELCompileError) {
    guard accept(p) else {
      throw CELCompileError(offset: current.offset, message: "Syntax error: mismatched input \(describe(current)) expecting '\(p)'")
    }
  }

  private mutating func enter() throws(CELCompileError) {
    depth += 1
    if depth > CELParser.maxDepth {
      throw CELCompileError(offset: current.offset, message: "expression recursion limit exceeded: \(CELParser.maxDepth)")
    }
  }

  private mutating func expr() throws(CELCompileError) -> CELExpr {
    try enter(); defer { depth -= 1 }
    let condition = try conditionalOr()
    guard isPunct("?") else { return condition }
    let offset = current.offset
    pos += 1
    let then = try conditionalOr()
    try expect(":")
    let otherwise = try expr()
    return .call(function: "_?_:_", target: nil, args: [condition, then, otherwise], offset: offset)
  }

  private mutating func conditionalOr() throws(CELCompileError) -> CELExpr {
    var lhs = try conditionalAnd()
    var opened = 0
    defer { depth -= opened }
    while isPunct("||") {
      let offset = current.offset; pos += 1
      try enter(); opened += 1
      lhs = .call(function: "_||_", target: nil, args: [lhs, try conditionalAnd()], offset: offset)
    }
    return lhs
  }

  private mutating func conditionalAnd() throws(CELCompileError) -> CELExpr {
    var lhs = try relation()
    var opened = 0
    defer { depth -= opened }
    while isPunct("&&") {
      let offset = current.offset; pos += 1
      try enter(); opened += 1
      lhs = .call(function: "_&&_", target: nil, args: [lhs, try relation()], offset: offset)
    }
    return lhs
  }

  private static let relops: [String: String] = ["<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_", "==": "_==_", "!=": "_!=_"]

  private mutating func relation() throws(CELCompileError) -> CELExpr {
    var lhs = try addition()
    var opened = 0
    defer { depth -= opened }
    while true {
      let offset = current.offset
      let name: String
      if case .punct(let p) = current.kind, let f = CELParser.relops[p] { name = f }
      else if case .identifier("in") = current.kind { name = "@in" }
      else { return lhs }
      pos += 1
      try enter(); opened += 1
      lhs = .call(function: name, target: nil, args: [lhs, try addition()], offset: offset)
    }
  }

  private mutating func addition() throws(CELCompileError) -> CELExpr {
    var lhs = try multiplication()
    var opened = 0
    defer { depth -= opened }
    while isPunct("+") || isPunct("-") {
      let name = isPunct("+") ? "_+_" : "_-_"
      let offset = current.offset; pos += 1
      try enter(); opened += 1
      lhs = .call(function: name, target: nil, args: [lhs, try multiplication()], offset: offset)
    }
    return lhs
  }

  private mutating func multiplication() throws(CELCompileError) -> CELExpr {
    var lhs = try unary()
    var opened = 0
    defer { depth -= opened }
    while isPunct("*") || isPunct("/") || isPunct("%") {
      let name = isPunct("*") ? "_*_" : isPunct("/") ? "_/_" : "_%_"
      let offset = current.offset; pos += 1
      try enter(); opened += 1
      lhs = .call(function: name, target: nil, args: [lhs, try unary()], offset: offset)
    }
    return lhs
  }

  private mutating func unary() throws(CELCompileError) -> CELExpr {
    try enter(); defer { depth -= 1 }
    let offset = current.offset
    if accept("!") {
      return .call(function: "!_", target: nil, args: [try unary()], offset: offset)
    }
    if accept("-") {
      // `-9223372036854775808` and `-5` are literals, as in cel-go's parser.
      if case .int(let v) = current.kind, !isMemberContinuation(at: pos + 1) {
        pos += 1
        return .literal(.int(-v), offset: offset)
      }
      if case .intMinMagnitude = current.kind, !isMemberContinuation(at: pos + 1) {
        pos += 1
        return .literal(.int(Int64.min), offset: offset)
      }
      if case .double(let v) = current.kind, !isMemberContinuation(at: pos + 1) {
        pos += 1
        return .literal(.double(-v), offset: offset)
      }
      return .call(function: "-_", target: nil, args: [try unary()], offset: offset)
    }
    return try member()
  }

  private func isMemberContinuation(at index: Int) -> Bool {
    guard index < tokens.count, case .punct(let p) = tokens[index].kind else { return false }
    return p == "." || p == "["
  }

  private mutating func member() throws(CELCompileError) -> CELExpr {
    var operand = try primary()
    var opened = 0
    defer { depth -= opened }
    while true {
      let offset = current.offset
      if accept(".") {
        try enter(); opened += 1
        guard case .identifier(let name) = current.kind else {
          throw CELCompileError(offset: current.offset, message: "Syntax error: no viable alternative at input '.\(describe(current))'")
        }
        pos += 1
        if accept("(") {
          let args = try exprList(closing: ")")
          operand = try makeReceiverCall(name, target: operand, args: args, offset: offset)
        } else {
          operand = .select(operand, field: name, testOnly: false, offset: offset)
        }
      } else if accept("[") {
        try enter(); opened += 1
        let index = try expr()
        try expect("]")
        operand = .call(function: "_[_]", target: nil, args: [operand, index], offset: offset)
      } else {
        return operand
      }
    }
  }

  private mutating func exprList(closing: String) throws(CELCompileError) -> [CELExpr] {
    var items: [CELExpr] = []
    if accept(closing) { return items }
    while true {
      items.append(try expr())
      if accept(closing) { return items }
      try expect(",")
      if accept(closing) { return items }   // trailing comma
    }
  }

  private mutating func primary() throws(CELCompileError) -> CELExpr {
    let token = current
    switch token.kind {
    case .int(let v): pos += 1; return .literal(.int(v), offset: token.offset)
    case .intMinMagnitude:
      throw CELCompileError(offset: token.offset, message: "invalid int literal")
    case .uint(let v): pos += 1; return .literal(.uint(v), offset: token.offset)
    case .double(let v): pos += 1; return .literal(.double(v), offset: token.offset)
    case .string(let s): pos += 1; return .literal(.string(s), offset: token.offset)
    case .bytes(let b): pos += 1; return .literal(.bytes(b), offset: token.offset)
    case .identifier(let name):
      pos += 1
      switch name {
      case "true": return .literal(.bool(true), offset: token.offset)
      case "false": return .literal(.bool(false), offset: token.offset)
      case "null": return .literal(.null, offset: token.offset)
      case "in": throw CELCompileError(offset: token.offset, message: "Syntax error: extraneous input 'in'")
      default: break
      }
      if accept("(") {
        let args = try exprList(closing: ")")
        if name == "has" {
          guard args.count == 1, case .select(let operand, let field, false, let o) = args[0] else {
            throw CELCompileError(offset: args.first?.offset ?? token.offset, message: "invalid argument to has() macro")
          }
          return .select(operand, field: field, testOnly: true, offset: o)
        }
        return .call(function: name, target: nil, args: args, offset: token.offset)
      }
      return .ident(name, offset: token.offset)
    case .punct("."):
      // a leading dot names the root scope: `.self` is `self` for our purposes
      pos += 1
      return try primary()
    case .punct("("):
      pos += 1
      let inner = try expr()
      try expect(")")
      return inner
    case .punct("["):
      pos += 1
      return .list(try exprList(closing: "]"), offset: token.offset)
    case .punct("{"):
      pos += 1
      var entries: [(key: CELExpr, value: CELExpr)] = []
      if accept("}") { return .map(entries, offset: token.offset) }
      while true {
        let key = try expr()
        try expect(":")
        entries.append((key, try expr()))
        if accept("}") { break }
        try expect(",")
        if accept("}") { break }
      }
      return .map(entries, offset: token.offset)
    case .end:
      throw CELCompileError(offset: token.offset, message: "Syntax error: mismatched input '<EOF>' expecting expression")
    default:
      throw CELCompileError(offset: token.offset, message: "Syntax error: mismatched input \(describe(token))")
    }
  }

  /// Turns `target.name(args)` into a macro node when it is one (langdef.md "Macros").
  private func makeReceiverCall(_ name: String, target: CELExpr, args: [CELExpr], offset: Int) throws(CELCompileError) -> CELExpr {
    let macro: CELMacro?
    switch (name, args.count) {
    case ("all", 2), ("all", 3): macro = .all
    case ("exists", 2), ("exists", 3): macro = .exists
    case ("exists_one", 2), ("existsOne", 2), ("exists_one", 3), ("existsOne", 3): macro = .existsOne
    case ("map", 2), ("map", 3): macro = .map
    case ("filter", 2): macro = .filter
    default: macro = nil
    }
    guard let macro else { return .call(function: name, target: target, args: args, offset: offset) }
    guard case .ident(let variable, _) = args[0] else {
      throw CELCompileError(offset: args[0].offset, message: "argument must be a simple name")
    }
    if args.count == 3, macro != .map {
      guard case .ident(let variable2, _) = args[1] else {
        throw CELCompileError(offset: args[1].offset, message: "argument must be a simple name")
      }
      return .macro(macro, range: target, variable: variable, variable2: variable2, args: [args[2]], offset: offset)
    }
    return .macro(macro, range: target, variable: variable, variable2: nil, args: Array(args.dropFirst()), offset: offset)
  }
}
