import CEL
import KubeCore

/// The static cost check a CRD's rules pass when the CRD is written.
///
/// Follows apiextensions-apiserver `pkg/apis/apiextensions/validation/validation.go`
/// (`ValidateCustomResourceDefinitionOpenAPISchema`, `getExpressionCost`, `getCostErrorMessage`,
/// the limits) and `cel_validation.go` (`CELSchemaContext`, `extractMaxElements`, `TotalCost`):
///
/// * a rule's estimated cost is its expression's (`CELCostEstimator`) times the most times it may run
///   per object: the product of `maxItems`/`maxProperties` of the lists and maps above it, or, as soon
///   as one of them has no bound, the number of values of the rule's node that fit in a request
///   (`CELSchemaSizes.maxCardinality`) — never a product of estimated sizes;
/// * a `messageExpression` is counted once, not times its cardinality;
/// * each expression may cost 10,000,000 and all of a schema's together 100,000,000.
extension CELRules {
  /// The most one rule or message expression may be estimated to cost (`StaticEstimatedCostLimit`).
  static let staticEstimatedCostLimit: UInt64 = 10_000_000
  /// The most all of one schema's expressions may be estimated to cost (`StaticEstimatedCRDCostLimit`).
  static let staticEstimatedCRDCostLimit: UInt64 = 100_000_000

  /// How many children each value of `schema` can have (`extractMaxElements`): a list's `maxItems`, a
  /// map's `maxProperties`, nil (unbounded) when they are missing, 1 for objects and scalars.
  static func maxElementsFactor(of schema: JSONValue) -> UInt64? {
    func bound(_ v: JSONValue?) -> UInt64? { v?.int64Value.map { UInt64(max($0, 0)) } }
    switch schema["type"]?.stringValue {
    case "object"?:
      if let additional = schema["additionalProperties"], additional != .null { return bound(schema["maxProperties"]) }
      return 1
    case "array"?:
      return bound(schema["maxItems"])
    default:
      return 1
    }
  }

  /// The cardinality of `schema`'s children given its own (`childContext`): nil stays nil.
  static func childCardinality(_ cardinality: UInt64?, of schema: JSONValue) -> UInt64? {
    guard let cardinality, let factor = maxElementsFactor(of: schema) else { return nil }
    return multiplyWithOverflowGuard(cardinality, factor)
  }

  /// `cost × cardinality`, saturating; 0 stays 0 (`multiplyWithOverflowGuard`).
  static func multiplyWithOverflowGuard(_ cost: UInt64, _ cardinality: UInt64) -> UInt64 {
    CELSizeEstimate.multiply(cost, cardinality)
  }

  /// The estimated cost of a rule at a node (`getExpressionCost`): one evaluation's, times the
  /// cardinality, or, under an unbounded list or map, times how many values of the node fit in a request.
  static func ruleCost(_ program: CELProgram, node: JSONValue, isRoot: Bool, variables: [String: CELType], cardinality: UInt64?) -> UInt64 {
    let perCall = expressionCost(program, node: node, isRoot: isRoot, variables: variables)
    let times = cardinality ?? CELSchemaSizes.maxCardinality(minSize: CELSchemaSizes.minSerializedSize(node))
    return multiplyWithOverflowGuard(perCall, times)
  }

  /// One evaluation's estimated cost (`CompilationResult.MaxCost`).
  static func expressionCost(_ program: CELProgram, node: JSONValue, isRoot: Bool, variables: [String: CELType]) -> UInt64 {
    let schema = isRoot ? CELType.withTypeAndObjectMeta(node) : CELSchemaSizes.embedded(node)
    var estimator = CELCostEstimator(schema: schema, variables: variables)
    return estimator.maxCost(program.expression)
  }

  /// Upstream's message for a cost over its limit (`getCostErrorMessage`).
  static func costErrorMessage(_ costName: String, cost: UInt64, limit: UInt64) -> String {
    let factor = Double(cost) / Double(limit)
    let text: String
    if factor > 100 { text = "more than 100x" }
    else if factor < 1.5 { text = CELConversions.fixed(factor, 6) + "x" }   // Go's %f
    else { text = CELConversions.fixed(factor, 1) + "x" }
    return "\(costName) exceeds budget by factor of \(text) (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
  }

  /// The running total of a schema's expression costs, with the few that contribute most (`TotalCost`).
  struct CostTotal {
    private(set) var total: UInt64 = 0
    /// At most four, dearest first; only expressions of at least 1% of the schema's limit.
    private(set) var mostExpensive: [(path: String, cost: UInt64)] = []

    mutating func observe(_ path: String, cost: UInt64) {
      total = CELSizeEstimate.add(total, cost)
      guard cost >= CELRules.staticEstimatedCRDCostLimit / 100 else { return }
      mostExpensive.append((path, cost))
      mostExpensive.sort { $0.cost > $1.cost }
      if mostExpensive.count > 4 { mostExpensive.removeLast() }
    }

    /// The errors for a schema over its limit: each main contributor, then the total at `schemaPath`.
    func errors(schemaPath: String) -> [FieldError] {
      guard total > CELRules.staticEstimatedCRDCostLimit else { return [] }
      var errors = mostExpensive.map {
        FieldError(.forbidden, field: $0.path, detail: "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema")
      }
      errors.append(FieldError(.forbidden, field: schemaPath, detail: CELRules.costErrorMessage(
        "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema", cost: total, limit: CELRules.staticEstimatedCRDCostLimit)))
      return errors
    }
  }
}
