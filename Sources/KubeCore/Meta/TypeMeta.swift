/// The `apiVersion` and `kind` of an object (`metav1.TypeMeta`).
///
/// Read from a whole object, it keeps the other fields too, so `json` gives the object back unchanged
/// apart from the two fields set here.
public struct TypeMeta: Sendable, Equatable {
  /// `group/version`, or just `version` for the core group (`v1`, `apps/v1`).
  public var apiVersion: String?
  /// The kind in CamelCase (`Pod`, `Deployment`).
  public var kind: String?
  private var original: JSONObject

  /// Creates type metadata.
  public init(apiVersion: String? = nil, kind: String? = nil) {
    self.apiVersion = apiVersion
    self.kind = kind
    self.original = JSONObject()
  }

  /// Reads `apiVersion` and `kind` from an object.
  ///
  /// - Throws: `MetaDecodingError` when the value is not an object or a field is not a string.
  public init(json: JSONValue) throws(MetaDecodingError) {
    let reader = try MetaReader(json, path: "")
    apiVersion = try reader.string("apiVersion")
    kind = try reader.string("kind")
    original = reader.object
  }

  /// The object read, with `apiVersion` and `kind` written back.
  public var json: JSONValue {
    var writer = MetaWriter(original)
    writer.set("apiVersion", apiVersion)
    writer.set("kind", kind)
    return writer.json
  }

  /// Equal when their JSON is equal: typed fields and every kept unknown field, in any key order.
  public static func == (lhs: TypeMeta, rhs: TypeMeta) -> Bool { lhs.json == rhs.json }
}
