/// A list whose schema says `x-kubernetes-list-type: set` or `map`.
///
/// Kubernetes gives such lists their own equality and concatenation (CRD docs, "Validation rules";
/// k8s.io/apiserver `pkg/cel/common/values.go` `unstructuredSetList`, `unstructuredMapList`): `==`
/// ignores order; `X + Y` on a set appends only the elements of Y that X lacks; on a map list it keeps
/// X's positions, takes Y's value where the keys match, and appends Y's new keys. Everything else sees
/// an ordinary list.
public struct CELKeyedList: Sendable {
  /// The elements in order.
  public var items: [CELValue]
  /// The `x-kubernetes-list-map-keys` (as CEL field names) for a map list; nil for a set.
  public var mapKeys: [String]?

  /// A set (`mapKeys == nil`) or map list over `items`.
  public init(items: [CELValue], mapKeys: [String]?) {
    self.items = items
    self.mapKeys = mapKeys
  }

  private func key(_ v: CELValue) -> [CELValue?] {
    guard let keys = mapKeys, case .map(let m) = v else { return [v] }
    return keys.map { m[.string($0)] }
  }

  private static func sameKey(_ a: [CELValue?], _ b: [CELValue?]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
      switch (x, y) {
      case (nil, nil): return true
      case (let x?, let y?): return CELValue.equals(x, y)
      default: return false
      }
    }
  }

  private func index(of v: CELValue, in items: [CELValue]) -> Int? {
    let k = key(v)
    return items.firstIndex { CELKeyedList.sameKey(key($0), k) }
  }

  /// Order-insensitive equality with another list's elements.
  package func equals(_ other: [CELValue]) -> Bool {
    guard items.count == other.count else { return false }
    return items.allSatisfy { item in index(of: item, in: other).map { CELValue.equals(other[$0], item) } ?? false }
  }

  /// Set union or map-list merge with another list's elements.
  package func concatenated(with other: [CELValue]) -> CELKeyedList {
    var out = items
    for element in other {
      if let i = index(of: element, in: out) {
        if mapKeys != nil { out[i] = element }
      } else {
        out.append(element)
      }
    }
    return CELKeyedList(items: out, mapKeys: mapKeys)
  }
}

extension CELValue {
  /// The elements of a list (plain or keyed), or nil for other values.
  package var listItems: [CELValue]? {
    switch self {
    case .list(let items): return items
    case .keyedList(let k): return k.items
    default: return nil
    }
  }
}
