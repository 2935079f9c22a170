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

extension Condition {
  /// Sets `new` in `conditions` as apimachinery's `meta.SetStatusCondition` does
  /// (k8s.io/apimachinery/pkg/api/meta/conditions.go): a condition of a new type is appended with
  /// `lastTransitionTime` = `now` unless it has one; for an existing type, `lastTransitionTime`
  /// moves to `now` only when `status` changes, and reason, message and observedGeneration are
  /// replaced.
  ///
  /// - Returns: whether anything changed.
  @discardableResult
  public static func set(_ new: Condition, in conditions: inout [Condition], now: Timestamp) -> Bool {
    guard let i = conditions.firstIndex(where: { $0.type == new.type }) else {
      var added = new
      if added.lastTransitionTime == nil { added.lastTransitionTime = now }
      conditions.append(added)
      return true
    }
    var existing = conditions[i]
    let before = existing
    if existing.status != new.status {
      existing.status = new.status
      existing.lastTransitionTime = new.lastTransitionTime ?? now
    }
    existing.reason = new.reason
    existing.message = new.message
    existing.observedGeneration = new.observedGeneration
    conditions[i] = existing
    return existing != before
  }

  /// The condition of `type`, if present (`meta.FindStatusCondition`).
  public static func find(_ type: String, in conditions: [Condition]) -> Condition? {
    conditions.first { $0.type == type }
  }
}

extension Condition: Codable {
  /// Reads a condition inside a `Codable` status type; a malformed one is a decoding error.
  public init(from decoder: any Decoder) throws {
    let json = try JSONValue(from: decoder)
    do {
      try self.init(json: json)
    } catch {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
    }
  }

  public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }
}
