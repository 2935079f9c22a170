import KubeCore

/// JSON merge patches (RFC 7386) computed from two documents.
public enum MergePatch {
  /// The merge patch that turns `old` into `new`: changed members, `null` for removed ones, arrays
  /// and scalars whole (apimachinery's `jsonmergepatch.CreateThreeWayJSONMergePatch` with no
  /// third party, as controller-runtime's `client.MergeFrom` sends it).
  ///
  /// *Caveats*: a `null` member of `new` cannot be said (merge patch reads it as "remove").
  public static func diff(from old: JSONValue?, to new: JSONValue) -> JSONValue {
    guard case .object(let n) = new, case .object(let o)? = old else { return new }
    var patch = JSONObject()
    for (key, value) in n where o[key] != value {
      patch[key] = diff(from: o[key], to: value)
    }
    for (key, _) in o where n[key] == nil {
      patch[key] = .null
    }
    return .object(patch)
  }
}
