import KubeCore

/// YAML read and written the way kubectl does it, on top of libyaml.
///
/// kubectl reads YAML with sigs.k8s.io/yaml: go-yaml v2 decodes into `interface{}` (YAML 1.1 scalars:
/// `yes`/`no`/`on`/`off`/`y`/`n` are booleans, `0777` is octal, `~` is null), the result is converted to
/// JSON (non-string keys become strings, NaN and infinities are errors). `YAML` reproduces those rules
/// with libyaml doing the scanning, so a manifest means here what it means to kubectl.
public enum YAML {
  /// Parses every document of a stream (`---` separated).
  ///
  /// A document with no content at the end (`a: 1\n---\n`) is dropped, as kubectl skips it. A stream
  /// that starts with `{` and is one valid JSON object is read as JSON, as kubectl does.
  /// - Throws: `YAMLError` with libyaml's problem and its 1-based position, or a conversion error
  ///   (duplicate key, unknown anchor, bad merge, NaN/infinity, a tag that does not fit its value).
  /// - Complexity: O(n) in the input size; aliases share their values instead of copying them.
  public static func parseDocuments(_ text: String) throws(YAMLError) -> [JSONValue] {
    if let value = jsonObjectStream(text) { return [value] }
    var composer = try YAMLComposer(text)
    return try composer.documents()
  }

  /// Parses every document of a stream as `parseDocuments` does, keeping where each one and each of
  /// its fields starts, for messages that point into a file (`edgeml validate`).
  ///
  /// A stream read as JSON (see `parseDocuments`) is one document on line 1 without field lines.
  /// - Throws: `YAMLError`, as `parseDocuments`.
  public static func parseLocatedDocuments(_ text: String) throws(YAMLError) -> [YAMLDocument] {
    if let value = jsonObjectStream(text) { return [YAMLDocument(value: value, line: 1, fieldLines: [:])] }
    var composer = try YAMLComposer(text)
    return try composer.locatedDocuments()
  }

  /// The stream as one JSON value when it starts with `{` and is valid JSON: kubectl's decoder reads
  /// such input as JSON (k8s.io/apimachinery/pkg/util/yaml decoder.go, `NewYAMLOrJSONDecoder`), so
  /// numbers stay exact and duplicate keys keep the last value.
  private static func jsonObjectStream(_ text: String) -> JSONValue? {
    guard text.utf8.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) == UInt8(ascii: "{") else { return nil }
    return try? JSONValue(parsing: text)
  }

  /// Parses a stream holding at most one document; empty input (or only comments) gives `.null`.
  ///
  /// - Throws: `YAMLError` as `parseDocuments`, or when the stream holds more than one document.
  public static func parse(_ text: String) throws(YAMLError) -> JSONValue {
    let documents = try parseDocuments(text)
    guard documents.count <= 1 else {
      throw YAMLError(message: "expected a single YAML document, found \(documents.count)", line: 1, column: 1)
    }
    return documents.first ?? .null
  }

  /// Writes a value as one block-style YAML document with 2-space indentation.
  ///
  /// Strings that would read back as another type (`"true"`, `"123"`, `""`, `"null"`, `"y"`) are
  /// double-quoted, multi-line strings become literal blocks (`|`), numbers keep their exact JSON text.
  /// `YAML.parse(YAML.emit(v)) == v` for every value without floats that YAML 1.1 reads differently.
  /// - Parameter sortKeys: sort object keys, as kubectl's output (which goes through a Go map) does.
  public static func emit(_ value: JSONValue, sortKeys: Bool = false) -> String {
    guard let emitter = try? LibYAMLEmitter() else { return value.prettyString() + "\n" }
    emitter.streamStart()
    emitter.documentStart(implicit: true)
    write(value, to: emitter, sortKeys: sortKeys)
    emitter.documentEnd()
    emitter.streamEnd()
    // libyaml only fails on event sequences we never produce; JSON is valid YAML, so fall back to it.
    guard !emitter.failed else { return value.prettyString() + "\n" }
    return String(decoding: emitter.output, as: UTF8.self)
  }

  private static func write(_ value: JSONValue, to emitter: LibYAMLEmitter, sortKeys: Bool) {
    switch value {
    case .null: emitter.scalar("null", style: .plain)
    case .bool(let flag): emitter.scalar(flag ? "true" : "false", style: .plain)
    case .number(let number): emitter.scalar(number.literal, style: .plain)
    case .string(let text): writeString(text, to: emitter)
    case .array(let items):
      emitter.sequenceStart()
      for item in items { write(item, to: emitter, sortKeys: sortKeys) }
      emitter.sequenceEnd()
    case .object(let object):
      emitter.mappingStart()
      let keys = sortKeys ? object.keys.sorted() : object.keys
      for key in keys {
        writeString(key, to: emitter)
        write(object[key] ?? .null, to: emitter, sortKeys: sortKeys)
      }
      emitter.mappingEnd()
    }
  }

  private static func writeString(_ text: String, to emitter: LibYAMLEmitter) {
    if text.contains("\n") {
      emitter.scalar(text, style: .literal)  // libyaml falls back to double quotes where `|` cannot hold it
    } else if needsQuotes(text) {
      emitter.scalar(text, style: .doubleQuoted)
    } else {
      emitter.scalar(text, style: .plain)  // libyaml quotes on its own what plain style cannot hold
    }
  }

  /// Whether a plain scalar with this text would read back as something other than this string
  /// (go-yaml v2 encode.go quotes when `resolve` gives a non-string tag, timestamps and base-60 floats).
  static func needsQuotes(_ text: String) -> Bool {
    if text == "<<" { return true }
    if case .string = YAMLScalarResolver.resolvePlain(text) {} else { return true }
    return looksLikeTimestamp(text) || looksLikeBase60Float(text)
  }

  /// `YYYY-` followed only by date/time characters (go-yaml v2 resolve.go `parseTimestamp`'s shapes).
  private static func looksLikeTimestamp(_ text: String) -> Bool {
    let bytes = Array(text.utf8)
    guard bytes.count >= 8, bytes.prefix(4).allSatisfy({ $0 >= 48 && $0 <= 57 }), bytes[4] == UInt8(ascii: "-") else { return false }
    return bytes.dropFirst(5).allSatisfy { ($0 >= 48 && $0 <= 57) || "-:.TtZz+ ".utf8.contains($0) }
  }

  /// go-yaml v2's `isBase60Float`: `[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?`.
  private static func looksLikeBase60Float(_ text: String) -> Bool {
    var bytes = Array(text.utf8)[...]
    if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") { bytes = bytes.dropFirst() }
    guard let first = bytes.first, first >= 48 && first <= 57, bytes.contains(UInt8(ascii: ":")) else { return false }
    return bytes.allSatisfy { ($0 >= 48 && $0 <= 57) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
  }
}

/// One document of a YAML stream and where it sits in the text (`YAML.parseLocatedDocuments`).
public struct YAMLDocument: Sendable, Equatable {
  public var value: JSONValue
  /// The 1-based line of the document's first node.
  public var line: Int
  /// The 1-based line of each field, by the path the API server's field errors use
  /// (`spec.engine.precision`, `spec.strategy.canary.steps[0].setWeight`). Fields that come from an
  /// alias or a `<<` merge are not listed: they have no line of their own.
  public var fieldLines: [String: Int]
}
