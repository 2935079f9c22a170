import KubeCore

/// JSON Merge Patch (RFC 7386), the `application/merge-patch+json` PATCH body.
///
/// Objects merge member by member, `null` removes a member, and everything else — arrays included —
/// replaces the target wholesale. `apply` is RFC 7386 to the letter; the emulator's PATCH handler uses
/// `applyLikeAPIServer`, which is what kube-apiserver does with evanphx/json-patch's `MergePatch`
/// (kubernetes/apiserver `pkg/endpoints/handlers/patch.go`, `applyJSPatch`).
///
/// Use `StrategicMergePatch` for `application/strategic-merge-patch+json`, which merges some lists.
public enum JSONMergePatch {
  /// Applies `patch` to `target` exactly as RFC 7386 §2 defines `MergePatch(Target, Patch)`.
  ///
  /// A patch that is not an object replaces the target; members of a patch object that are `null`
  /// remove the member from the target (and never appear in the result, even when the target lacked
  /// them). Member order follows the target, with new members appended in patch order.
  ///
  /// It recurses once per nesting level of `patch` and has no error to report, so it does not guard
  /// against bodies nested thousands of levels deep; a server uses `applyLikeAPIServer`, which does.
  ///
  /// - Parameters:
  ///   - patch: the merge patch document.
  ///   - target: the document to patch.
  /// - Returns: the patched document.
  /// - Complexity: O(size of `patch` × keys per object level of `target`).
  public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
    guard case .object(let patchObject) = patch else { return patch }
    var result: JSONObject
    if case .object(let targetObject) = target { result = targetObject } else { result = JSONObject() }
    for (name, value) in patchObject {
      if value.isNull {
        result.removeValue(forKey: name)
      } else {
        result[name] = apply(value, to: result[name] ?? .null)
      }
    }
    return .object(result)
  }

  /// Applies `patch` to `target` as kube-apiserver does, with evanphx/json-patch v4's `MergePatch`
  /// (`merge.go`: `doMergePatch`, `mergeDocs`, `merge`, `pruneNulls`).
  ///
  /// It differs from RFC 7386 in what happens to `null`s below a value that is added rather than
  /// merged: they are pruned from objects at any depth, objects inside arrays included (RFC 7386 keeps
  /// array contents as they are), except where an object member is replaced by an array. A client can
  /// see the difference on custom resources, whose `null`s are stored.
  ///
  /// - Parameters:
  ///   - patch: the merge patch document.
  ///   - target: the stored object.
  /// - Returns: the patched document.
  /// - Throws: `PatchError.malformedPatch` ("Invalid JSON Patch", 400, `applyJSPatch` in
  ///   kubernetes/apiserver `pkg/endpoints/handlers/patch.go`) for a `null`, boolean, number or string
  ///   body, and for a body nested deeper than 2 000 levels (a guard for the stack, not upstream's).
  public static func applyLikeAPIServer(_ patch: JSONValue, to target: JSONValue) throws(PatchError) -> JSONValue {
    switch (patch, target) {
    case (.null, _), (.bool, _), (.number, _), (.string, _):
      throw .malformedPatch(detail: "Invalid JSON Patch")
    case (.array, _):
      try PatchDepth.check(patch)
      return prunedNulls(patch)
    case (.object(let patchObject), .object(let targetObject)):
      try PatchDepth.check(patch)
      return .object(mergeDocuments(targetObject, patchObject))
    case (.object, _):
      try PatchDepth.check(patch)
      return prunedNulls(patch)
    }
  }

  /// Upstream `mergeDocs`.
  private static func mergeDocuments(_ document: JSONObject, _ patch: JSONObject) -> JSONObject {
    var document = document
    for (name, value) in patch {
      if value.isNull {
        document.removeValue(forKey: name)
      } else if let current = document[name], !current.isNull {
        // Upstream `merge`: only two objects merge; a non-object is replaced by the pruned patch
        // value, an object by a non-object patch value as it is.
        switch (current, value) {
        case (.object(let currentObject), .object(let patchObject)):
          document[name] = .object(mergeDocuments(currentObject, patchObject))
        case (.object, _):
          document[name] = value
        default:
          document[name] = prunedNulls(value)
        }
      } else {
        document[name] = prunedNulls(value)
      }
    }
    return document
  }

  /// Upstream `pruneNulls`: drops `null` members of objects at any depth, through arrays too (`null`
  /// array elements stay). strategicpatch's `discardNullValuesFromPatch` does the same.
  static func prunedNulls(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let object):
      var pruned = JSONObject()
      for (name, member) in object where !member.isNull { pruned.appendUnchecked(name, prunedNulls(member)) }
      return .object(pruned)
    case .array(let elements):
      return .array(elements.map(prunedNulls))
    case .null, .bool, .number, .string:
      return value
    }
  }
}
