/// Why a JSON document could not be read as a typed Kubernetes model.
public struct MetaDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The field path, for example `metadata.labels.app`.
  public var path: String
  /// What was wrong there.
  public var message: String

  /// Creates an error for a field.
  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }

  /// `path: message`, the shape of apimachinery's field errors.
  public var description: String { "\(path): \(message)" }
}

/// Typed reads from one JSON object, naming the field path in every error; `null` reads as absent.
struct MetaReader {
  let object: JSONObject
  let path: String

  init(_ value: JSONValue, path: String) throws(MetaDecodingError) {
    guard let object = value.objectValue else {
      throw MetaDecodingError(path: path, message: "expected object, got \(value.typeName)")
    }
    self.object = object
    self.path = path
  }

  func child(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

  private func present(_ key: String) -> JSONValue? {
    guard let value = object[key], !value.isNull else { return nil }
    return value
  }

  private func mismatch(_ key: String, _ expected: String, _ value: JSONValue) -> MetaDecodingError {
    MetaDecodingError(path: child(key), message: "expected \(expected), got \(value.typeName)")
  }

  func string(_ key: String) throws(MetaDecodingError) -> String? {
    guard let value = present(key) else { return nil }
    guard let text = value.stringValue else { throw mismatch(key, "string", value) }
    return text
  }

  func requiredString(_ key: String) throws(MetaDecodingError) -> String {
    guard let text = try string(key) else { throw MetaDecodingError(path: child(key), message: "Required value") }
    return text
  }

  func int64(_ key: String) throws(MetaDecodingError) -> Int64? {
    guard let value = present(key) else { return nil }
    guard let number = value.int64Value else { throw mismatch(key, "integer", value) }
    return number
  }

  func bool(_ key: String) throws(MetaDecodingError) -> Bool? {
    guard let value = present(key) else { return nil }
    guard let flag = value.boolValue else { throw mismatch(key, "boolean", value) }
    return flag
  }

  func timestamp(_ key: String) throws(MetaDecodingError) -> Timestamp? {
    guard let text = try string(key) else { return nil }
    do { return try Timestamp(rfc3339: text) } catch {
      throw MetaDecodingError(path: child(key), message: error.description)
    }
  }

  func stringMap(_ key: String) throws(MetaDecodingError) -> [String: String]? {
    guard let value = present(key) else { return nil }
    let inner = try MetaReader(value, path: child(key))
    var map: [String: String] = [:]
    for name in inner.object.keys { map[name] = try inner.requiredString(name) }
    return map
  }

  func array(_ key: String) throws(MetaDecodingError) -> [JSONValue]? {
    guard let value = present(key) else { return nil }
    guard let items = value.arrayValue else { throw mismatch(key, "array", value) }
    return items
  }

  func stringArray(_ key: String) throws(MetaDecodingError) -> [String]? {
    guard let items = try array(key) else { return nil }
    var strings: [String] = []
    for (i, item) in items.enumerated() {
      guard let text = item.stringValue else {
        throw MetaDecodingError(path: child(key) + "[\(i)]", message: "expected string, got \(item.typeName)")
      }
      strings.append(text)
    }
    return strings
  }
}

/// Writes typed fields back over the object they were read from, so unknown fields, key order and
/// untouched values (numbers' literal text, an explicit `null`) survive a round trip.
struct MetaWriter {
  var object: JSONObject

  init(_ original: JSONObject) { object = original }

  mutating func set(_ key: String, _ value: JSONValue?) {
    guard let value else {
      // An absent model value keeps an explicit `null` (clients write `creationTimestamp: null`).
      if let existing = object[key], !existing.isNull { object[key] = nil }
      return
    }
    if object[key] != value { object[key] = value }
  }

  mutating func set(_ key: String, _ text: String?) { set(key, text.map(JSONValue.string)) }
  mutating func set(_ key: String, _ number: Int64?) { set(key, number.map { JSONValue.number(JSONNumber($0)) }) }
  mutating func set(_ key: String, _ flag: Bool?) { set(key, flag.map(JSONValue.bool)) }
  /// Writes a time, keeping the original text when it already denotes that instant (offsets, fractions).
  mutating func set(_ key: String, _ time: Timestamp?) {
    if let time, let text = object[key]?.stringValue, (try? Timestamp(rfc3339: text)) == time { return }
    set(key, time.map { JSONValue.string($0.rfc3339) })
  }
  mutating func set(_ key: String, _ strings: [String]?) { set(key, strings.map { JSONValue.array($0.map(JSONValue.string)) }) }

  /// Writes a string map, keeping the previous key order and appending new keys sorted.
  mutating func set(_ key: String, _ map: [String: String]?) {
    guard let map else { set(key, JSONValue?.none); return }
    let previous = object[key]?.objectValue?.keys ?? []
    var result = JSONObject()
    for name in previous where map[name] != nil { result.appendUnchecked(name, .string(map[name] ?? "")) }
    for name in map.keys.sorted() where result[name] == nil { result.appendUnchecked(name, .string(map[name] ?? "")) }
    set(key, .object(result))
  }

  var json: JSONValue { .object(object) }
}
