import KubeCore

/// Estimates, before any object exists, the most one evaluation of an expression can cost.
///
/// This is cel-go's static estimator (`checker/cost.go`, `coster`) as Kubernetes configures it for
/// CRD rules: sizes come from the schema through field paths (`CELSchemaSizes.sizeEstimate`, the
/// apiextensions `sizeEstimator`), Kubernetes' own functions are costed by k8s.io/apiserver
/// `pkg/cel/library/cost.go` `EstimateCallCost` and the rest by cel-go's `functionCost`, and `has()`
/// costs nothing (`PresenceTestHasCost(false)`, k8s.io/apiserver `pkg/cel/environment/base.go`).
/// CRD validation multiplies the result by how often the rule may run (`CELRules.checkCompiles`).
///
/// The units are those of the runtime tracker (`CELCost`): 1 for an identifier, a field selection or
/// a call, 10 to build a list, 0.1 per character a string function reads.
///
/// Our expressions keep macros as nodes; each is costed as the comprehension cel-go expands it to
/// (`parser/macro.go` `makeQuantifier`, `MakeMap`, `MakeFilter`; `ext/comprehensions.go` for the
/// two-variable forms), so `all` costs what `@not_strictly_false(@result)` and `@result && p` cost per
/// element. Upstream's quirks are kept, because any change in either direction would accept a CRD
/// upstream refuses or refuse one it accepts (the warning at the top of `EstimateCallCost`).
package struct CELCostEstimator {
  /// What the estimator knows about one sub-expression.
  package struct Node {
    /// The most it costs, its operands included.
    var cost: UInt64
    var type: CELType
    /// Its field path (cel-go `exprPaths`): a variable, then property names, `@items`, `@keys`,
    /// `@values`. Empty when the value was computed.
    var path: [String] = []
    /// A size known from the expression itself (cel-go `computedSizes`, `computeExprSize`).
    var computed: CELSizeEstimate?
    /// The size a local variable was bound with; used only when nothing else is known.
    var local: CELSizeEstimate?
    /// Sizes of the entries of a list or map the expression built (cel-go `computedEntrySizes`).
    var entries: Entries?
  }

  /// The key (or index) and value sizes of a list's or map's entries.
  package struct Entries {
    var isList: Bool
    var key: CELSizeEstimate
    var value: CELSizeEstimate

    /// Both ranges widened to hold the other's; unknown when either is (cel-go `entrySizeEstimate.union`).
    static func union(_ a: Entries?, _ b: Entries?) -> Entries? {
      guard let a, let b else { return nil }
      return Entries(isList: a.isList, key: a.key.union(b.key), value: a.value.union(b.value))
    }
  }

  private struct Local {
    var type: CELType
    var path: [String]
    var size: CELSizeEstimate?
  }

  /// The schema `self` and `oldSelf` have, as CEL sees it (with apiVersion, kind and metadata.name at
  /// a resource root).
  package let schema: JSONValue
  private let variables: [String: CELType]
  private var locals: [String: [Local]] = [:]

  /// An estimator for rules whose variables are declared as `variables` and whose sizes come from `schema`.
  package init(schema: JSONValue, variables: [String: CELType]) {
    self.schema = schema
    self.variables = variables
  }

  /// The most one evaluation of `expr` costs (cel-go `CostEstimate.Max`).
  package mutating func maxCost(_ expr: CELExpr) -> UInt64 { estimate(expr).cost }

  /// The size of a node's value, as cel-go `computeSize` finds it: computed, else from the schema
  /// through its path, else 1 for a fixed-size type, else the local variable's; nil if unknown.
  package func size(_ node: Node) -> CELSizeEstimate? {
    if let computed = node.computed { return computed }
    if let fromSchema = CELSchemaSizes.sizeEstimate(at: node.path, root: schema) { return fromSchema }
    if CELCostEstimator.isScalar(node.type) { return .fixed(1) }
    return node.local
  }

  package func sizeOrUnknown(_ node: Node) -> CELSizeEstimate { size(node) ?? .unknown }

  /// Types whose values have one size (cel-go `isScalar`): strings, bytes, lists and maps do not.
  package static func isScalar(_ type: CELType) -> Bool {
    switch type {
    case .bool, .int, .uint, .double, .duration, .timestamp: return true
    case .optional(let wrapped): return isScalar(wrapped)
    default: return false
    }
  }

  /// The estimate of `expr` and what cel-go tracks about its value (path, sizes), operands first.
  package mutating func estimate(_ expr: CELExpr) -> Node {
    switch expr {
    case .literal(let value, _):
      return Node(cost: 0, type: CELType.ofLiteral(value), computed: CELCostEstimator.literalSize(value))
    case .ident(let name, _):
      if let local = locals[name]?.last {
        return Node(cost: 1, type: local.type, path: local.path, local: local.size)
      }
      let type = variables[name] ?? (CELEvaluator.typeIdentifiers.contains(name) ? .type : .dyn)
      return Node(cost: 1, type: type, path: [name])
    case .select(let operand, let field, let testOnly, _):
      let o = estimate(operand)
      // has(): the operand's cost only (presence tests are free in Kubernetes), and no path
      if testOnly { return Node(cost: o.cost, type: .bool) }
      // selecting from a map or an object costs 1 (costSelect); our checker says dyn where cel-go
      // knows an object type (an object keeping unknown fields), so dyn counts as an object
      let selecting: UInt64
      switch o.type {
      case .object, .map, .dyn: selecting = 1
      default: selecting = 0
      }
      return Node(cost: CELSizeEstimate.add(o.cost, selecting), type: CELCostEstimator.fieldType(o.type, field), path: o.path + [field])
    case .list(let items, _):
      var cost: UInt64 = 10   // common.ListCreateBaseCost
      var itemSize = items.isEmpty ? CELSizeEstimate.fixed(0) : CELSizeEstimate(min: .max, max: 0)
      var element: CELType?
      for item in items {
        let n = estimate(item)
        cost = CELSizeEstimate.add(cost, n.cost)
        itemSize = itemSize.union(sizeOrUnknown(n))
        element = element == nil ? n.type : (element == n.type ? n.type : .dyn)
      }
      return Node(cost: cost, type: .list(element ?? .dyn), computed: .fixed(UInt64(items.count)),
                  entries: Entries(isList: true, key: .fixed(1), value: itemSize))
    case .map(let pairs, _):
      var cost: UInt64 = 30   // common.MapCreateBaseCost
      var keySize = pairs.isEmpty ? CELSizeEstimate.fixed(0) : CELSizeEstimate(min: .max, max: 0)
      var valueSize = keySize
      var keyType: CELType?, valueType: CELType?
      for pair in pairs {
        let k = estimate(pair.key), v = estimate(pair.value)
        cost = CELSizeEstimate.add(cost, CELSizeEstimate.add(k.cost, v.cost))
        keySize = keySize.union(sizeOrUnknown(k))
        valueSize = valueSize.union(sizeOrUnknown(v))
        keyType = keyType == nil ? k.type : (keyType == k.type ? k.type : .dyn)
        valueType = valueType == nil ? v.type : (valueType == v.type ? v.type : .dyn)
      }
      return Node(cost: cost, type: .map(key: keyType ?? .dyn, value: valueType ?? .dyn), computed: .fixed(UInt64(pairs.count)),
                  entries: Entries(isList: false, key: keySize, value: valueSize))
    case .macro(let macro, let range, let variable, let variable2, let args, _):
      return estimateComprehension(macro, range: range, variable: variable, variable2: variable2, args: args)
    case .call(let function, let target, let args, _):
      return estimateCall(function, target: target, args: args)
    }
  }

  /// A macro, costed as the comprehension it expands to (cel-go `costComprehension`): the range, the
  /// accumulator's initial value and the result once, the loop condition and step once per element.
  private mutating func estimateComprehension(_ macro: CELMacro, range: CELExpr, variable: String, variable2: String?,
                                              args: [CELExpr]) -> Node {
    let r = estimate(range)
    let isList: Bool
    switch r.entries?.isList {
    case let known?: isList = known
    case nil: if case .list = r.type { isList = true } else { isList = false }
    }
    var elementType: CELType = .dyn, keyType: CELType = .dyn
    switch r.type {
    case .list(let e): elementType = e; keyType = .int
    case .map(let k, let v): elementType = v; keyType = k
    default: break
    }
    // the iteration variables (pushIterSingle, or pushIterKey and pushIterValue)
    if let variable2 {
      push(variable, Local(type: keyType, path: r.path + [isList ? "@indices" : "@keys"], size: r.entries?.key))
      push(variable2, Local(type: elementType, path: r.path + [isList ? "@items" : "@values"], size: r.entries?.value))
    } else {
      push(variable, Local(type: isList ? elementType : keyType, path: r.path + [isList ? "@items" : "@keys"],
                           size: isList ? r.entries?.value : r.entries?.key))
    }
    let argNodes = args.map { estimate($0) }
    // the size of the variable itself, for filter's `@result + [x]`
    let variableSize = sizeOrUnknown(estimate(.ident(variable2 ?? variable, offset: 0)))
    pop(variable)
    if let variable2 { pop(variable2) }

    let count = sizeOrUnknown(r).max
    let c = argNodes.map(\.cost)
    // Per element: loop condition + step. Once: accumulator init + result. Operator costs as functionCost gives them.
    let perElement: UInt64, once: UInt64
    var result = Node(cost: 0, type: .bool, computed: .fixed(1))   // a bool or int literal accumulator: size 1
    switch macro {
    case .all:
      // condition @not_strictly_false(@result) = 2; step @result && p = 1 + p; result @result = 1
      perElement = CELSizeEstimate.add(3, c.last ?? 0); once = 1
    case .exists:
      // condition @not_strictly_false(!@result) = 3; step @result || p = 1 + p; result @result = 1
      perElement = CELSizeEstimate.add(4, c.last ?? 0); once = 1
    case .existsOne:
      // condition true = 0; step p ? @result + 1 : @result = p + 2; result @result == 1 = 2
      perElement = CELSizeEstimate.add(2, c.last ?? 0); once = 2
    case .map:
      // init [] = 10; condition true = 0; step @result + [f] = 12 + f (with a filter p: p ? … : @result);
      // result @result = 1
      let transform = argNodes.last
      perElement = CELSizeEstimate.add(12, c.reduce(0, CELSizeEstimate.add)); once = 11
      let valueMax = transform.map { sizeOrUnknown($0).max } ?? 0
      result = Node(cost: 0, type: .list(transform?.type ?? .dyn), computed: sizeOrUnknown(r),
                    entries: Entries(isList: true, key: .fixed(1), value: CELSizeEstimate(min: 0, max: valueMax)))
    case .filter:
      // init [] = 10; condition true = 0; step p ? @result + [x] : @result = p + 13; result @result = 1
      perElement = CELSizeEstimate.add(13, c.last ?? 0); once = 11
      result = Node(cost: 0, type: .list(isList ? elementType : keyType), computed: sizeOrUnknown(r),
                    entries: Entries(isList: true, key: .fixed(1), value: CELSizeEstimate(min: 0, max: variableSize.max)))
    }
    result.cost = CELSizeEstimate.add(CELSizeEstimate.add(r.cost, once), CELSizeEstimate.multiply(count, perElement))
    return result
  }

  private mutating func push(_ name: String, _ local: Local) { locals[name, default: []].append(local) }
  private mutating func pop(_ name: String) { locals[name]?.removeLast() }

  /// A literal's size (cel-go `computeExprSize`): characters (code points) of a string, bytes of bytes, 1 otherwise.
  package static func literalSize(_ value: CELValue) -> CELSizeEstimate? {
    switch value {
    case .string(let s): return .fixed(UInt64(s.unicodeScalars.count))
    case .bytes(let b): return .fixed(UInt64(b.count))
    case .null, .bool, .int, .uint, .double, .duration, .timestamp: return .fixed(1)
    default: return nil
    }
  }

  package static func fieldType(_ type: CELType, _ field: String) -> CELType {
    switch type {
    case .object(let schema): return CELEscaping.property(field, of: schema).map { CELType.of(schema: $0) } ?? .dyn
    case .map(_, let value): return value
    default: return .dyn
    }
  }
}
