import KubeCore

/// The value operations of server-side apply: merging an applied configuration into the live object,
/// and removing the fields an applier gave up.
public enum ObjectMerge {
  /// Merges `config` into `live` (structured-merge-diff `typed/merge.go`, `TypedValue.Merge`).
  ///
  /// Granular maps merge member by member; keyed and set lists merge item by item (live items
  /// first, in their order, then new items in the configuration's order); scalars and atomic lists
  /// and maps take the configuration's value.
  public static func merge(_ live: JSONValue, _ config: JSONValue, schema: ApplySchema) -> JSONValue {
    switch (live, config) {
    case (.object(let lhs), .object(let rhs)) where !schema.isAtomicMap:
      var out = lhs
      for (key, value) in rhs {
        out[key] = lhs[key].map { merge($0, value, schema: schema.field(key)) } ?? value
      }
      return .object(out)
    case (.array(let lhs), .array(let rhs)) where schema.listType != .atomic:
      let listType = schema.listType
      let right = FieldComparison.index(rhs, listType)
      var out: [JSONValue] = []
      var used: Set<PathElement> = []
      for (pe, item) in FieldComparison.index(lhs, listType) {
        if let match = right.first(where: { $0.0 == pe }) {
          out.append(merge(item, match.1, schema: schema.items))
          used.insert(pe)
        } else {
          out.append(item)
        }
      }
      for (pe, item) in right where !used.contains(pe) {
        out.append(item)
        used.insert(pe)
      }
      return .array(out)
    default:
      return config
    }
  }

  /// Removes the value at `path`, if present: a member of a map, an item of a list by key or value.
  public static func remove(_ path: FieldPath, from value: JSONValue, schema: ApplySchema) -> JSONValue {
    guard let first = path.first else { return value }
    let rest = Array(path.dropFirst())
    switch (first, value) {
    case (.field(let name), .object(var object)):
      guard let child = object[name] else { return value }
      if rest.isEmpty { object.removeValue(forKey: name) } else {
        object[name] = remove(rest, from: child, schema: schema.field(name))
      }
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
