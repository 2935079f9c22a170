import KubeCore

extension CELCostEstimator {
  /// What a function costs beyond its operands, and what it tells about the size of its result.
  package struct CallCost {
    var cost: UInt64
    var resultSize: CELSizeEstimate?
    var entries: Entries?

    static let constant = CallCost(cost: 1)
  }

  // common.StringTraversalCostFactor and common.RegexStringLengthCostFactor (cel-go common/cost.go)
  package static let stringTraversal = 0.1
  package static let regexLength = 0.25

  /// A call: its operands (arguments, then the receiver, in cel-go `costCall`'s order) plus the function.
  package mutating func estimateCall(_ function: String, target: CELExpr?, args: [CELExpr]) -> Node {
    let a = args.map { estimate($0) }
    let t = target.map { estimate($0) }
    let operands = a.reduce(t?.cost ?? 0) { CELSizeEstimate.add($0, $1.cost) }
    var node = Node(cost: operands, type: CELChecker(variables: [:]).resultType(of: function, receiver: t?.type, arguments: a.map(\.type)))
    switch function {
    case "dyn" where t == nil && a.count == 1:
      // maybeUnwrapDynCall: 1 plus the argument, whose sizes (not its path) carry over
      node.cost = CELSizeEstimate.add(operands, 1)
      node.computed = size(a[0])
      node.entries = a[0].entries
    case "_&&_", "_||_":
      break   // LogicalAnd, LogicalOr: both sides, nothing more
    case "_?_:_" where a.count == 3:
      // Conditional: the condition and the dearer branch; the result is as large as either branch
      node.cost = CELSizeEstimate.add(a[0].cost, max(a[1].cost, a[2].cost))
      node.computed = sizeOrUnknown(a[1]).union(sizeOrUnknown(a[2]))
      node.entries = Entries.union(a[1].entries, a[2].entries)
    case "_[_]" where a.count == 2:
      // IndexList, IndexMap: constant; the element's size is the container's entries' or its schema's
      var isList = false
      if case .list = a[0].type { isList = true }
      node.cost = CELSizeEstimate.add(operands, 1)
      node.path = a[0].path + [isList ? "@items" : "@values"]
      node.computed = a[0].entries?.value
    default:
      let own = callCost(function, target: t, args: a, argExprs: args)
      node.cost = CELSizeEstimate.add(operands, own.cost)
      node.computed = own.resultSize
      node.entries = own.entries
    }
    return node
  }

  /// The cost of the function itself: first Kubernetes' estimates for its library (k8s.io/apiserver
  /// `pkg/cel/library/cost.go` `EstimateCallCost`), then cel-go's for the standard functions
  /// (`checker/cost.go` `functionCost`); anything else costs 1.
  package func callCost(_ function: String, target t: Node?, args a: [Node], argExprs: [CELExpr]) -> CallCost {
    let traversal = CELCostEstimator.stringTraversal
    switch function {
    // --- k8s.io/apiserver pkg/cel/library/cost.go
    case "isSorted", "sum", "max", "min", "indexOf", "lastIndexOf":
      guard let t else { break }
      if case .list(let element) = t.type {
        // 1 per element compared, plus a traversal of each element when they are strings or bytes
        var perElement: UInt64 = 1
        if element == .string || element == .bytes { perElement = CELSizeEstimate.add(1, elementSize(of: t).maxCost(perUnit: traversal)) }
        return CallCost(cost: CELSizeEstimate.multiply(sizeOrUnknown(t).max, perElement))
      }
      return CallCost(cost: sizeOrUnknown(t).maxCost(perUnit: traversal))   // indexOf on a string
    case "lowerAscii", "upperAscii", "substring", "trim":
      guard let t else { break }
      let size = sizeOrUnknown(t)
      return CallCost(cost: size.maxCost(perUnit: traversal), resultSize: size)
    case "replace":
      guard let t, a.count >= 2 else { break }
      return replaceCost(sizeOrUnknown(t), replacing: sizeOrUnknown(a[0]), with: sizeOrUnknown(a[1]))
    case "split":
      guard let t else { break }
      // the worst case splits on "" into one element per character, unless a literal limit says less
      let size = sizeOrUnknown(t)
      var count = size.max
      if argExprs.count > 1, case .literal(.int(let limit), _) = argExprs[1] { count = UInt64(bitPattern: limit) }
      return CallCost(cost: size.maxCost(perUnit: 2 * traversal), resultSize: CELSizeEstimate(min: 0, max: count))
    case "join":
      guard let t else { break }
      let listSize = sizeOrUnknown(t)
      var size = CELSizeEstimate.fixed(0)
      if case .list = t.type { size = listSize.multiplied(by: elementSize(of: t)) }
      if let separator = a.first {
        let separators = CELSizeEstimate(min: listSize.min > 0 ? listSize.min - 1 : 0, max: listSize.max > 0 ? listSize.max - 1 : 0)
        size = size.adding(sizeOrUnknown(separator).multiplied(by: separators))
      }
      return CallCost(cost: size.maxCost(perUnit: traversal), resultSize: size)
    case "find", "findAll":
      guard let t, let pattern = a.first else { break }
      // one more than the length, so an empty string against an expensive pattern still costs
      let size = sizeOrUnknown(t)
      let scan = size.adding(.fixed(1)).maxCost(perUnit: traversal)
      let regex = sizeOrUnknown(pattern).maxCost(perUnit: CELCostEstimator.regexLength)
      return CallCost(cost: CELSizeEstimate.multiply(scan, regex), resultSize: CELSizeEstimate(min: 0, max: size.max))
    case "quantity", "isQuantity":
      guard let text = a.first else { break }
      return CallCost(cost: sizeOrUnknown(text).maxCost(perUnit: traversal))
    case "_==_":
      // equality of Kubernetes' own types is constant; everything else is cel-go's Equals below
      if a.count == 2, a[0].type == .quantity, a[1].type == .quantity { return .constant }
      return CallCost(cost: equalityCost(a))

    // --- cel-go checker/cost.go functionCost
    case "_!=_":
      return CallCost(cost: equalityCost(a))
    case "_<_", "_<=_", "_>_", "_>=_":
      // LessString, LessBytes…: as equality; with two dyn operands every overload applies, the dearest wins
      guard a.count == 2 else { break }
      let textual: (CELType) -> Bool = { $0 == .string || $0 == .bytes || $0 == .dyn }
      guard textual(a[0].type), textual(a[1].type) else { break }
      let cost = equalityCost(a)
      return CallCost(cost: a[0].type == .dyn && a[1].type == .dyn ? max(cost, 1) : cost)
    case "@in":
      // InList is linear in the list (constant lists included); InMap is constant
      guard a.count == 2 else { break }
      let linear = sizeOrUnknown(a[1]).maxCost(perUnit: 1)
      switch a[1].type {
      case .list: return CallCost(cost: linear)
      case .map: return .constant
      default: return CallCost(cost: max(linear, 1))
      }
    case "_+_":
      guard a.count == 2 else { break }
      let size = sizeOrUnknown(a[0]).adding(sizeOrUnknown(a[1]))
      let entries = Entries.union(a[0].entries, a[1].entries)
      switch [a[0].type, a[1].type].first(where: { $0 != .dyn }) {
      case .string?, .bytes?: return CallCost(cost: size.maxCost(perUnit: traversal), resultSize: size, entries: entries)
      case .list?: return CallCost(cost: 1, resultSize: size, entries: entries)   // AddList: O(1), sized for what follows
      case nil: return CallCost(cost: max(size.maxCost(perUnit: traversal), 1), resultSize: size, entries: entries)
      default: break
      }
    case "matches":
      // only the receiver form is MatchesString; the global matches() has its own overload ID and costs 1
      guard let t, let pattern = a.first else { break }
      let scan = sizeOrUnknown(t).adding(.fixed(1)).maxCost(perUnit: traversal)
      let regex = sizeOrUnknown(pattern).maxCost(perUnit: CELCostEstimator.regexLength)
      return CallCost(cost: CELSizeEstimate.multiply(scan, regex))
    case "contains":
      guard let t, let part = a.first else { break }
      return CallCost(cost: CELSizeEstimate.multiply(sizeOrUnknown(t).maxCost(perUnit: traversal), sizeOrUnknown(part).maxCost(perUnit: traversal)))
    case "startsWith", "endsWith":
      // linear in the argument, not the receiver
      guard t != nil, let affix = a.first else { break }
      return CallCost(cost: sizeOrUnknown(affix).maxCost(perUnit: traversal))
    case "format":
      guard let t else { break }
      return CallCost(cost: sizeOrUnknown(t).maxCost(perUnit: traversal))
    case "string" where t == nil && a.count == 1 && (a[0].type == .bytes || a[0].type == .dyn):
      let size = sizeOrUnknown(a[0])   // BytesToString: a character may take 4 bytes
      return CallCost(cost: max(size.maxCost(perUnit: traversal), 1), resultSize: CELSizeEstimate(min: size.min / 4, max: size.max))
    case "bytes" where t == nil && a.count == 1 && (a[0].type == .string || a[0].type == .dyn):
      let size = sizeOrUnknown(a[0])   // StringToBytes
      return CallCost(cost: max(size.maxCost(perUnit: traversal), 1),
                      resultSize: CELSizeEstimate(min: size.min, max: CELSizeEstimate.multiply(size.max, 4)))
    default:
      break
    }
    return .constant
  }

  /// Equals, NotEquals and the string comparisons: a tenth of the shorter operand's most characters,
  /// which is 0 for two values whose schema gives no size (an integer field) and 1 for literals.
  package func equalityCost(_ a: [Node]) -> UInt64 {
    guard a.count == 2 else { return 1 }
    let shorter = min(sizeOrUnknown(a[0]).max, sizeOrUnknown(a[1]).max)
    return CELSizeEstimate.multiply(shorter, byFactor: CELCostEstimator.stringTraversal)
  }

  /// The size of a list's elements from the schema, through the list's path (library `listElementNode`):
  /// unknown for a computed list, whose path is empty.
  package func elementSize(of list: Node) -> CELSizeEstimate {
    guard !list.path.isEmpty else { return .unknown }
    return CELSchemaSizes.sizeEstimate(at: list.path + ["@items"], root: schema) ?? .unknown
  }

  /// `replace`: a traversal and the building of the result, sized by how often the shortest match can
  /// be replaced by the longest replacement (library cost.go, case "replace").
  package func replaceCost(_ size: CELSizeEstimate, replacing old: CELSizeEstimate, with new: CELSizeEstimate) -> CallCost {
    var count = CELSizeEstimate.fixed(0), retained = CELSizeEstimate.fixed(0)
    if old.min == 0 {
      count.max = size.max < .max ? size.max + 1 : size.max
      retained.max = size.max
    } else if new.max <= old.min {
      count.max = 0
      retained.max = size.max
    } else {
      count.max = CELCostEstimator.ceilDivide(size.max, old.min)
    }
    if old.max == 0 {
      count.min = size.min < .max ? size.min + 1 : size.min
      retained.min = size.min
    } else if old.max <= new.min {
      count.min = 0
      retained.min = size.min
    } else {
      count.min = CELCostEstimator.ceilDivide(size.min, old.max)
    }
    let result = count.multiplied(by: new).adding(retained)
    return CallCost(cost: size.maxCost(perUnit: 2 * CELCostEstimator.stringTraversal), resultSize: result)
  }

  /// `⌈a / b⌉` computed in `Double` as upstream does, saturating.
  package static func ceilDivide(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let quotient = (Double(a) / Double(b)).rounded(.up)
    return quotient >= 18_446_744_073_709_551_616.0 ? .max : UInt64(quotient)
  }
}
