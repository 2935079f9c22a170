import KubeCore

extension FieldSet {
  /// The fields an object sets, as an applier comes to own them (structured-merge-diff
  /// `typed/tofieldset.go`).
  ///
  /// Every scalar, atomic list and atomic map is a member; every item of a keyed or set list is a
  /// member (so `k:{…}` entries carry `.`); a member of a map that is a key rather than a declared
  /// field is a member itself (`labels`' keys, everything in an unknown type). An empty granular map
  /// adds nothing.
  public init(fieldsOf object: JSONValue, schema: ApplySchema) {
    self.init()
    FieldSet.collect(object, schema: schema, path: [], into: &self)
  }

  private static func collect(_ value: JSONValue, schema: ApplySchema, path: FieldPath, into set: inout FieldSet) {
    switch value {
    case .object(let object):
      if schema.isAtomicMap { set.insert(path); return }
      for (key, child) in object {
        let childPath = path + [.field(key)]
        collect(child, schema: schema.field(key), path: childPath, into: &set)
        if !schema.declares(key) { set.insert(childPath) }
      }
    case .array(let items):
      let listType = schema.listType
      guard listType != .atomic else { set.insert(path); return }
      for (index, item) in items.enumerated() {
        let childPath = path + [listElement(item, index: index, listType: listType)]
        collect(item, schema: schema.items, path: childPath, into: &set)
        set.insert(childPath)
      }
    default:
      set.insert(path)
    }
  }

  /// The path element naming a list item: its key for a keyed list, its value for a set
  /// (`typed/helpers.go` `listItemToPathElement`).
  static func listElement(_ item: JSONValue, index: Int, listType: ApplySchema.ListType) -> PathElement {
    switch listType {
    case .map(let keys, let defaults):
      guard case .object(let object) = item, !keys.isEmpty else { return .index(index) }
      return .keyed(keys.compactMap { k in (object[k] ?? defaults[k]).map { PathElement.KeyField(name: k, value: $0) } })
    case .set:
      return .value(item)
    case .atomic:
      return .index(index)
    }
  }
}

/// What changed between two versions of an object, in paths (structured-merge-diff
/// `typed/compare.go`): `added` exist only in the new one, `removed` only in the old one, `modified`
/// in both with different values.
///
/// Leaves (scalars, atomic lists and maps, and maps empty on both sides) are compared by value; a
/// map or list that is added or removed whole is also listed itself — the merge walker's
/// `postItemHook` — which is why a created object's update manager owns `f:rollingUpdate` with `.`.
public struct FieldComparison: Sendable {
  /// Paths present only in the new object.
  public var added = FieldSet()
  /// Paths present in both with different values.
  public var modified = FieldSet()
  /// Paths present only in the old object.
  public var removed = FieldSet()

  /// Compares `old` (nil: nothing) with `new` under `schema`.
  public init(old: JSONValue?, new: JSONValue?, schema: ApplySchema) {
    var path: FieldPath = []
    walk(old, new, schema: schema, path: &path)
  }

  /// Whether the two objects have no difference in paths.
  public var isEmpty: Bool { added.isEmpty && modified.isEmpty && removed.isEmpty }

  private mutating func leaf(_ old: JSONValue?, _ new: JSONValue?, path: FieldPath) {
    if old == nil { added.insert(path) } else if new == nil { removed.insert(path) } else if old != new { modified.insert(path) }
  }

  /// `path` is the walk's position, extended and restored around each step (a copy is made only
  /// for a path that goes into a set).
  private mutating func walk(_ old: JSONValue?, _ new: JSONValue?, schema: ApplySchema, path: inout FieldPath) {
    // An unchanged subtree adds no path (leaves only differ, and a member added or removed whole
    // needs one side missing): one comparison instead of a walk of all its fields. Most writes change
    // a few fields of a large object (a status step, an annotation).
    if let old, let new, old == new { return }
    func isMapLike(_ v: JSONValue?) -> Bool { v == nil || v?.isNull == true || v?.objectValue != nil }
    func isListLike(_ v: JSONValue?) -> Bool { v == nil || v?.isNull == true || v?.arrayValue != nil }
    let hasMap = old?.objectValue != nil || new?.objectValue != nil
    let hasList = old?.arrayValue != nil || new?.arrayValue != nil
    if hasMap && isMapLike(old) && isMapLike(new) {
      let lhs = old?.objectValue ?? JSONObject(), rhs = new?.objectValue ?? JSONObject()
      if schema.isAtomicMap || (lhs.isEmpty && rhs.isEmpty) { leaf(old, new, path: path); return }
      var keys = lhs.keys
      for k in rhs.keys where lhs[k] == nil { keys.append(k) }
      for k in keys {
        path.append(.field(k))
        walk(lhs[k], rhs[k], schema: schema.field(k), path: &path)
        path.removeLast()
      }
    } else if hasList && isListLike(old) && isListLike(new) {
      let lhs = old?.arrayValue ?? [], rhs = new?.arrayValue ?? []
      let listType = schema.listType
      if listType == .atomic || (lhs.isEmpty && rhs.isEmpty) { leaf(old, new, path: path); return }
      let left = FieldComparison.index(lhs, listType), right = FieldComparison.index(rhs, listType)
      let leftElements = left.map(\.0)
      if leftElements == right.map(\.0), Set(leftElements).count == leftElements.count {
        // The same items in the same order (a status step): pair them by position.
        for i in left.indices {
          path.append(leftElements[i])
          walk(left[i].1, right[i].1, schema: schema.items, path: &path)
          path.removeLast()
        }
      } else {
        var order = leftElements
        for (pe, _) in right where !left.contains(where: { $0.0 == pe }) { order.append(pe) }
        let leftItems = Dictionary(left, uniquingKeysWith: { a, _ in a })
        let rightItems = Dictionary(right, uniquingKeysWith: { a, _ in a })
        for pe in order {
          path.append(pe)
          walk(leftItems[pe], rightItems[pe], schema: schema.items, path: &path)
          path.removeLast()
        }
      }
    } else {
      leaf(old, new, path: path)
      return
    }
    // A granular map or list added or removed whole is a member itself (merge.go postItemHook).
    if !path.isEmpty {
      if old == nil { added.insert(path) } else if new == nil { removed.insert(path) }
    }
  }

  static func index(_ items: [JSONValue], _ listType: ApplySchema.ListType) -> [(PathElement, JSONValue)] {
    items.enumerated().map { (FieldSet.listElement($0.element, index: $0.offset, listType: listType), $0.element) }
  }
}
