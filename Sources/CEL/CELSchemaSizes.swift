import KubeCore

/// What Kubernetes knows about the sizes of a schema node's values before any object exists: the most
/// elements or characters a value can have, and the fewest bytes it serialises to.
///
/// These are the `MaxElements` and `MinSerializedSize` of the CEL declaration Kubernetes builds from a
/// structural schema (k8s.io/apiserver `pkg/cel/common/schemas.go` `SchemaDeclType`, with the constants
/// of `pkg/cel/limits.go`). Where a schema sets no `maxItems`, `maxProperties` or `maxLength`, the bound
/// comes from the 3 MiB request limit and the smallest serialisation of one element: a list of items of
/// at least `m` bytes holds at most (3 MiB − 2)/(m + 1) of them.
///
/// Two facts surprise at first and are upstream's all the same: `maxLength` counts code points, so a
/// string's bound is four times it (bytes); and a map's keys are declared as plain strings with no bound
/// at all, so their size estimate is 0.
package enum CELSchemaSizes {
  /// The request size every unbounded estimate derives from (k8s.io/apiserver `pkg/apis/cel/config.go`
  /// `MaxRequestSizeBytes`, 3 MiB).
  package static let maxRequestBytes: UInt64 = 3 * 1024 * 1024

  // k8s.io/apiserver pkg/cel/limits.go
  package static let maxDurationSizeJSON: UInt64 = 32
  package static let maxDatetimeSizeJSON: UInt64 = 32
  package static let minDurationSizeJSON: UInt64 = 3
  package static let jsonDateSize: UInt64 = 12
  package static let minDatetimeSizeJSON: UInt64 = 21
  package static let minStringSize: UInt64 = 2
  package static let minBoolSize: UInt64 = 4
  package static let minNumberSize: UInt64 = 1

  /// The CEL declaration a schema node gets, reduced to what sizes depend on.
  package enum Declaration {
    case intOrString(JSONValue)
    case list(items: JSONValue, schema: JSONValue)
    case map(values: JSONValue, schema: JSONValue)
    case object(JSONValue)
    case string(JSONValue)
    case bool, number
    /// A map's key: a string without a bound (`NewMapType(StringType, …)`; `StringType.MaxElements` is 0).
    case mapKey
  }

  /// The declaration of a schema node, or nil where `SchemaDeclType` returns nil (a node without a type,
  /// a list or map whose elements have none): such a field does not exist for CEL.
  package static func declaration(_ schema: JSONValue) -> Declaration? {
    if schema["x-kubernetes-int-or-string"]?.boolValue == true { return .intOrString(schema) }
    switch schema["type"]?.stringValue {
    case "array"?:
      guard let items = schema["items"], case .object = items, declaration(items) != nil else { return nil }
      return .list(items: items, schema: schema)
    case "object"?:
      if let values = schema["additionalProperties"], case .object = values {
        return declaration(values) == nil ? nil : .map(values: values, schema: schema)
      }
      return .object(schema)
    case "string"?: return .string(schema)
    case "boolean"?: return .bool
    case "number"?, "integer"?: return .number
    default: return nil
    }
  }

  /// The most elements (list, map) or bytes (string) a value of the declaration can have; 0 for objects
  /// and scalars, which have no size.
  package static func maxElements(_ declaration: Declaration) -> UInt64 {
    switch declaration {
    case .intOrString(let s):
      if let maxLength = bound(s["maxLength"]) { return CELSizeEstimate.multiply(maxLength, 4) }
      return maxRequestBytes - 2
    case .list(let items, let s):
      // estimateMaxArrayItemsFromMinSize: subtract 2 for [ and ], one comma per item
      return bound(s["maxItems"]) ?? (maxRequestBytes - 2) / (minSerializedSize(items) + 1)
    case .map(let values, let s):
      // estimateMaxAdditionalPropertiesFromMinSize: "" + : + , around each value, and { }
      return bound(s["maxProperties"]) ?? (maxRequestBytes - 2) / (minSerializedSize(values) + 6)
    case .string(let s):
      switch s["format"]?.stringValue {
      case "byte"?: return bound(s["maxLength"]) ?? maxRequestBytes - 2
      case "duration"?: return maxDurationSizeJSON
      case "date"?: return jsonDateSize
      case "date-time"?: return maxDatetimeSizeJSON
      default:
        // estimateMaxElementsFromMaxLength: maxLength counts code points, of up to 4 bytes each
        if let maxLength = bound(s["maxLength"]) { return CELSizeEstimate.multiply(maxLength, 4) }
        if let values = s["enum"]?.arrayValue, !values.isEmpty {
          return values.compactMap(\.stringValue).map { UInt64($0.utf8.count) }.max() ?? 0   // estimateMaxStringEnumLength
        }
        return maxRequestBytes - 2
      }
    case .object, .bool, .number, .mapKey:
      return 0
    }
  }

  /// The fewest bytes a value of `schema` serialises to in JSON (`MinSerializedSize`).
  package static func minSerializedSize(_ schema: JSONValue) -> UInt64 {
    guard let declared = declaration(schema) else { return 0 }
    switch declared {
    case .intOrString: return 1
    case .list, .map: return 2
    case .object(let s):
      // {} plus, for each required property without a default, "name": and a comma around its value
      var size: UInt64 = 2
      let required = Set((s["required"]?.arrayValue ?? []).compactMap(\.stringValue))
      for (name, property) in s["properties"]?.objectValue ?? JSONObject() where required.contains(name) {
        guard declaration(property) != nil, property["default"] == nil || property["default"] == .null else { continue }
        size = CELSizeEstimate.add(size, UInt64(name.utf8.count) + minSerializedSize(property) + 4)
      }
      return size
    case .string(let s):
      switch s["format"]?.stringValue {
      case "duration"?: return minDurationSizeJSON
      case "date"?: return jsonDateSize
      case "date-time"?: return minDatetimeSizeJSON
      default: return minStringSize
      }
    case .bool: return minBoolSize
    case .number: return minNumberSize
    case .mapKey: return minStringSize
    }
  }

  /// How many times a value of at least `minSize` bytes fits in one request: the cardinality of a rule
  /// under lists or maps without bounds (apiextensions-apiserver `pkg/apiserver/schema/cel/compilation.go`
  /// `maxCardinality`; one comma between elements).
  package static func maxCardinality(minSize: UInt64) -> UInt64 { maxRequestBytes / (minSize + 1) }

  /// The size estimate of the value at `path` below `root`, as the apiextensions size estimator gives it
  /// to cel-go (`compilation.go` `sizeEstimator.EstimateSize`): the first element names the variable and
  /// is skipped, `@items`/`@values` step into elements, `@keys` into a map's keys, anything else is a
  /// property as CEL spells it. Nil when the path is empty or leaves the declared types.
  package static func sizeEstimate(at path: [String], root: JSONValue) -> CELSizeEstimate? {
    guard !path.isEmpty, var node = declaration(root) else { return nil }
    for step in path.dropFirst() {
      switch (step, node) {
      case ("@items", .list(let items, _)), ("@values", .list(let items, _)),
           ("@items", .map(let items, _)), ("@values", .map(let items, _)):
        guard let next = declaration(embedded(items)) else { return nil }
        node = next
      case ("@keys", .map):
        node = .mapKey
      case (_, .object(let s)):
        guard !step.hasPrefix("@"), let property = CELEscaping.property(step, of: s),
              let next = declaration(embedded(property)) else { return nil }
        node = next
      default:
        return nil
      }
    }
    return CELSizeEstimate(min: 0, max: maxElements(node))
  }

  /// An embedded resource's schema as CEL sees it: with apiVersion, kind and metadata.name/generateName.
  package static func embedded(_ schema: JSONValue) -> JSONValue {
    schema["x-kubernetes-embedded-resource"]?.boolValue == true ? CELType.withTypeAndObjectMeta(schema) : schema
  }

  /// A `maxLength`/`maxItems`/`maxProperties`, negative ones read as 0 (`zeroIfNegative`).
  private static func bound(_ value: JSONValue?) -> UInt64? {
    guard let n = value?.int64Value else { return nil }
    return UInt64(max(n, 0))
  }
}
