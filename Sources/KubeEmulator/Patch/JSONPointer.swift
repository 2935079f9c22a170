import KubeCore

/// A JSON Patch path as kube-apiserver's JSON Patch library reads it.
///
/// RFC 6901 pointers: `/`-separated reference tokens, `~1` standing for `/` and `~0` for `~`. Read the
/// way evanphx/json-patch v4 (`patch.go`, `findObject` and `decodePatchKey`) reads them, which is what
/// a client of kube-apiserver sees: everything before the first `/` is ignored, an unknown escape such
/// as `~2` is kept literally, and array tokens are parsed like Go's `strconv.Atoi` (`+1`, `01` and
/// negative indices counting from the end are accepted).
struct JSONPointer: Sendable, Equatable, CustomStringConvertible {
  /// The decoded reference tokens leading to the parent of the target, outermost first.
  let parentTokens: [String]
  /// The decoded last reference token: the member name or index the operation acts on.
  let key: String
  /// The path as written.
  let description: String

  /// Parses `text`, or returns nil when it names no member at all (no `/`: `""` is the whole document,
  /// which only `replace` and `test` accept, handled by them).
  init?(parsing text: String) {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count >= 2, let last = parts.last else { return nil }
    description = text
    parentTokens = parts.dropFirst().dropLast().map(JSONPointer.decode)
    key = JSONPointer.decode(last)
  }

  /// One pass replacing `~1` with `/` and `~0` with `~` (Go's `strings.NewReplacer("~1", "/", "~0", "~")`).
  private static func decode(_ token: Substring) -> String {
    var decoded = ""
    var characters = token[...]
    while let character = characters.popFirst() {
      if character == "~", let next = characters.first, next == "0" || next == "1" {
        decoded.append(next == "0" ? "~" : "/")
        characters.removeFirst()
      } else {
        decoded.append(character)
      }
    }
    return decoded
  }

  /// The position `token` names in an array of `count` elements (negative counts from the end), or a
  /// failure worded as upstream's `partialArray.get`.
  static func existingIndex(_ token: String, count: Int) -> Result<Int, IndexFailure> {
    guard let index = Int(token) else { return .failure(.notANumber(token)) }
    guard index < count, index >= -count else { return .failure(.outOfRange(index)) }
    return .success(index < 0 ? index + count : index)
  }

  /// Why a token does not name an array element.
  enum IndexFailure: Error, CustomStringConvertible {
    case notANumber(String)
    case outOfRange(Int)

    var description: String {
      switch self {
      case .notANumber(let token): return "strconv.Atoi: parsing \"\(token)\": invalid syntax"
      case .outOfRange(let index): return "Unable to access invalid index: \(index): invalid index referenced"
      }
    }
  }

  /// Runs `body` on the container holding `key`, writing the change back into `document`.
  ///
  /// Each parent token must name an existing, non-null object or array, else `missing` is thrown
  /// (upstream `findObject` answers nil for all of these).
  func modifyContainer(
    in document: inout JSONValue,
    missing: PatchError,
    _ body: (inout JSONValue) throws(PatchError) -> Void
  ) throws(PatchError) {
    try JSONPointer.descend(&document, through: parentTokens[...], missing: missing, body)
  }

  /// The container holding `key`, if every parent token resolves.
  func container(in document: JSONValue) -> JSONValue? {
    var current = document
    for token in parentTokens {
      guard let next = JSONPointer.child(of: current, token) else { return nil }
      current = next
    }
    return JSONPointer.isContainer(current) ? current : nil
  }

  private static func isContainer(_ value: JSONValue) -> Bool {
    switch value {
    case .object, .array: return true
    case .null, .bool, .number, .string: return false
    }
  }

  private static func child(of node: JSONValue, _ token: String) -> JSONValue? {
    let next: JSONValue?
    switch node {
    case .object(let object):
      next = object[token]
    case .array(let array):
      guard case .success(let index) = existingIndex(token, count: array.count) else { return nil }
      next = array[index]
    case .null, .bool, .number, .string:
      next = nil
    }
    guard let next, isContainer(next) else { return nil }
    return next
  }

  private static func descend(
    _ node: inout JSONValue,
    through path: ArraySlice<String>,
    missing: PatchError,
    _ body: (inout JSONValue) throws(PatchError) -> Void
  ) throws(PatchError) {
    guard isContainer(node) else { throw missing }
    guard let token = path.first else { try body(&node); return }
    guard var child = child(of: node, token) else { throw missing }
    switch node {
    case .object(var object):
      node = .null  // keep `object` uniquely referenced while it is rebuilt
      object[token] = .null
      defer { object[token] = child; node = .object(object) }
      try descend(&child, through: path.dropFirst(), missing: missing, body)
    case .array(var array):
      guard case .success(let index) = existingIndex(token, count: array.count) else { throw missing }
      node = .null
      array[index] = .null
      defer { array[index] = child; node = .array(array) }
      try descend(&child, through: path.dropFirst(), missing: missing, body)
    case .null, .bool, .number, .string:
      throw missing
    }
  }
}
