import KubeCore

/// One step of a path into an object, as server-side apply names it.
///
/// The four kinds are structured-merge-diff's (kubernetes-sigs/structured-merge-diff
/// `fieldpath/element.go`): a field of a map, the key of an item of a keyed list (`containers` by
/// `name`), the value of an item of a set list (`finalizers`), and the index of an item of a list that
/// has neither (only ever seen in old data: atomic lists are owned whole).
///
/// Ordering is upstream's `PathElement.Compare`: fields before keys before values before indices;
/// fields by name (bytewise), keys field by field (`value/fields.go` `FieldList.Compare`), values by
/// `ApplyValueOrder`.
public enum PathElement: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// `f:<name>` — a member of a map or struct.
  case field(String)
  /// `k:<json>` — an item of a keyed list; the key fields sorted by name.
  case key([KeyField])
  /// `v:<json>` — an item of a set list.
  case value(JSONValue)
  /// `i:<n>` — an item of a list by position.
  case index(Int)

  /// One `name=value` pair of a list item's key.
  public struct KeyField: Sendable, Hashable {
    /// The key field's name (`name`, `containerPort`).
    public var name: String
    /// The item's value for it.
    public var value: JSONValue
    /// A key field from its name and value.
    public init(name: String, value: JSONValue) { self.name = name; self.value = value }
  }

  /// A key element from unsorted fields; sorts them by name as upstream's `KeyByFields` does.
  public static func keyed(_ fields: [KeyField]) -> PathElement {
    .key(fields.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) })
  }

  private var rank: Int {
    switch self {
    case .field: 0
    case .key: 1
    case .value: 2
    case .index: 3
    }
  }

  public static func < (lhs: PathElement, rhs: PathElement) -> Bool {
    switch (lhs, rhs) {
    case (.field(let a), .field(let b)):
      return a.utf8.lexicographicallyPrecedes(b.utf8)
    case (.key(let a), .key(let b)):
      // value/fields.go FieldList.Compare: lexical, field by field (name, then value); a prefix first.
      for (x, y) in zip(a, b) {
        if x.name != y.name { return x.name.utf8.lexicographicallyPrecedes(y.name.utf8) }
        let c = ApplyValueOrder.compare(x.value, y.value)
        if c != 0 { return c < 0 }
      }
      return a.count < b.count
    case (.value(let a), .value(let b)):
      return ApplyValueOrder.compare(a, b) < 0
    case (.index(let a), .index(let b)):
      return a < b
    default:
      return lhs.rank < rhs.rank
    }
  }

  /// The element as upstream prints it in conflict messages (`fieldpath/element.go` `String`):
  /// `.spec`, `[name="nginx"]`, `[="finalizer"]`, `[0]`.
  public var description: String {
    switch self {
    case .field(let name): return "." + name
    case .key(let fields): return "[" + fields.map { "\($0.name)=\($0.value.serializedString())" }.joined(separator: ",") + "]"
    case .value(let v): return "[=\(v.serializedString())]"
    case .index(let i): return "[\(i)]"
    }
  }

  /// The element's FieldsV1 key (`fieldpath/serialize-pe.go`): `f:name`, `k:{"name":"nginx"}`,
  /// `v:"x"`, `i:0`; key fields in name order, compact JSON.
  public var fieldsV1Key: String {
    switch self {
    case .field(let name): return "f:" + name
    case .key(let fields):
      var object = JSONObject()
      for f in fields { object[f.name] = f.value }
      return "k:" + JSONValue.object(object).serializedString()
    case .value(let v): return "v:" + v.serializedString()
    case .index(let i): return "i:\(i)"
    }
  }

  /// Parses a FieldsV1 key; nil when it is not one of the four forms.
  public init?(fieldsV1Key text: String) {
    guard text.count >= 2, text.dropFirst().first == ":" else { return nil }
    let body = String(text.dropFirst(2))
    switch text.first {
    case "f": self = .field(body)
    case "i":
      guard let i = Int(body), i >= 0 else { return nil }
      self = .index(i)
    case "v":
      guard let v = try? JSONValue(parsing: Array(body.utf8)) else { return nil }
      self = .value(v)
    case "k":
      guard case .object(let o)? = try? JSONValue(parsing: Array(body.utf8)) else { return nil }
      self = .keyed(o.map { KeyField(name: $0.0, value: $0.1) })
    default:
      return nil
    }
  }
}

/// A path from an object's root: `.spec.template.spec.containers[name="app"].image`.
public typealias FieldPath = [PathElement]

/// Prints a path as upstream's `fieldpath.Path.String` does, for conflict messages.
public func describe(_ path: FieldPath) -> String { path.map(\.description).joined() }

/// The total order of values that structured-merge-diff uses to sort set items (`value/value.go`
/// `CompareUsing`): numbers (floats and integers compared numerically), then strings, booleans,
/// lists, maps, and null last.
enum ApplyValueOrder {
  static func compare(_ a: JSONValue, _ b: JSONValue) -> Int {
    func rank(_ v: JSONValue) -> Int {
      switch v {
      case .number: 0
      case .string: 1
      case .bool: 2
      case .array: 3
      case .object: 4
      case .null: 5
      }
    }
    switch (a, b) {
    case (.number(let x), .number(let y)):
      let dx = x.double ?? 0, dy = y.double ?? 0
      return dx < dy ? -1 : (dx > dy ? 1 : 0)
    case (.string(let x), .string(let y)):
      return x == y ? 0 : (x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1)
    case (.bool(let x), .bool(let y)):
      return x == y ? 0 : (x ? 1 : -1)
    case (.array(let x), .array(let y)):
      for (p, q) in zip(x, y) {
        let c = compare(p, q)
        if c != 0 { return c }
      }
      return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
    case (.object, .object), (.null, .null):
      let s = a.serializedString(), t = b.serializedString()
      return s == t ? 0 : (s < t ? -1 : 1)
    default:
      return rank(a) < rank(b) ? -1 : 1
    }
  }
}
