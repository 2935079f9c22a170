import KubeCore

/// The static type the checker infers for an expression.
///
/// A light version of cel-go's `common/types` type system: enough to reject a misspelt field, an unknown
/// function, a wrong argument count or `self == true` on an integer before a rule is stored. Anything
/// the checker cannot tell is `dyn`, which is accepted everywhere and checked at run time.
package indirect enum CELType: Sendable, Equatable {
  case dyn, null, bool, int, uint, double, string, bytes, duration, timestamp, type, quantity
  case list(CELType)
  case map(key: CELType, value: CELType)
  /// An object with declared properties; the schema node says which.
  case object(JSONValue)
  case optional(CELType)

  /// The CEL name, as cel-go prints it in checker errors.
  package var name: String {
    switch self {
    case .dyn: return "dyn"
    case .null: return "null_type"
    case .bool: return "bool"
    case .int: return "int"
    case .uint: return "uint"
    case .double: return "double"
    case .string: return "string"
    case .bytes: return "bytes"
    case .duration: return "google.protobuf.Duration"
    case .timestamp: return "google.protobuf.Timestamp"
    case .type: return "type"
    case .quantity: return "kubernetes.Quantity"
    case .list(let e): return "list(\(e.name))"
    case .map(let k, let v): return "map(\(k.name), \(v.name))"
    case .object: return "object"
    case .optional(let t): return "optional_type(\(t.name))"
    }
  }

  /// Whether the type has one known primitive shape (so overloads can be checked against it).
  package var isPrimitive: Bool {
    switch self {
    case .null, .bool, .int, .uint, .double, .string, .bytes, .duration, .timestamp: return true
    default: return false
    }
  }

  package var isNumeric: Bool { self == .int || self == .uint || self == .double }

  /// The CEL type of values of a structural schema node, as Kubernetes declares it (k8s.io/apiserver
  /// `pkg/cel/common/schemas.go` `SchemaDeclType`; the mapping table in the CRD validation-rules docs).
  package static func of(schema: JSONValue?) -> CELType {
    guard let schema else { return .dyn }
    if schema["x-kubernetes-int-or-string"]?.boolValue == true { return .dyn }
    switch schema["type"]?.stringValue {
    case "boolean"?: return .bool
    case "integer"?: return .int
    case "number"?: return .double
    case "string"?:
      switch schema["format"]?.stringValue {
      case "date-time"?, "datetime"?: return .timestamp
      case "duration"?: return .duration
      default: return .string
      }
    case "array"?: return .list(of(schema: schema["items"]))
    case "object"?:
      if schema["x-kubernetes-embedded-resource"]?.boolValue == true { return .object(CELType.withTypeAndObjectMeta(schema)) }
      if schema["properties"] != nil { return .object(schema) }
      if let additional = schema["additionalProperties"], case .object = additional {
        return .map(key: .string, value: of(schema: additional))
      }
      if schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true { return .dyn }
      return .object(schema)
    default:
      return .dyn
    }
  }
}

extension CELType {
  /// The type of a literal value (what the checker and the cost estimator both give a constant).
  package static func ofLiteral(_ value: CELValue) -> CELType {
    switch value {
    case .null: return .null
    case .bool: return .bool
    case .int: return .int
    case .uint: return .uint
    case .double: return .double
    case .string: return .string
    case .bytes: return .bytes
    default: return .dyn
    }
  }
}

extension CELType {
  /// The property names reachable from a resource root or embedded resource besides the schema's own
  /// (apiextensions-apiserver `pkg/apiserver/schema/cel/model` `WithTypeAndObjectMeta`).
  package static func withTypeAndObjectMeta(_ schema: JSONValue) -> JSONValue {
    var s = schema
    var props = schema["properties"]?.objectValue ?? JSONObject()
    props["apiVersion"] = ["type": "string"]
    props["kind"] = ["type": "string"]
    props["metadata"] = ["type": "object", "properties": ["name": ["type": "string"], "generateName": ["type": "string"]]]
    s["properties"] = .object(props)
    return s
  }
}
