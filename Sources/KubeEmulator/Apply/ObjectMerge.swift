import KubeCore

/// The value operations of server-side apply: merging an applied configuration into the live object,
/// and removing the fields an applier gave up.
public enum ObjectMerge {
  /// Merges `config` into `live` (structured-merge-diff `typed/merge.go`, `TypedValue.Merge`).
  ///
  /// Granular maps merge member by member; keyed and set lists merge item by item; scalars and
  /// atomic lists and maps take the configuration's value.
  public static func merge(_ live: JSONValue, _ config: JSONValue, schema: ApplySchema) -> JSONValue {
    switch (live, config) {
    case (.object(let lhs), .object(let rhs)) where !schema.isAtomicMap:
      var out = lhs
      for (key, value) in rhs {
        out[key] = lhs[key].map { merge($0, value, schema: schema.field(key)) } ?? value
      }
      return .object(out)
    case (.array(let lhs), .array(let rhs)) where schema.listType != .atomic:
      return .array(mergeItems(lhs, rhs, schema: schema))
    default:
      return config
    }
  }

  /// Merges the items of a keyed or set list in upstream's order (`typed/merge.go`
  /// `visitListItems`): items both lists hold come in the configuration's order, live-only items
  /// keep their place among them, configuration-only items come where the configuration puts them.
  static func mergeItems(_ lhs: [JSONValue], _ rhs: [JSONValue], schema: ApplySchema) -> [JSONValue] {
    let listType = schema.listType
    let left = FieldComparison.index(lhs, listType), right = FieldComparison.index(rhs, listType)
    let leftItems = Dictionary(left, uniquingKeysWith: { a, _ in a })
    let rightItems = Dictionary(right, uniquingKeysWith: { a, _ in a })
    let shared = right.map(\.0).filter { leftItems[$0] != nil }
    var sharedIndex = 0
    var nextShared: PathElement? { sharedIndex < shared.count ? shared[sharedIndex] : nil }
    var taken: Set<PathElement> = []
    var out: [JSONValue] = []
    func combined(_ pe: PathElement, _ item: JSONValue) -> JSONValue {
      leftItems[pe].map { merge($0, item, schema: schema.items) } ?? item
    }
    var l = 0, r = 0
    while l < left.count || r < right.count {
      if l < left.count && r < right.count {
        let pe = left[l].0
        if pe == right[r].0 {
          out.append(combined(pe, right[r].1))
          taken.insert(pe)
          l += 1; r += 1; sharedIndex += 1
          continue
        }
        if rightItems[pe] != nil, let next = nextShared, next != pe { l += 1; continue }   // placed later
      }
      if l < left.count {
        let pe = left[l].0
        if rightItems[pe] == nil { out.append(left[l].1); l += 1; continue }
        if taken.contains(pe) { l += 1; continue }
      }
      if r < right.count {
        let pe = right[r].0
        taken.insert(pe)
        out.append(combined(pe, right[r].1))
        r += 1
        if nextShared == pe { sharedIndex += 1 }
      }
    }
    return out
  }

  /// Removes the value at `path`, if present: a member of a map, an item of a list by key or value.
  ///
  /// A built-in kind's map or list left empty goes too, as Go's `omitempty` drops it when the object
  /// is stored (`labels: {}` never reaches a reader); structs and custom resources keep their `{}`.
  public static func remove(_ path: FieldPath, from value: JSONValue, schema: ApplySchema) -> JSONValue {
    guard let first = path.first else { return value }
    let rest = Array(path.dropFirst())
    switch (first, value) {
    case (.field(let name), .object(var object)):
      guard let child = object[name] else { return value }
      if rest.isEmpty { object.removeValue(forKey: name); return .object(object) }
      let childSchema = schema.field(name)
      let pruned = remove(rest, from: child, schema: childSchema)
      var isStruct = false
      if case .field(let member)? = rest.first { isStruct = childSchema.declares(member) }
      let isEmpty = pruned.objectValue?.isEmpty == true || pruned.arrayValue?.isEmpty == true
      if isEmpty && !isStruct && schema.omitsEmptyCollections { object.removeValue(forKey: name) } else { object[name] = pruned }
      return .object(object)
    case (_, .array(var items)):
      let listType = schema.listType
      guard let i = items.indices.first(where: { FieldSet.listElement(items[$0], index: $0, listType: listType) == first }) else {
        return value
      }
      if rest.isEmpty { items.remove(at: i) } else { items[i] = remove(rest, from: items[i], schema: schema.items) }
      return .array(items)
    default:
      return value
    }
  }
}
