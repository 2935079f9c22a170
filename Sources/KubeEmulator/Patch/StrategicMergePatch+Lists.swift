import KubeCore

/// List merging and ordering for `StrategicMergePatch`.
///
/// Follows apimachinery `pkg/util/strategicpatch/patch.go` (v0.36): `mergeSlice`,
/// `mergeSliceWithSpecialElements`, `mergeSliceWithoutSpecialElements`, `deleteFromSlice`,
/// `partitionPrimitivesByPresentInList`, `partitionMapsByPresentInList`, `normalizeElementOrder`,
/// `normalizeSliceOrder`, `mergeSortedSlice`, `sliceElementType`.
extension Merger {
  /// Upstream `mergeSlice`: merges a list whose field has the `merge` strategy (or a delete list).
  static func mergeList(_ original: [JSONValue], _ patch: [JSONValue], schema: PatchSchema?, isDeleteList: Bool) throws(PatchError) -> [JSONValue] {
    if original.isEmpty && patch.isEmpty { return original }
    let kind = try ElementKind.common(original, patch)
    let mergeKey = schema?.mergeKey ?? ""
    var original = original
    var patch = patch
    let merged: [JSONValue]
    if kind != .object {
      if isDeleteList {
        return original.filter { !patch.contains($0) }  // upstream `deleteFromSlice`
      }
      var unique: [JSONValue] = []
      for value in original + patch where !unique.contains(value) { unique.append(value) }
      merged = unique
    } else {
      guard !mergeKey.isEmpty else {
        throw .mergeFailed(detail: "cannot merge lists without merge key for \(schema == nil ? "unknown field" : "this field")")
      }
      (original, patch) = try applySpecialElements(original, patch, mergeKey: mergeKey)
      merged = try mergeByKey(original, patch, mergeKey: mergeKey, schema: schema?.items)
    }
    let (patchItems, serverOnly) = try partition(merged, by: patch, mergeKey: mergeKey)
    return try normalizeOrder(patchItems: patchItems, serverOnly: serverOnly, patchOrder: patch, serverOrder: original, mergeKey: mergeKey, kind: kind)
  }

  /// Upstream `mergeSliceWithSpecialElements`: `$patch: delete` elements delete every original element
  /// with their merge key value; a `$patch: replace` element makes the rest of the patch the list.
  private static func applySpecialElements(_ original: [JSONValue], _ patch: [JSONValue], mergeKey: String) throws(PatchError) -> ([JSONValue], [JSONValue]) {
    var original = original
    var plain: [JSONValue] = []
    var replaces = false
    for element in patch {
      guard let object = element.objectValue, let directive = object[Directive.marker] else {
        plain.append(element)
        continue
      }
      switch directive.stringValue {
      case Directive.delete?:
        guard let value = object[mergeKey] else { throw noMergeKey(object, mergeKey) }
        original.removeAll { $0.objectValue?[mergeKey] == value }
      case Directive.replace?:
        replaces = true  // keep scanning: the other `$patch` elements are dropped too
      case Directive.merge?:
        throw .mergeFailed(detail: "merging lists cannot yet be specified in the patch")
      default:
        throw .mergeFailed(detail: "unknown patch type: \(GoFormat.description(directive)) in map: \(GoFormat.description(element))")
      }
    }
    return replaces ? (plain, []) : (original, plain)
  }

  /// Upstream `mergeSliceWithoutSpecialElements`: merges each patch element into the first original
  /// element with the same merge key value, or appends it.
  private static func mergeByKey(_ original: [JSONValue], _ patch: [JSONValue], mergeKey: String, schema: PatchSchema?) throws(PatchError) -> [JSONValue] {
    var result = original
    for element in patch {
      guard case .object(let patchObject) = element else { throw badArgType(expected: "map[string]interface {}", element) }
      guard let value = patchObject[mergeKey] else { throw noMergeKey(patchObject, mergeKey) }
      if let index = result.firstIndex(where: { $0.objectValue?[mergeKey] == value }), case .object(let originalObject) = result[index] {
        result[index] = .object(try mergeMap(originalObject, patchObject, schema: schema))
      } else {
        result.append(element)
      }
    }
    return result
  }

  /// Upstream `partitionPrimitivesByPresentInList` / `partitionMapsByPresentInList`: the merged
  /// elements named by `list`, and the others.
  static func partition(_ merged: [JSONValue], by list: [JSONValue], mergeKey: String) throws(PatchError) -> ([JSONValue], [JSONValue]) {
    var named: [JSONValue] = []
    var others: [JSONValue] = []
    for element in merged {
      let isNamed: Bool
      if mergeKey.isEmpty {
        isNamed = list.contains(element)
      } else {
        let value = try mergeKeyValue(of: element, mergeKey: mergeKey)
        var found = false
        for (position, candidate) in list.enumerated() where !found {
          guard case .object(let object) = candidate else { throw .mergeFailed(detail: "value for key \(position) is not a map") }
          found = object[mergeKey] == value
        }
        isNamed = found
      }
      if isNamed { named.append(element) } else { others.append(element) }
    }
    return (named, others)
  }

  /// Upstream `normalizeElementOrder`: sorts the patch's elements by `patchOrder` and the server-only
  /// ones by `serverOrder`, then interleaves them (`mergeSortedSlice`).
  static func normalizeOrder(
    patchItems: [JSONValue], serverOnly: [JSONValue], patchOrder: [JSONValue], serverOrder: [JSONValue], mergeKey: String, kind: ElementKind
  ) throws(PatchError) -> [JSONValue] {
    let sortedPatch = try sortedLikeUpstream(patchItems, by: patchOrder, mergeKey: mergeKey, kind: kind)
    let sortedServer = try sortedLikeUpstream(serverOnly, by: serverOrder, mergeKey: mergeKey, kind: kind)
    let position = { (value: JSONValue) in indexOf(value, in: serverOrder, mergeKey: mergeKey, kind: kind) }
    // A server-only element goes first only when both are in the live list and it came first there.
    var result: [JSONValue] = []
    result.reserveCapacity(sortedPatch.count + sortedServer.count)
    var left = sortedServer[...]
    var right = sortedPatch[...]
    while let l = left.first, let r = right.first {
      if let li = position(l), let ri = position(r), li < ri {
        result.append(l)
        left.removeFirst()
      } else {
        result.append(r)
        right.removeFirst()
      }
    }
    return result + left + right
  }

  /// Upstream `normalizeSliceOrder`: a stable sort by position in `order`, `$patch: delete` elements last.
  ///
  /// Upstream's comparator says "less" whenever either element is missing from `order`; with Go's
  /// `sort.SliceStable` that is an insertion sort for the short lists patches carry, so we run the same
  /// insertion sort with the same comparator to get the same order even then.
  private static func sortedLikeUpstream(_ elements: [JSONValue], by order: [JSONValue], mergeKey: String, kind: ElementKind) throws(PatchError) -> [JSONValue] {
    var toSort = elements
    var deletions: [JSONValue] = []
    if kind == .object {
      for element in elements + order { _ = try mergeKeyValue(of: element, mergeKey: mergeKey) }
      toSort = elements.filter { $0.objectValue?[Directive.marker]?.stringValue != Directive.delete }
      deletions = elements.filter { $0.objectValue?[Directive.marker]?.stringValue == Directive.delete }
    }
    let positions = toSort.map { indexOf($0, in: order, mergeKey: mergeKey, kind: kind) }
    var indices = Array(toSort.indices)
    func less(_ a: Int, _ b: Int) -> Bool {
      guard let pa = positions[a], let pb = positions[b] else { return true }
      return pa < pb
    }
    if indices.count > 1 {
      for i in 1..<indices.count {
        var j = i
        while j > 0 && less(indices[j], indices[j - 1]) {
          indices.swapAt(j, j - 1)
          j -= 1
        }
      }
    }
    return indices.map { toSort[$0] } + deletions
  }

  /// Upstream `index`: the position of `value` in `list`, comparing merge key values for objects.
  private static func indexOf(_ value: JSONValue, in list: [JSONValue], mergeKey: String, kind: ElementKind) -> Int? {
    guard kind == .object else { return list.firstIndex(of: value) }
    let key = value.objectValue?[mergeKey]
    return list.firstIndex { $0.objectValue?[mergeKey] == key }
  }

  /// The merge key value of a list element, which must be an object holding it.
  static func mergeKeyValue(of element: JSONValue, mergeKey: String) throws(PatchError) -> JSONValue {
    guard case .object(let object) = element else { throw badArgType(expected: "map[string]interface {}", element) }
    guard let value = object[mergeKey] else { throw noMergeKey(object, mergeKey) }
    return value
  }

  /// Upstream `mergepatch.ErrNoMergeKey`.
  static func noMergeKey(_ object: JSONObject, _ mergeKey: String) -> PatchError {
    .mergeFailed(detail: "map: \(GoFormat.description(.object(object))) does not contain declared merge key: \(mergeKey)")
  }

  /// Upstream `mergepatch.ErrBadArgType`.
  static func badArgType(expected: String, _ actual: JSONValue) -> PatchError {
    .mergeFailed(detail: "expected a \(expected), but received a \(GoFormat.typeName(actual))")
  }
}

/// The Go type a decoded JSON value has in apimachinery's maps (`UnmarshalCaseSensitivePreserveInts`
/// keeps integers as int64): what `reflect.TypeOf` compares in `mergeMap` and `sliceElementType`.
enum ElementKind: Equatable {
  case null, bool, integer, float, string, array, object

  init(_ value: JSONValue) {
    switch value {
    case .null: self = .null
    case .bool: self = .bool
    case .number(let number): self = number.isInteger ? .integer : .float
    case .string: self = .string
    case .array: self = .array
    case .object: self = .object
    }
  }

  /// Upstream `sliceElementType`: the one element type of both lists.
  static func common(_ lists: [JSONValue]...) throws(PatchError) -> ElementKind {
    var found: ElementKind?
    for list in lists {
      for element in list {
        let kind = ElementKind(element)
        guard let previous = found else {
          if kind == .array { throw .listOfLists }
          found = kind
          continue
        }
        guard previous == kind else {
          throw .mergeFailed(detail: "list element types are not identical: \(GoFormat.description(.array(lists.map(JSONValue.array))))")
        }
      }
    }
    guard let found else { throw .mergeFailed(detail: "no elements in any of the given slices") }
    if found == .null { throw .mergeFailed(detail: "list elements must not be null") }
    return found
  }
}
