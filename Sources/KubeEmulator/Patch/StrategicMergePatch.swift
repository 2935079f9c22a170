import KubeCore

/// Strategic merge patch, the `application/strategic-merge-patch+json` PATCH body of built-in types.
///
/// A JSON merge patch whose lists can merge: a list field whose schema says
/// `x-kubernetes-patch-strategy: merge` merges element by element (by `x-kubernetes-patch-merge-key`
/// for lists of objects, as a set for lists of primitives) instead of being replaced. The patch may also
/// carry directives: `$patch: replace | delete` (in an object or as a list element), `$retainKeys`,
/// `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
///
/// This is our own Swift rendering of the *apply* half of apimachinery's
/// `pkg/util/strategicpatch/patch.go` (`StrategicMergeMapPatch` with `MergeParallelList` and
/// `IgnoreUnmatchedNulls`, as kube-apiserver calls it from `handlers/patch.go`, `applyPatchToObject`);
/// each function below names the upstream function it follows. Computing patches (`kubectl`'s side)
/// is not here.
///
/// Guarantees: the result keeps the original's member order, new members come after in patch order;
/// merged lists are ordered as upstream orders them (`$setElementOrder` first, then the patch's order,
/// then the live order — new elements without `$setElementOrder` come first).
///
/// Caveats: kube-apiserver decodes the merged map into the Go type, which drops unknown members and
/// applies defaults. When a schema is given we drop what that decoding always drops — leftover directive
/// members (`$patch`, `$retainKeys`, `$setElementOrder/…`, `$deleteFromPrimitiveList/…`), which no
/// valid field name can spell — but pruning other unknown fields, `null`s and defaulting are the caller's.
public enum StrategicMergePatch {
  /// Applies `patch` to `original`.
  ///
  /// - Parameters:
  ///   - patch: the strategic merge patch, a JSON object (`null` patches nothing, as upstream).
  ///   - original: the live object; anything but an object is treated as `{}`.
  ///   - schema: the schema of the object's type (`PatchSchemaRegistry.schema(forDefinition:)`), or nil
  ///     for data without one — then, as for unknown fields anywhere, objects merge and lists are replaced.
  /// - Returns: the patched object.
  /// - Throws: `PatchError.malformedPatch` (400) when `patch` is not an object (or nests deeper than
  ///   2 000 levels, a guard for the stack); `.malformedDirective`
  ///   (400) for a malformed `$retainKeys`, `$setElementOrder/…` or `$deleteFromPrimitiveList/…`;
  ///   `.listOfLists` (422); `.mergeFailed` (500) for the other failures upstream leaves unclassified.
  public static func apply(_ patch: JSONValue, to original: JSONValue, schema: PatchSchema?) throws(PatchError) -> JSONValue {
    let patchObject: JSONObject
    switch patch {
    case .object(let object): patchObject = object
    case .null: return original
    case .bool, .number, .string, .array:
      throw .malformedPatch(detail: "json: cannot unmarshal \(GoFormat.jsonKind(patch)) into Go value of type map[string]interface {}")
    }
    try PatchDepth.check(patch)
    let merged = try Merger.mergeMap(original.objectValue ?? JSONObject(), patchObject, schema: schema)
    guard schema != nil else { return .object(merged) }
    return Directive.strippingDirectiveMembers(from: .object(merged))
  }
}

/// The directive spellings (apimachinery `pkg/util/strategicpatch/patch.go` constants).
enum Directive {
  static let marker = "$patch"
  static let replace = "replace"
  static let delete = "delete"
  static let merge = "merge"
  static let retainKeys = "$retainKeys"
  static let setElementOrderPrefix = "$setElementOrder"
  static let deleteFromPrimitiveListPrefix = "$deleteFromPrimitiveList"

  /// Whether `key` is one of the directive members.
  static func isDirectiveMember(_ key: String) -> Bool {
    key == marker || key == retainKeys || key.hasPrefix(setElementOrderPrefix) || key.hasPrefix(deleteFromPrimitiveListPrefix)
  }

  /// `value` without directive members at any depth: what decoding into a Go type leaves of them.
  static func strippingDirectiveMembers(from value: JSONValue) -> JSONValue {
    switch value {
    case .object(let object):
      var result = JSONObject()
      for (key, member) in object where !isDirectiveMember(key) {
        result.appendUnchecked(key, strippingDirectiveMembers(from: member))
      }
      return .object(result)
    case .array(let elements):
      return .array(elements.map(strippingDirectiveMembers(from:)))
    case .null, .bool, .number, .string:
      return value
    }
  }

  /// The list key named by a `$setElementOrder/<key>` or `$deleteFromPrimitiveList/<key>` member
  /// (upstream `extractKey`).
  static func listKey(of key: String, prefix: String) throws(PatchError) -> String {
    let parts = key.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2, parts[0] == prefix else {
      if prefix == deleteFromPrimitiveListPrefix {
        throw .malformedDirective(detail: "invalid patch format of primitive list")
      }
      throw .malformedDirective(detail: "invalid patch format of setElementOrder list")
    }
    return String(parts[1])
  }

  /// Upstream `removeDirectives`: drops objects that carry `$patch` (and the members and elements
  /// holding them); returns nil when `value` itself is such an object.
  static func removingPatchMarkers(_ value: JSONValue) -> JSONValue? {
    switch value {
    case .object(let object):
      guard object[marker] == nil else { return nil }
      var result = JSONObject()
      for (key, member) in object {
        if let kept = removingPatchMarkers(member) { result.appendUnchecked(key, kept) }
      }
      return .object(result)
    case .array(let elements):
      return .array(elements.compactMap(removingPatchMarkers))
    case .null, .bool, .number, .string:
      return value
    }
  }
}
