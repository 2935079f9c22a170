import KubeCore

/// The recursive merge behind `StrategicMergePatch.apply`.
///
/// Follows apimachinery `pkg/util/strategicpatch/patch.go` (v0.36): `mergeMap`,
/// `handleDirectiveInMergeMap`, `applyRetainKeysDirective`, `mergePatchIntoOriginal`,
/// `preprocessDeletionListForMerging`, `mergeMapHandler`, `mergeSliceHandler`.
enum Merger {
  /// Upstream `mergeMap`.
  static func mergeMap(_ original: JSONObject, _ patch: JSONObject, schema: PatchSchema?) throws(PatchError) -> JSONObject {
    if let directive = patch[Directive.marker] {
      return try handleDirective(directive, in: patch)
    }
    var original = original
    var patch = patch
    try applyRetainKeys(&original, &patch)
    try mergeElementOrderLists(&original, &patch, schema: schema)

    for (patchKey, patchValue) in patch {
      var key = patchKey
      var isDeleteList = false
      if patchKey.hasPrefix(Directive.deleteFromPrimitiveListPrefix) {
        key = try Directive.listKey(of: patchKey, prefix: Directive.deleteFromPrimitiveListPrefix)
        isDeleteList = true
      }
      // `IgnoreUnmatchedNulls`: null deletes, and never lands in the result.
      if patchValue.isNull {
        original.removeValue(forKey: key)
        continue
      }
      guard let originalValue = original[key], ElementKind(originalValue) == ElementKind(patchValue) else {
        // Absent, or of another type: the patch value wins, cleaned (a delete list just does nothing).
        if !isDeleteList {
          original[key] = Directive.removingPatchMarkers(JSONMergePatch.prunedNulls(patchValue))  // upstream `discardNullValuesFromPatch`
        }
        continue
      }
      let fieldSchema = schema?.field(key)
      let strategy = fieldSchema?.patchStrategy ?? .none
      switch (originalValue, patchValue) {
      case (.object(let originalObject), .object(let patchObject)):
        // Upstream `mergeMapHandler`.
        original[key] = strategy.replaces ? patchValue : .object(try mergeMap(originalObject, patchObject, schema: fieldSchema))
      case (.array(let originalList), .array(let patchList)):
        original[key] = .array(try mergeListHandler(originalList, patchList, schema: fieldSchema, isDeleteList: isDeleteList))
      default:
        original[key] = Directive.removingPatchMarkers(patchValue)
      }
    }
    return original
  }

  /// Upstream `mergeSliceHandler`: merge when the field says so (or for a delete list), else replace.
  static func mergeListHandler(_ original: [JSONValue], _ patch: [JSONValue], schema: PatchSchema?, isDeleteList: Bool) throws(PatchError) -> [JSONValue] {
    guard schema?.patchStrategy.merges == true || isDeleteList else { return patch }
    return try mergeList(original, patch, schema: schema, isDeleteList: isDeleteList)
  }

  /// Upstream `handleDirectiveInMergeMap`: `replace` takes the patch as is, `delete` leaves `{}`.
  private static func handleDirective(_ directive: JSONValue, in patch: JSONObject) throws(PatchError) -> JSONObject {
    switch directive.stringValue {
    case Directive.replace?:
      var replaced = patch
      replaced.removeValue(forKey: Directive.marker)
      return replaced
    case Directive.delete?:
      return JSONObject()
    default:
      throw .mergeFailed(detail: "unknown patch type: \(GoFormat.description(directive)) in map: \(GoFormat.description(.object(patch)))")
    }
  }

  /// Upstream `applyRetainKeysDirective`: every patched member must be listed, and the original keeps
  /// only listed members.
  private static func applyRetainKeys(_ original: inout JSONObject, _ patch: inout JSONObject) throws(PatchError) {
    guard let directive = patch.removeValue(forKey: Directive.retainKeys) else { return }
    guard case .array(let retained) = directive else {
      throw .malformedDirective(detail: "invalid patch format of retainKeys")
    }
    let retainedKeys = Set(retained)
    for (key, value) in patch where !value.isNull {
      if key.hasPrefix(Directive.deleteFromPrimitiveListPrefix) || key.hasPrefix(Directive.setElementOrderPrefix) { continue }
      guard retainedKeys.contains(.string(key)) else {
        throw .malformedDirective(detail: "invalid patch format of retainKeys")
      }
    }
    for key in original.keys where !retainedKeys.contains(.string(key)) {
      original.removeValue(forKey: key)
    }
  }

  /// Upstream `mergePatchIntoOriginal`: merges each list that has a `$setElementOrder/<list>` member
  /// and orders it by that member, then takes both out of the patch.
  private static func mergeElementOrderLists(_ original: inout JSONObject, _ patch: inout JSONObject, schema: PatchSchema?) throws(PatchError) {
    for directiveKey in patch.keys where directiveKey.hasPrefix(Directive.setElementOrderPrefix) {
      guard let orderValue = patch.removeValue(forKey: directiveKey) else { continue }
      guard case .array(let order) = orderValue else {
        throw .mergeFailed(detail: "expected a []interface {}, but received a \(GoFormat.typeName(orderValue))")
      }
      let key = try Directive.listKey(of: directiveKey, prefix: Directive.setElementOrderPrefix)
      let originalList = try listMember(original[key])
      let patchList = try listMember(patch[key])
      let fieldSchema = schema?.field(key)
      let mergeKey = fieldSchema?.mergeKey ?? ""
      try validate(patchList ?? [], againstOrder: order, mergeKey: mergeKey)

      let merged: [JSONValue]
      switch (originalList, patchList) {
      case (let originalList?, nil):
        merged = originalList
      case (nil, let patchList?):
        merged = Directive.removingPatchMarkers(.array(patchList))?.arrayValue ?? []
      case (let originalList?, let patchList?):
        merged = try mergeListHandler(originalList, patchList, schema: fieldSchema, isDeleteList: false)
      case (nil, nil):
        continue
      }
      let kind = try ElementKind.common(originalList ?? [], patchList ?? [])
      let (patchItems, serverOnly) = try partition(merged, by: order, mergeKey: mergeKey)
      var serverOrder = originalList ?? []
      if let patchList, kind == .object, fieldSchema?.patchStrategy.merges == true {
        serverOrder = liveOrderAfterMerge(serverOrder, patchList, mergeKey: mergeKey)
      }
      original[key] = .array(try normalizeOrder(
        patchItems: patchItems, serverOnly: serverOnly, patchOrder: order, serverOrder: serverOrder, mergeKey: mergeKey, kind: kind))
      patch.removeValue(forKey: key)
    }
  }

  /// The live list as upstream's `mergePatchIntoOriginal` sees it after merging `patch` into it.
  ///
  /// Upstream orders by `originalFieldValue`, a Go slice that shares its array with the list that
  /// `mergeSlice` edits in place: `deleteMatchingEntries` shifts the elements after a deleted one to
  /// the left, and `mergeSliceWithoutSpecialElements` appends new elements into the slots that frees.
  /// So a deletion plus an addition changes the order the server-only elements are placed by (its test
  /// "add map and delete map from merging list" expects exactly that). The capacity of the slice does
  /// not matter: only writes below the original length are seen, and those always fit.
  private static func liveOrderAfterMerge(_ original: [JSONValue], _ patch: [JSONValue], mergeKey: String) -> [JSONValue] {
    var shared = original
    var length = original.count
    var plain: [JSONValue] = []
    var replaces = false
    func keyValue(_ value: JSONValue) -> JSONValue? { value.objectValue?[mergeKey] }
    for element in patch {
      switch element.objectValue?[Directive.marker]?.stringValue {
      case nil where element.objectValue?[Directive.marker] == nil:
        plain.append(element)
      case Directive.delete?:
        guard let value = keyValue(element) else { return original }  // mergeSlice fails first
        while let index = shared[..<length].firstIndex(where: { keyValue($0) == value }) {
          shared[index..<(length - 1)] = shared[(index + 1)..<length]
          length -= 1
        }
      case Directive.replace?:
        replaces = true
      default:
        return original  // mergeSlice fails first
      }
    }
    guard !replaces else { return shared }  // the rest is merged into a new array
    var present = Array(shared[..<length])
    for element in plain where !present.contains(where: { keyValue($0) == keyValue(element) }) {
      if length < original.count { shared[length] = element }
      present.append(element)
      length += 1
    }
    return shared
  }

  private static func listMember(_ value: JSONValue?) throws(PatchError) -> [JSONValue]? {
    guard let value else { return nil }
    guard case .array(let list) = value else {
      throw .mergeFailed(detail: "expected a []interface {}, but received a \(GoFormat.typeName(value))")
    }
    return list
  }

  /// Upstream `validatePatchWithSetOrderList`: the patch list's elements (deletions aside) must appear
  /// in the `$setElementOrder` list, in the same relative order.
  private static func validate(_ patchList: [JSONValue], againstOrder order: [JSONValue], mergeKey: String) throws(PatchError) {
    guard !order.isEmpty, !patchList.isEmpty else { return }
    var kept: [JSONValue] = patchList
    if !mergeKey.isEmpty {
      kept = []
      for element in patchList {
        guard case .object(let object) = element else {
          throw .mergeFailed(detail: "expected a map[string]interface {}, but received a \(GoFormat.typeName(element))")
        }
        if object[Directive.marker]?.stringValue != Directive.delete { kept.append(element) }
      }
    }
    var patchIndex = 0
    var orderIndex = 0
    while patchIndex < kept.count && orderIndex < order.count {
      if kept[patchIndex].objectValue?[Directive.marker] != nil {
        patchIndex += 1
        continue
      }
      if try mergeKeyValuesEqual(kept[patchIndex], order[orderIndex], mergeKey: mergeKey) { patchIndex += 1 }
      orderIndex += 1
    }
    if patchIndex < kept.count && orderIndex >= order.count {
      throw .mergeFailed(detail: "the order in patch list:\n\(GoFormat.description(.array(patchList)))\n doesn't match \(Directive.setElementOrderPrefix) list:\n\(GoFormat.description(.array(order)))")
    }
  }

  /// Upstream `mergeKeyValueEqual`.
  private static func mergeKeyValuesEqual(_ left: JSONValue, _ right: JSONValue, mergeKey: String) throws(PatchError) -> Bool {
    guard !mergeKey.isEmpty else { return left == right }
    return try mergeKeyValue(of: left, mergeKey: mergeKey) == mergeKeyValue(of: right, mergeKey: mergeKey)
  }
}
