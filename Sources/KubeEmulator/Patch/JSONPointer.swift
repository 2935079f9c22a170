import KubeCore

/// A JSON Pointer (RFC 6901): the path syntax of JSON Patch operations.
///
/// `""` is the whole document; otherwise each `/`-separated reference token names an object member or
/// an array index, with `~1` standing for `/` and `~0` for `~` (decoded in that order, RFC 6901 §4).
struct JSONPointer: Sendable, Equatable, CustomStringConvertible {
  /// The decoded reference tokens, outermost first; empty for the whole document.
  let tokens: [String]
  /// The pointer as written.
  let description: String

  /// Parses `text`, or returns nil when it is not a pointer (no leading `/`, or a `~` not followed by `0`/`1`).
  init?(parsing text: String) {
    description = text
    if text.isEmpty { tokens = []; return }
    guard text.hasPrefix("/") else { return nil }
    var decoded: [String] = []
    for raw in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
      var token = ""
      var iterator = raw.makeIterator()
      while let character = iterator.next() {
        guard character == "~" else { token.append(character); continue }
        switch iterator.next() {
        case "0": token.append("~")
        case "1": token.append("/")
        default: return nil
        }
      }
      decoded.append(token)
    }
    tokens = decoded
  }

  /// Whether `self` is a proper prefix of `other` (RFC 6902 §4.4 forbids moving a value into its own child).
  func isProperPrefix(of other: JSONPointer) -> Bool {
    tokens.count < other.tokens.count && Array(other.tokens.prefix(tokens.count)) == tokens
  }

  /// The array index a token names when it is a valid RFC 6901 array index (`0` or digits without a
  /// leading zero), else nil. `-` (past the end) is handled by the callers that allow it.
  static func arrayIndex(_ token: String) -> Int? {
    guard let first = token.utf8.first, token.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
    if first == UInt8(ascii: "0") && token.utf8.count > 1 { return nil }
    return Int(token)
  }

  /// The value the pointer references in `document`, or nil when any step is missing.
  func value(in document: JSONValue) -> JSONValue? {
    var current = document
    for token in tokens {
      switch current {
      case .object(let object):
        guard let next = object[token] else { return nil }
        current = next
      case .array(let array):
        guard let index = JSONPointer.arrayIndex(token), index < array.count else { return nil }
        current = array[index]
      case .null, .bool, .number, .string:
        return nil
      }
    }
    return current
  }

  /// Runs `body` on the container that holds the pointer's last token, writing the change back.
  ///
  /// The pointer must have at least one token. `missing` builds the error thrown when a step on the
  /// way is absent or not a container.
  func modifyParent(
    of document: inout JSONValue,
    missing: () -> PatchError,
    _ body: (inout JSONValue, String) throws(PatchError) -> Void
  ) throws(PatchError) {
    guard let last = tokens.last else { throw missing() }
    try JSONPointer.descend(&document, through: tokens.dropLast()[...], missing: missing) { (parent: inout JSONValue) throws(PatchError) in
      try body(&parent, last)
    }
  }

  private static func descend(
    _ node: inout JSONValue,
    through path: ArraySlice<String>,
    missing: () -> PatchError,
    _ body: (inout JSONValue) throws(PatchError) -> Void
  ) throws(PatchError) {
    guard let token = path.first else { try body(&node); return }
    switch node {
    case .object(var object):
      guard var child = object[token] else { throw missing() }
      node = .null  // keep `object` uniquely referenced while it is rebuilt
      object[token] = .null
      defer { object[token] = child; node = .object(object) }
      try descend(&child, through: path.dropFirst(), missing: missing, body)
    case .array(var array):
      guard let index = arrayIndex(token), index < array.count else { throw missing() }
      var child = array[index]
      node = .null
      array[index] = .null
      defer { array[index] = child; node = .array(array) }
      try descend(&child, through: path.dropFirst(), missing: missing, body)
    case .null, .bool, .number, .string:
      throw missing()
    }
  }
}
