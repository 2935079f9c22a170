/// `Codable` types read from and written to `JSONValue` directly, without JSON text in between.
///
/// The operator reads every cached object into its typed form on each reconcile; going through
/// Foundation's `JSONDecoder` meant serializing the cached tree to bytes and parsing them again, and
/// writing a status meant the reverse. These walk the tree instead.
///
/// *Same answers as Foundation's coders* with default strategies and `.sortedKeys` (the project's
/// types use no Date, Data or URL): integers must be exact (`1.0` is the integer 1, `1.5` is not an
/// integer), a non-finite Double cannot be encoded, nil optionals are left out, object keys come
/// out sorted by their UTF-8 bytes. `JSONValue` fields (free-form JSON) are taken and given as they
/// are, so a number literal too large for Int64 or Double survives a round trip.
public struct JSONValueDecoder: Sendable {
  public init() {}

  public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
    try ValueDecoder(value, path: []).decodeValue(T.self)
  }
}

public struct JSONValueEncoder: Sendable {
  public init() {}

  /// - Throws: `EncodingError.invalidValue` for a NaN or infinite Double, or a value that
  ///   encodes nothing.
  public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
    let root = EncodedNode()
    try ValueEncoder(node: root, path: []).encodeValue(value)
    guard let json = root.json() else {
      throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
    }
    return json
  }
}

/// A coding key that is an array position.
struct IndexKey: CodingKey {
  var stringValue: String { String(index) }
  var intValue: Int? { index }
  let index: Int
  init(_ index: Int) { self.index = index }
  init?(stringValue: String) { return nil }
  init?(intValue: Int) { index = intValue }
}

// MARK: decoding

private struct ValueDecoder: Decoder {
  let value: JSONValue
  let codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(_ value: JSONValue, path: [any CodingKey]) {
    self.value = value
    codingPath = path
  }

  func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
    // Free-form JSON is taken as it is (a cast that cannot fail once T is JSONValue).
    if T.self == JSONValue.self, let json = value as? T { return json }
    return try T(from: self)
  }

  func mismatch(_ expected: Any.Type, _ what: String) -> DecodingError {
    DecodingError.typeMismatch(expected, .init(codingPath: codingPath, debugDescription: "Expected to decode \(what) but found \(value.kindName) instead."))
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let object) = value else { throw mismatch([String: Any].self, "Dictionary<String, Any>") }
    return KeyedDecodingContainer(KeyedValues<Key>(object: object, codingPath: codingPath))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let items) = value else { throw mismatch([Any].self, "Array<Any>") }
    return ArrayValues(items: items, codingPath: codingPath)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
}

extension ValueDecoder: SingleValueDecodingContainer {
  func decodeNil() -> Bool { value == .null }

  func decode(_ type: Bool.Type) throws -> Bool {
    guard case .bool(let b) = value else { throw mismatch(Bool.self, "Bool") }
    return b
  }

  func decode(_ type: String.Type) throws -> String {
    guard case .string(let s) = value else { throw mismatch(String.self, "String") }
    return s
  }

  func decode(_ type: Double.Type) throws -> Double {
    guard case .number(let n) = value else { throw mismatch(Double.self, "Double") }
    guard let d = n.double, d.isFinite else { throw notRepresentable(n, Double.self) }
    return d
  }

  func decode(_ type: Float.Type) throws -> Float {
    let d = try decode(Double.self)
    guard abs(d) <= Double(Float.greatestFiniteMagnitude) else { throw notRepresentable(JSONNumber(d), Float.self) }
    return Float(d)
  }

  func decode(_ type: Int.Type) throws -> Int { try integer() }
  func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
  func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
  func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
  func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
  func decode(_ type: UInt.Type) throws -> UInt { try integer() }
  func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
  func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
  func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
  func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

  func decode<T: Decodable>(_ type: T.Type) throws -> T { try decodeValue(T.self) }

  /// An integer literal that fits, or a number with a fraction or exponent whose value is an
  /// integer exactly representable in a Double (`1.0`, `1e3`), as Foundation accepts.
  private func integer<I: FixedWidthInteger>() throws -> I {
    guard case .number(let n) = value else { throw mismatch(I.self, String(describing: I.self)) }
    if let exact = I(n.literal) { return exact }
    if !n.isInteger, let d = n.double, d.rounded() == d, abs(d) < 9.007_199_254_740_992e15, let exact = I(exactly: d) { return exact }
    throw notRepresentable(n, I.self)
  }

  private func notRepresentable(_ n: JSONNumber, _ type: Any.Type) -> DecodingError {
    DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "Number \(n.literal) is not representable in Swift \(type)."))
  }
}

private struct KeyedValues<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let object: JSONObject
  let codingPath: [any CodingKey]

  var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }
  func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

  private func child(_ key: Key) throws -> ValueDecoder {
    guard let value = object[key.stringValue] else {
      throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key.stringValue)."))
    }
    return ValueDecoder(value, path: codingPath + [key])
  }

  func decodeNil(forKey key: Key) throws -> Bool { try child(key).decodeNil() }
  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decode(type) }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decode(type) }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decode(type) }
  func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try child(key).decode(type) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decode(type) }
  func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decode(type) }
  func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decode(type) }
  func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decode(type) }
  func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decode(type) }
  func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decode(type) }
  func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decode(type) }
  func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decode(type) }
  func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decode(type) }
  func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decode(type) }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

  func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
    try child(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

  func superDecoder() throws -> any Decoder {
    ValueDecoder(object["super"] ?? .null, path: codingPath + [AnyCodingKey(stringValue: "super")])
  }

  func superDecoder(forKey key: Key) throws -> any Decoder { ValueDecoder(object[key.stringValue] ?? .null, path: codingPath + [key]) }
}

private struct ArrayValues: UnkeyedDecodingContainer {
  let items: [JSONValue]
  let codingPath: [any CodingKey]
  var currentIndex = 0

  init(items: [JSONValue], codingPath: [any CodingKey]) {
    self.items = items
    self.codingPath = codingPath
  }

  var count: Int? { items.count }
  var isAtEnd: Bool { currentIndex >= items.count }

  private mutating func next(_ type: Any.Type) throws -> ValueDecoder {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
    }
    defer { currentIndex += 1 }
    return ValueDecoder(items[currentIndex], path: codingPath + [IndexKey(currentIndex)])
  }

  mutating func decodeNil() throws -> Bool {
    guard !isAtEnd else {
      throw DecodingError.valueNotFound(Any?.self, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
    }
    if items[currentIndex] == .null {
      currentIndex += 1
      return true
    }
    return false
  }

  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next(type).decodeValue(type) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
    try next([String: Any].self).container(keyedBy: type)
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next([Any].self).unkeyedContainer() }

  mutating func superDecoder() throws -> any Decoder { try next(Any.self) }
}

extension JSONValue {
  /// What a type-mismatch message calls this value.
  var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number: return "a number"
    case .string: return "a string"
    case .array: return "an array"
    case .object: return "an object"
    }
  }
}

// MARK: encoding

/// What an encoder wrote at one place of the tree; containers are filled after they are handed
/// out, so they are references until the tree is read back as a `JSONValue`.
private final class EncodedNode {
  enum Content {
    case none
    case value(JSONValue)
    case object([(String, EncodedNode)])
    case array([EncodedNode])
  }

  var content: Content = .none

  func json() -> JSONValue? {
    switch content {
    case .none: return nil
    case .value(let v): return v
    case .object(let pairs):
      var object = JSONObject()
      // Sorted by UTF-8 bytes, as Foundation's `.sortedKeys` orders the project's ASCII keys; a key
      // written twice keeps its last value.
      var last: [String: JSONValue] = [:]
      for (k, node) in pairs { last[k] = node.json() ?? [:] }
      for k in last.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) { object.appendUnchecked(k, last[k]!) }
      return .object(object)
    case .array(let items):
      return .array(items.map { $0.json() ?? [:] })
    }
  }

  func keyed() -> EncodedNode {
    if case .object = content { return self }
    content = .object([])
    return self
  }

  func append(key: String) -> EncodedNode {
    let node = EncodedNode()
    if case .object(var pairs) = content {
      content = .none
      pairs.append((key, node))
      content = .object(pairs)
    }
    return node
  }

  func unkeyed() -> EncodedNode {
    if case .array = content { return self }
    content = .array([])
    return self
  }

  func appendItem() -> EncodedNode {
    let node = EncodedNode()
    if case .array(var items) = content {
      content = .none
      items.append(node)
      content = .array(items)
    }
    return node
  }

  var itemCount: Int {
    if case .array(let items) = content { return items.count }
    return 0
  }
}

private struct ValueEncoder: Encoder {
  let node: EncodedNode
  let codingPath: [any CodingKey]
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(node: EncodedNode, path: [any CodingKey]) {
    self.node = node
    codingPath = path
  }

  func encodeValue<T: Encodable>(_ value: T) throws {
    if let json = value as? JSONValue {
      node.content = .value(JSONValueEncoder.sortedKeys(json))
      return
    }
    try value.encode(to: self)
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    KeyedEncodingContainer(KeyedSlots<Key>(node: node.keyed(), codingPath: codingPath))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer { ArraySlots(node: node.unkeyed(), codingPath: codingPath) }

  func singleValueContainer() -> any SingleValueEncodingContainer { self }
}

extension ValueEncoder: SingleValueEncodingContainer {
  func encodeNil() throws { node.content = .value(.null) }
  func encode(_ value: Bool) throws { node.content = .value(.bool(value)) }
  func encode(_ value: String) throws { node.content = .value(.string(value)) }

  func encode(_ value: Double) throws {
    guard value.isFinite else {
      throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "Unable to encode Double.\(value) directly in JSON."))
    }
    node.content = .value(.number(Self.literal(value.description)))
  }

  func encode(_ value: Float) throws {
    guard value.isFinite else {
      throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "Unable to encode Float.\(value) directly in JSON."))
    }
    node.content = .value(.number(Self.literal(value.description)))
  }

  /// A finite number as Foundation's JSONEncoder writes it: Swift's shortest round-tripping
  /// `description` without a trailing `.0` (`1`, `0.05`, `1e-07`, `1e+21`).
  static func literal(_ description: String) -> JSONNumber {
    JSONNumber(unchecked: description.hasSuffix(".0") ? String(description.dropLast(2)) : description)
  }

  func encode(_ value: Int) throws { node.content = .value(.number(JSONNumber(value))) }
  func encode(_ value: Int8) throws { node.content = .value(.number(JSONNumber(Int(value)))) }
  func encode(_ value: Int16) throws { node.content = .value(.number(JSONNumber(Int(value)))) }
  func encode(_ value: Int32) throws { node.content = .value(.number(JSONNumber(Int(value)))) }
  func encode(_ value: Int64) throws { node.content = .value(.number(JSONNumber(value))) }
  func encode(_ value: UInt) throws { node.content = .value(.number(JSONNumber(unchecked: String(value)))) }
  func encode(_ value: UInt8) throws { node.content = .value(.number(JSONNumber(Int(value)))) }
  func encode(_ value: UInt16) throws { node.content = .value(.number(JSONNumber(Int(value)))) }
  func encode(_ value: UInt32) throws { node.content = .value(.number(JSONNumber(Int(value)))) }
  func encode(_ value: UInt64) throws { node.content = .value(.number(JSONNumber(unchecked: String(value)))) }
  func encode<T: Encodable>(_ value: T) throws { try encodeValue(value) }
}

private struct KeyedSlots<Key: CodingKey>: KeyedEncodingContainerProtocol {
  let node: EncodedNode
  let codingPath: [any CodingKey]

  private func slot(_ key: Key) -> ValueEncoder { ValueEncoder(node: node.append(key: key.stringValue), path: codingPath + [key]) }

  mutating func encodeNil(forKey key: Key) throws { try slot(key).encodeNil() }
  mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try slot(key).encodeValue(value) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
    slot(key).container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { slot(key).unkeyedContainer() }
  mutating func superEncoder() -> any Encoder { ValueEncoder(node: node.append(key: "super"), path: codingPath + [AnyCodingKey(stringValue: "super")]) }
  mutating func superEncoder(forKey key: Key) -> any Encoder { slot(key) }
}

private struct ArraySlots: UnkeyedEncodingContainer {
  let node: EncodedNode
  let codingPath: [any CodingKey]
  var count: Int { node.itemCount }

  private func slot() -> ValueEncoder {
    let index = node.itemCount
    return ValueEncoder(node: node.appendItem(), path: codingPath + [IndexKey(index)])
  }

  mutating func encodeNil() throws { try slot().encodeNil() }
  mutating func encode<T: Encodable>(_ value: T) throws { try slot().encodeValue(value) }

  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
    slot().container(keyedBy: keyType)
  }

  mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { slot().unkeyedContainer() }
  mutating func superEncoder() -> any Encoder { slot() }
}

extension JSONValueEncoder {
  /// `value` with every object's keys in the order `.sortedKeys` writes them.
  static func sortedKeys(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let object):
      var out = JSONObject()
      let pairs = object.map { ($0.0, $0.1) }.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
      for (k, v) in pairs { out.appendUnchecked(k, sortedKeys(v)) }
      return .object(out)
    case .array(let items):
      return .array(items.map(sortedKeys))
    default:
      return value
    }
  }
}
