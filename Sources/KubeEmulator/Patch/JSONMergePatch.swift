import KubeCore

/// JSON Merge Patch (RFC 7386), the `application/merge-patch+json` PATCH body.
///
/// Objects merge member by member, `null` removes a member, and everything else — arrays included —
/// replaces the target wholesale. kube-apiserver applies it with evanphx/json-patch's `MergePatch`
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

  /// Rejects the merge patch bodies kube-apiserver refuses before merging.
  ///
  /// evanphx/json-patch's `MergePatch` answers `ErrBadJSONPatch` ("Invalid JSON Patch") for a body
  /// that is `null` or a scalar, and kube-apiserver turns that into 400 `BadRequest` (`applyJSPatch`).
  /// An array body is merged (it replaces the object), so the caller's decoding of the result rejects it.
  ///
  /// - Throws: `PatchError.malformedPatch` for a `null`, boolean, number or string body.
  public static func validate(_ patch: JSONValue) throws(PatchError) {
    switch patch {
    case .object, .array: return
    case .null, .bool, .number, .string: throw .malformedPatch(detail: "Invalid JSON Patch")
    }
  }
}
