import KubeCore

/// A CEL runtime value.
///
/// The types are those of google/cel-spec `doc/langdef.md` "Values" that CRD rules can meet, plus the
/// Kubernetes `Quantity` (k8s.io/apiserver `pkg/cel/library/quantity.go`) and `optional` for
/// `optionalOldSelf` rules. Equality is `CELValue.equals`, CEL's equality (numbers compare across
/// int/uint/double), not Swift's structural one.
public indirect enum CELValue: Sendable {
  case null
  case bool(Bool)
  case int(Int64)
  case uint(UInt64)
  case double(Double)
  case string(String)
  case bytes([UInt8])
  case list([CELValue])
  /// A list-type `set` or `map` list from a schema (order-insensitive equality, merging `+`).
  case keyedList(CELKeyedList)
  case map(CELMap)
  /// A duration in nanoseconds.
  case duration(Int64)
  case timestamp(Timestamp)
  /// A type value, as `type(x)` returns it: its name (`int`, `string`, `list`…).
  case type(String)
  case quantity(Quantity)
  /// `optional.of(v)` / `optional.none()`.
  case optional(CELValue?)

  /// The CEL type name, as `type()` and error messages print it.
  public var typeName: String {
    switch self {
    case .null: return "null_type"
    case .bool: return "bool"
    case .int: return "int"
    case .uint: return "uint"
    case .double: return "double"
    case .string: return "string"
    case .bytes: return "bytes"
    case .list, .keyedList: return "list"
    case .map: return "map"
    case .duration: return "google.protobuf.Duration"
    case .timestamp: return "google.protobuf.Timestamp"
    case .type: return "type"
    case .quantity: return "kubernetes.Quantity"
    case .optional: return "optional_type"
    }
  }

  /// CEL equality (langdef.md "Equality"): numbers compare by value across int, uint and double; lists
  /// and maps element-wise; values of different types are unequal.
  public static func equals(_ a: CELValue, _ b: CELValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.string(let x), .string(let y)): return x == y
    case (.bytes(let x), .bytes(let y)): return x == y
    case (.duration(let x), .duration(let y)): return x == y
    case (.timestamp(let x), .timestamp(let y)): return x == y
    case (.type(let x), .type(let y)): return x == y
    case (.quantity(let x), .quantity(let y)): return x == y
    case (.optional(let x), .optional(let y)):
      switch (x, y) {
      case (nil, nil): return true
      case (let x?, let y?): return equals(x, y)
      default: return false
      }
    case (.keyedList(let x), _):
      guard let y = b.listItems else { return false }
      return x.equals(y)
    case (.list(let x), _):
      guard let y = b.listItems else { return false }
      return x.count == y.count && zip(x, y).allSatisfy { equals($0, $1) }
    case (.map(let x), .map(let y)):
      guard x.count == y.count else { return false }
      for (k, v) in x.entries {
        guard let w = y[k], equals(v, w) else { return false }
      }
      return true
    default:
      if let order = numericCompare(a, b) { return order == 0 }
      return false
    }
  }

  /// Orders two numbers of any numeric types, as cel-go's heterogeneous comparison does
  /// (cel-go `common/types/compare.go`); nil when either is not a number or a NaN is involved.
  package static func numericCompare(_ a: CELValue, _ b: CELValue) -> Int? {
    switch (a, b) {
    case (.int(let x), .int(let y)): return x < y ? -1 : (x > y ? 1 : 0)
    case (.uint(let x), .uint(let y)): return x < y ? -1 : (x > y ? 1 : 0)
    case (.int(let x), .uint(let y)):
      if x < 0 { return -1 }
      let ux = UInt64(x); return ux < y ? -1 : (ux > y ? 1 : 0)
    case (.uint, .int): return numericCompare(b, a).map { -$0 }
    case (.double(let x), .double(let y)):
      if x.isNaN || y.isNaN { return nil }
      return x < y ? -1 : (x > y ? 1 : 0)
    case (.int(let x), .double(let y)): return compareIntDouble(x, y)
    case (.double, .int): return numericCompare(b, a).map { -$0 }
    case (.uint(let x), .double(let y)):
      if y.isNaN { return nil }
      if y < 0 { return 1 }
      if y >= 18446744073709551616.0 { return -1 }
      let t = y.rounded(.towardZero)
      let ut = UInt64(t)
      if x < ut { return -1 }
      if x > ut { return 1 }
      return y > t ? -1 : 0
    case (.double, .uint): return numericCompare(b, a).map { -$0 }
    default: return nil
    }
  }

  private static func compareIntDouble(_ x: Int64, _ y: Double) -> Int? {
    if y.isNaN { return nil }
    if y < -9223372036854775808.0 { return 1 }
    if y >= 9223372036854775808.0 { return -1 }
    let t = y.rounded(.towardZero)
    let it = Int64(t)
    if x < it { return -1 }
    if x > it { return 1 }
    if y > t { return -1 }
    if y < t { return 1 }
    return 0
  }

  /// Converts a JSON value to CEL without a schema: integers become `int`, other numbers `double`.
  public init(json: JSONValue) {
    self = CELValue.from(json, schema: nil)
  }

  /// Converts a JSON value to CEL as Kubernetes does for a value of a given structural schema
  /// (k8s.io/apiserver `pkg/cel/common/values.go` `UnstructuredToVal`): `number` is always double,
  /// `integer` int, `format: date-time` a timestamp, `format: duration` a duration; null-valued object
  /// fields are absent, and property names are escaped as `CELEscaping` says.
  package static func from(_ json: JSONValue, schema: JSONValue?) -> CELValue {
    switch json {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .number(let n):
      if schema?["type"]?.stringValue == "number" { return .double(n.double ?? 0) }
      if n.isInteger, let i = n.int64 { return .int(i) }
      if schema?["type"]?.stringValue == "integer", let d = n.double, d == d.rounded(), abs(d) < 9.2e18 { return .int(Int64(d)) }
      return .double(n.double ?? 0)
    case .string(let s):
      switch schema?["format"]?.stringValue {
      case "date-time"?, "datetime"?:
        if let t = try? Timestamp(rfc3339: s) { return .timestamp(t) }
      case "duration"?:
        if let d = try? GoDuration(parsing: s) { return .duration(d.nanoseconds) }
      default: break
      }
      return .string(s)
    case .array(let items):
      let itemSchema = schema?["items"]
      let values = items.map { from($0, schema: itemSchema) }
      switch schema?["x-kubernetes-list-type"]?.stringValue {
      case "set"?: return .keyedList(CELKeyedList(items: values, mapKeys: nil))
      case "map"?:
        let keys = schema?["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap { $0.stringValue.flatMap(CELEscaping.escape) } ?? []
        return .keyedList(CELKeyedList(items: values, mapKeys: keys))
      default: return .list(values)
      }
    case .object(let o):
      var map = CELMap()
      // an embedded resource also shows apiVersion, kind and metadata.name/generateName
      let schema = schema?["x-kubernetes-embedded-resource"]?.boolValue == true ? schema.map(CELType.withTypeAndObjectMeta) : schema
      if let props = schema?["properties"]?.objectValue {
        // an object: declared properties only (unknown preserved fields are not visible), names escaped
        for (k, v) in o where v != .null {
          guard let p = props[k], let name = CELEscaping.escape(k) else { continue }
          map[.string(name)] = from(v, schema: p)
        }
        return .map(map)
      }
      let additional = schema?["additionalProperties"].flatMap { a -> JSONValue? in if case .object = a { return a } else { return nil } }
      for (k, v) in o where v != .null { map[.string(k)] = from(v, schema: additional) }
      return .map(map)
    }
  }
}

/// A CEL map: insertion-ordered entries with keys of type int, uint, bool or string.
///
/// Lookups are heterogeneous for numbers as in cel-go (`m[1]` finds the key `1u`).
public struct CELMap: Sendable {
  package enum Key: Hashable, Sendable {
    case signed(Int64), unsigned(UInt64), bool(Bool), string(String)

    /// The lookup key of a value, or nil when the value cannot be a map key.
    init?(_ value: CELValue) {
      switch value {
      case .int(let i): self = i >= 0 ? .unsigned(UInt64(i)) : .signed(i)
      case .uint(let u): self = .unsigned(u)
      case .double(let d):
        guard d == d.rounded(), abs(d) < 1.8e19 else { return nil }
        if d >= 0 { self = .unsigned(UInt64(d)) } else if d > -9.2e18 { self = .signed(Int64(d)) } else { return nil }
      case .bool(let b): self = .bool(b)
      case .string(let s): self = .string(s)
      default: return nil
      }
    }
  }

  /// The entries in insertion order (JSON object order for converted objects).
  public private(set) var entries: [(key: CELValue, value: CELValue)] = []
  private var index: [Key: Int] = [:]

  /// An empty map.
  public init() {}

  /// The number of entries.
  public var count: Int { entries.count }

  /// The value for `key`, or nil when absent (or when `key` cannot be a map key).
  public subscript(key: CELValue) -> CELValue? {
    get {
      guard let k = Key(key), let i = index[k] else { return nil }
      return entries[i].value
    }
    set {
      guard let k = Key(key) else { return }
      if let i = index[k] {
        if let newValue { entries[i].value = newValue }
      } else if let newValue {
        index[k] = entries.count
        entries.append((key, newValue))
      }
    }
  }

  /// Whether `key` is present.
  public func contains(_ key: CELValue) -> Bool { self[key] != nil }

  /// Whether a value is an acceptable map key type (int, uint, bool, string).
  package static func isKeyType(_ value: CELValue) -> Bool {
    switch value {
    case .int, .uint, .bool, .string: return true
    default: return false
    }
  }
}
