import KubeCore

/// Estimates, before any object exists, the most a rule can cost, from the sizes its schema allows.
///
/// Kubernetes refuses a CRD whose rule could cost more than `StaticEstimatedCostLimit` (10,000,000)
/// times the number of times it may run (apiextensions-apiserver `pkg/apis/apiextensions/validation/
/// validation.go`, `getExpressionCost`, `getCostErrorMessage`; cel-go `checker/cost.go`). Without
/// `maxItems`/`maxLength`/`maxProperties`, a size is bounded only by the 3 MiB request limit: a list of
/// items serialised in at least `m` bytes holds at most 3 MiB/(m+1) of them
/// (k8s.io/apiserver `pkg/cel/common/schemas.go` `estimateMaxArrayItemsFromMinSize`).
///
/// The units are the runtime tracker's (`CELCost`), so the estimate bounds what evaluation can spend.
struct CELCostEstimator {
  /// Upstream's per-rule static limit.
  static let staticLimit: UInt64 = 10_000_000
  /// Upstream's limit for all the rules of one schema together (`StaticEstimatedCRDCostLimit`).
  static let staticCRDLimit: UInt64 = 100_000_000
  /// The request body limit sizes are derived from (k8s.io/apiserver `pkg/server/config.go`).
  static let maxRequestBytes: UInt64 = 3 * 1024 * 1024

  /// The schema node an expression's value has, when known, plus a size bound for computed values.
  struct Shape {
    var schema: JSONValue?
    var size: UInt64?

    static let unknown = Shape(schema: nil, size: nil)
  }

  private var scopes: [[String: Shape]]

  init(variables: [String: JSONValue]) {
    scopes = [variables.mapValues { Shape(schema: $0, size: nil) }]
  }

  /// The smallest JSON serialisation of a value of `schema`, in bytes.
  static func minSerializedSize(_ schema: JSONValue?) -> UInt64 {
    switch schema?["type"]?.stringValue {
    case "string"?: return 2
    case "boolean"?: return 4
    case "integer"?, "number"?: return 1
    case "array"?, "object"?: return 2
    default: return 1
    }
  }

  /// The most elements (list, map) or characters (string) a value of `shape` can have.
  static func maxSize(_ shape: Shape) -> UInt64 {
    if let size = shape.size { return size }
    guard let schema = shape.schema else { return maxRequestBytes }
    switch schema["type"]?.stringValue {
    case "array"?:
      if let m = schema["maxItems"]?.int64Value, m >= 0 { return UInt64(m) }
      return (maxRequestBytes - 2) / (minSerializedSize(schema["items"]) + 1)
    case "object"?:
      if let m = schema["maxProperties"]?.int64Value, m >= 0 { return UInt64(m) }
      if let props = schema["properties"]?.objectValue, schema["additionalProperties"] == nil { return UInt64(props.count) }
      // "k":v, — at least 4 bytes of key, colon and comma besides the value
      return (maxRequestBytes - 2) / (minSerializedSize(schema["additionalProperties"]) + 4)
    case "string"?:
      if let m = schema["maxLength"]?.int64Value, m >= 0 { return UInt64(m) }
      return maxRequestBytes - 2
    default:
      return maxRequestBytes
    }
  }

  /// The size bound of a string, list or map shape; nil for scalars, whose operations cost O(1).
  static func sizeIfSized(_ shape: Shape) -> UInt64? {
    if let size = shape.size { return size }
    switch shape.schema?["type"]?.stringValue {
    case "string"?, "array"?, "object"?: return maxSize(shape)
    default: return nil
    }
  }

  static func add(_ a: UInt64, _ b: UInt64) -> UInt64 { let (r, o) = a.addingReportingOverflow(b); return o ? .max : r }
  static func multiply(_ a: UInt64, _ b: UInt64) -> UInt64 { let (r, o) = a.multipliedReportingOverflow(by: b); return o ? .max : r }

  /// The estimated maximum cost of `expr` and the shape of its value.
  mutating func estimate(_ expr: CELExpr) -> (cost: UInt64, shape: Shape) {
    typealias E = CELCostEstimator
    switch expr {
    case .literal(let v, _):
      if case .string(let s) = v { return (0, Shape(schema: nil, size: UInt64(s.utf8.count))) }
      return (0, .unknown)
    case .ident(let name, _):
      for scope in scopes.reversed() { if let s = scope[name] { return (1, s) } }
      return (1, .unknown)
    case .select(let operand, let field, let testOnly, _):
      let (c, s) = estimate(operand)
      if testOnly { return (E.add(c, 1), .unknown) }
      let child = CELEscaping.property(field, of: s.schema) ?? s.schema?["additionalProperties"]
      return (E.add(c, 1), Shape(schema: child.flatMap { if case .object = $0 { return $0 } else { return nil } }, size: nil))
    case .list(let items, _):
      var c: UInt64 = 10
      for item in items { c = E.add(c, estimate(item).cost) }
      return (c, Shape(schema: nil, size: UInt64(items.count)))
    case .map(let entries, _):
      var c: UInt64 = 30
      for e in entries { c = E.add(c, E.add(estimate(e.key).cost, estimate(e.value).cost)) }
      return (c, Shape(schema: nil, size: UInt64(entries.count)))
    case .macro(let macro, let range, let variable, let variable2, let args, _):
      let (rangeCost, rangeShape) = estimate(range)
      let n = E.maxSize(rangeShape)
      let keySchema: JSONValue = ["type": "string"]   // a map macro iterates over its keys
      let element: JSONValue? = rangeShape.schema?["items"] ?? (rangeShape.schema?["additionalProperties"] == nil ? nil : keySchema)
      var scope = [variable: Shape(schema: element, size: nil)]
      if let variable2 {
        scope[variable] = .unknown   // an index or a key
        scope[variable2] = Shape(schema: rangeShape.schema?["items"] ?? rangeShape.schema?["additionalProperties"], size: nil)
      }
      scopes.append(scope)
      var body: UInt64 = 1
      for a in args { body = E.add(body, estimate(a).cost) }
      scopes.removeLast()
      if macro == .map || macro == .filter { body = E.add(body, 1) }
      let resultShape = Shape(schema: macro == .filter ? rangeShape.schema : nil, size: n)
      return (E.add(rangeCost, E.multiply(n, body)), (macro == .map || macro == .filter) ? resultShape : .unknown)
    case .call(let function, let target, let args, _):
      var cost: UInt64 = 1
      var shapes: [Shape] = []
      if let target { let (c, s) = estimate(target); cost = E.add(cost, c); shapes.append(s) }
      for a in args { let (c, s) = estimate(a); cost = E.add(cost, c); shapes.append(s) }
      // functions whose work grows with their input
      let linear: Set<String> = ["contains", "startsWith", "endsWith", "matches", "find", "findAll", "indexOf", "lastIndexOf",
                                 "lowerAscii", "upperAscii", "trim", "split", "replace", "substring", "join", "_==_", "_!=_",
                                 "@in", "_+_", "isSorted", "sum", "min", "max", "string", "reverse", "charAt"]
      let subject = function == "@in" ? shapes.last : shapes.first
      if linear.contains(function), let subject, let size = CELCostEstimator.sizeIfSized(subject) {
        let isString = subject.schema?["type"]?.stringValue == "string" || (subject.schema == nil && function != "@in" && function != "join")
        var units = isString ? (size + 9) / 10 : size
        // a regex search costs string length × pattern length (0.1 and 0.25 per character, cel-go checker/cost.go)
        if ["matches", "find", "findAll"].contains(function), let pattern = shapes.dropFirst().first {
          units = E.multiply(units, max(1, (CELCostEstimator.sizeIfSized(pattern) ?? CELCostEstimator.maxRequestBytes) / 4))
        }
        cost = E.add(cost, units)
      }
      if function == "_+_", shapes.count == 2, let a = CELCostEstimator.sizeIfSized(shapes[0]), let b = CELCostEstimator.sizeIfSized(shapes[1]) {
        // concatenation: as long as both sides together; a list keeps its element schema
        let isList = shapes[0].schema?["type"]?.stringValue == "array"
        return (cost, Shape(schema: isList ? shapes[0].schema : nil, size: E.add(a, b)))
      }
      if function == "_[_]", let s = shapes.first {
        return (cost, Shape(schema: (s.schema?["items"] ?? s.schema?["additionalProperties"]).flatMap { if case .object = $0 { return $0 } else { return nil } }, size: nil))
      }
      return (cost, .unknown)
    }
  }

  /// Upstream's message for a rule over budget (`getCostErrorMessage`).
  static func budgetMessage(_ name: String, cost: UInt64, limit: UInt64) -> String {
    let factor = Double(cost) / Double(limit)
    let text: String
    if factor > 100 { text = "more than 100x" }
    else if factor < 1.5 { text = CELConversions.fixed(factor, 6) + "x" }
    else { text = CELConversions.fixed(factor, 1) + "x" }
    return "\(name) exceeds budget by factor of \(text) (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
  }
}
