/// One entry of `status.conditions` (`metav1.Condition`): an observation such as `Ready=True`.
///
/// `lastTransitionTime` changes only when `status` changes; `observedGeneration` says which spec the
/// observation is about. Unknown fields are kept, so a round trip never drops data.
public struct Condition: Sendable, Equatable {
  /// The condition type in CamelCase (`Ready`, `Available`).
  public var type: String
  /// `True`, `False` or `Unknown`.
  public var status: String
  /// The `metadata.generation` this condition was computed from.
  public var observedGeneration: Int64?
  /// When `status` last changed.
  public var lastTransitionTime: Timestamp?
  /// A CamelCase machine-readable cause (`EngineBuilt`, `InvalidSpec`).
  public var reason: String?
  /// A sentence for people.
  public var message: String?
  private var original: JSONObject

  /// Creates a condition.
  public init(
    type: String, status: String, observedGeneration: Int64? = nil, lastTransitionTime: Timestamp? = nil,
    reason: String? = nil, message: String? = nil
  ) {
    self.type = type
    self.status = status
    self.observedGeneration = observedGeneration
    self.lastTransitionTime = lastTransitionTime
    self.reason = reason
    self.message = message
    self.original = JSONObject()
  }

  /// Reads a condition; `type` and `status` are required.
  ///
  /// - Throws: `MetaDecodingError` for a missing required field, a wrong type or a bad timestamp.
  public init(json: JSONValue) throws(MetaDecodingError) {
    let reader = try MetaReader(json, path: "")
    type = try reader.requiredString("type")
    status = try reader.requiredString("status")
    observedGeneration = try reader.int64("observedGeneration")
    lastTransitionTime = try reader.timestamp("lastTransitionTime")
    reason = try reader.string("reason")
    message = try reader.string("message")
    original = reader.object
  }

  /// The condition as JSON, unknown fields included.
  public var json: JSONValue {
    var writer = MetaWriter(original)
    writer.set("type", type)
    writer.set("status", status)
    writer.set("observedGeneration", observedGeneration)
    writer.set("lastTransitionTime", lastTransitionTime)
    writer.set("reason", reason)
    writer.set("message", message)
    return writer.json
  }

  /// Equal when their JSON is equal: typed fields and every kept unknown field, in any key order.
  public static func == (lhs: Condition, rhs: Condition) -> Bool { lhs.json == rhs.json }
}
