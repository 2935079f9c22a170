/// A pointer from a dependent object to its owner, used by garbage collection (`metav1.OwnerReference`).
///
/// Unknown fields are kept, so a round trip through this type never drops data.
public struct OwnerReference: Sendable, Equatable {
  /// The owner's `apiVersion`.
  public var apiVersion: String
  /// The owner's kind.
  public var kind: String
  /// The owner's name, in the dependent's namespace.
  public var name: String
  /// The owner's `uid`; a reference to a re-created owner with a new uid is dangling.
  public var uid: String
  /// Whether this owner is the managing controller; at most one reference may say so.
  public var controller: Bool?
  /// Whether foreground deletion of the owner waits for this dependent.
  public var blockOwnerDeletion: Bool?
  private var original: JSONObject

  /// Creates a reference.
  public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil, blockOwnerDeletion: Bool? = nil) {
    self.apiVersion = apiVersion
    self.kind = kind
    self.name = name
    self.uid = uid
    self.controller = controller
    self.blockOwnerDeletion = blockOwnerDeletion
    self.original = JSONObject()
  }

  /// Reads a reference; `apiVersion`, `kind`, `name` and `uid` are required.
  ///
  /// - Throws: `MetaDecodingError` for a missing required field or a field of the wrong type.
  public init(json: JSONValue) throws(MetaDecodingError) {
    try self.init(json: json, path: "")
  }

  init(json: JSONValue, path: String) throws(MetaDecodingError) {
    let reader = try MetaReader(json, path: path)
    apiVersion = try reader.requiredString("apiVersion")
    kind = try reader.requiredString("kind")
    name = try reader.requiredString("name")
    uid = try reader.requiredString("uid")
    controller = try reader.bool("controller")
    blockOwnerDeletion = try reader.bool("blockOwnerDeletion")
    original = reader.object
  }

  /// The reference as JSON, unknown fields included.
  public var json: JSONValue {
    var writer = MetaWriter(original)
    writer.set("apiVersion", apiVersion)
    writer.set("kind", kind)
    writer.set("name", name)
    writer.set("uid", uid)
    writer.set("controller", controller)
    writer.set("blockOwnerDeletion", blockOwnerDeletion)
    return writer.json
  }

  /// Equal when their JSON is equal: typed fields and every kept unknown field, in any key order.
  public static func == (lhs: OwnerReference, rhs: OwnerReference) -> Bool { lhs.json == rhs.json }
}
