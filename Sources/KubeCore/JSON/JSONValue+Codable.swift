/// `JSONValue` inside `Codable` types, for free-form fields (a JobTemplateSpec carried verbatim).
///
/// Numbers decode through the coder's number types, so a literal the coder cannot hold exactly
/// (beyond Int64 and Double) loses precision here; use `JSONParser` where bytes must round-trip.
extension JSONValue: Codable {
  public init(from decoder: any Decoder) throws {
    if var array = try? decoder.unkeyedContainer() {
      var items: [JSONValue] = []
      while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
      self = .array(items)
      return
    }
    if let keyed = try? decoder.container(keyedBy: AnyCodingKey.self) {
      var object = JSONObject()
      for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
      self = .object(object)
      return
    }
    let single = try decoder.singleValueContainer()
    if single.decodeNil() { self = .null }
    else if let b = try? single.decode(Bool.self) { self = .bool(b) }
    else if let i = try? single.decode(Int64.self) { self = .number(JSONNumber(i)) }
    else if let d = try? single.decode(Double.self) { self = JSONValue(d) }
    else { self = .string(try single.decode(String.self)) }
  }

  public func encode(to encoder: any Encoder) throws {
    switch self {
    case .null:
      var c = encoder.singleValueContainer()
      try c.encodeNil()
    case .bool(let b):
      var c = encoder.singleValueContainer()
      try c.encode(b)
    case .number(let n):
      var c = encoder.singleValueContainer()
      if let i = n.int64 { try c.encode(i) } else { try c.encode(n.double ?? 0) }
    case .string(let s):
      var c = encoder.singleValueContainer()
      try c.encode(s)
    case .array(let a):
      var c = encoder.unkeyedContainer()
      for v in a { try c.encode(v) }
    case .object(let o):
      var c = encoder.container(keyedBy: AnyCodingKey.self)
      for (k, v) in o { try c.encode(v, forKey: AnyCodingKey(stringValue: k)) }
    }
  }
}

/// A coding key for any string.
public struct AnyCodingKey: CodingKey, Sendable {
  public var stringValue: String
  public var intValue: Int? { nil }
  public init(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { return nil }
}
