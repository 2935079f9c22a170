import KubeCore
// Interim patch engines until branch `patch` lands (full RFC 6902 and strategic merge there).
public struct PatchError: Error, Sendable { public var statusCode: Int; public var reason: String; public var message: String }
public enum JSONMergePatch {
  public static func apply(_ patch: JSONValue, to target: JSONValue) -> JSONValue {
    guard case .object(let p) = patch else { return patch }
    var t: JSONObject
    if case .object(let o) = target { t = o } else { t = JSONObject() }
    for (k, v) in p {
      if v == .null { t.removeValue(forKey: k) } else { t[k] = apply(v, to: t[k] ?? .null) }
    }
    return .object(t)
  }
}
public enum JSONPatch {
  public static func apply(_ patch: JSONValue, to target: JSONValue) throws(PatchError) -> JSONValue {
    throw PatchError(statusCode: 415, reason: "UnsupportedMediaType", message: "json patch pending")
  }
}
public struct PatchSchema: Sendable {}
public struct PatchSchemaRegistry: Sendable {
  public init(swaggerDefinitions: JSONValue) {}
  public func schema(forDefinition name: String) -> PatchSchema? { nil }
}
public enum StrategicMergePatch {
  public static func apply(_ patch: JSONValue, to original: JSONValue, schema: PatchSchema?) throws(PatchError) -> JSONValue {
    JSONMergePatch.apply(patch, to: original)
  }
}
