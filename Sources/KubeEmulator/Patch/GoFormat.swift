import KubeCore

/// Go's wording of decoded JSON values, for error details that read like upstream's.
///
/// apimachinery and evanphx/json-patch format `interface{}` values with `%v` and name their Go types in
/// `ErrBadArgType` and decoding errors; these helpers spell our `JSONValue`s the same way.
enum GoFormat {
  /// A value as Go's `%v` prints the decoded `interface{}`: `map[k:v …]` with sorted keys, `[a b]`, `<nil>`.
  static func description(_ value: JSONValue) -> String {
    switch value {
    case .null: return "<nil>"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let number): return number.literal
    case .string(let text): return text
    case .array(let elements): return "[" + elements.map(description).joined(separator: " ") + "]"
    case .object(let object):
      let members = object.keys.sorted().map { key in "\(key):\(object[key].map(description) ?? "<nil>")" }
      return "map[" + members.joined(separator: " ") + "]"
    }
  }

  /// The Go type of a value decoded into `interface{}` with integers kept (`ErrBadArgType` details).
  static func typeName(_ value: JSONValue) -> String {
    switch value {
    case .null: return "<nil>"
    case .bool: return "bool"
    case .number(let number): return number.isInteger ? "int64" : "float64"
    case .string: return "string"
    case .array: return "[]interface {}"
    case .object: return "map[string]interface {}"
    }
  }

  /// The word `encoding/json`'s `UnmarshalTypeError` uses for a JSON value's kind.
  static func jsonKind(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool: return "bool"
    case .number: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }
}
