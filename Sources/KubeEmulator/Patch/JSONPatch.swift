import KubeCore

/// JSON Patch (RFC 6902), the `application/json-patch+json` PATCH body.
///
/// A patch is an array of operations (`add`, `remove`, `replace`, `move`, `copy`, `test`) applied in
/// order; paths are JSON Pointers (RFC 6901, `JSONPointer`). kube-apiserver applies it with
/// evanphx/json-patch (kubernetes/apiserver `pkg/endpoints/handlers/patch.go`, `applyJSPatch`); error
/// details here are worded like that library's `patch.go`.
///
/// Guarantees: application is atomic — when any operation fails nothing of the patch is applied, and
/// the caller keeps its unchanged document. Members of an operation other than `op`, `path`, `from`
/// and `value` are ignored (RFC 6902 §4, appendix A.11).
///
/// Caveats, where RFC 6902 and evanphx/json-patch v4 differ we follow the RFC: `replace` of a missing
/// object member fails, `-` and negative numbers are not indices for `remove`/`replace`, and `move`
/// into the moved value's own child fails.
public enum JSONPatch {
  /// Applies `patch` to `target`.
  ///
  /// - Parameters:
  ///   - patch: the JSON Patch document, an array of operation objects.
  ///   - target: the document to patch.
  /// - Returns: the patched document.
  /// - Throws: `PatchError.malformedPatch` (400) when `patch` is not an array of objects,
  ///   `.tooManyOperations` (413) above `PatchError.maximumJSONPatchOperations`, `.testFailed` (422)
  ///   for a `test` that does not match, `.operationFailed` (422) for any other operation that cannot apply.
  /// - Complexity: O(operations × path depth × keys per level), plus the copies `copy` makes.
  public static func apply(_ patch: JSONValue, to target: JSONValue) throws(PatchError) -> JSONValue {
    guard case .array(let operations) = patch else {
      throw .malformedPatch(detail: "json: cannot unmarshal \(goTypeWord(patch)) into Go value of type jsonpatch.Patch")
    }
    guard operations.count <= PatchError.maximumJSONPatchOperations else {
      throw .tooManyOperations(count: operations.count)
    }
    var operationObjects: [JSONObject] = []
    operationObjects.reserveCapacity(operations.count)
    for operation in operations {
      guard case .object(let object) = operation else {
        throw .malformedPatch(detail: "json: cannot unmarshal \(goTypeWord(operation)) into Go value of type jsonpatch.Operation")
      }
      operationObjects.append(object)
    }
    var document = target
    for (index, operation) in operationObjects.enumerated() {
      try Operation(operation, index: index).apply(to: &document)
    }
    return document
  }

  /// The word Go's `encoding/json` uses for a JSON value's kind in `UnmarshalTypeError`.
  static func goTypeWord(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case .bool: return "bool"
    case .number: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }
}

/// One decoded JSON Patch operation.
private struct Operation {
  let fields: JSONObject
  let index: Int
  let kind: String

  init(_ fields: JSONObject, index: Int) {
    self.fields = fields
    self.index = index
    // evanphx/json-patch `Operation.Kind`: a missing or non-string `op` is "unknown".
    kind = fields["op"]?.stringValue ?? "unknown"
  }

  func failure(_ detail: String) -> PatchError { .operationFailed(index: index, detail: detail) }

  /// The pointer in member `name` (`path` or `from`).
  func pointer(_ name: String) throws(PatchError) -> JSONPointer {
    guard let text = fields[name]?.stringValue else {
      throw failure("\(kind) operation failed to decode \(name): operation missing \(name) field: missing value")
    }
    guard let pointer = JSONPointer(parsing: text) else {
      throw failure("\(kind) operation does not apply: invalid JSON pointer \(text): missing value")
    }
    return pointer
  }

  func value() throws(PatchError) -> JSONValue {
    guard let value = fields["value"] else {
      throw failure("\(kind) operation, missing value field: missing value")
    }
    return value
  }

  func apply(to document: inout JSONValue) throws(PatchError) {
    switch kind {
    case "add":
      try add(try value(), at: try pointer("path"), in: &document)
    case "remove":
      _ = try remove(at: try pointer("path"), from: &document)
    case "replace":
      try replace(at: try pointer("path"), with: try value(), in: &document)
    case "move":
      let from = try pointer("from")
      let path = try pointer("path")
      guard from != path else { return }  // RFC 6902 §4.4: a no-op, and not an error
      guard !from.isProperPrefix(of: path) else {
        throw failure("move operation does not apply: from path \(from) is a prefix of destination path \(path)")
      }
      let moved = try remove(at: from, from: &document, verb: "move", missingParent: "doc is missing from path: \(from)")
      try add(moved, at: path, in: &document, verb: "move", missingParent: "doc is missing destination path: \(path)")
    case "copy":
      let from = try pointer("from")
      guard let copied = from.value(in: document) else {
        throw failure("copy operation does not apply: doc is missing from path: \(from): missing value")
      }
      try add(copied, at: try pointer("path"), in: &document, verb: "copy", missingParent: "doc is missing destination path: \(try pointer("path"))")
    case "test":
      let path = try pointer("path")
      let expected = try value()
      guard let actual = path.value(in: document) else {
        // evanphx/json-patch: testing a missing member against `null` succeeds.
        if expected.isNull, path.tokens.count > 0, JSONPointer(parsing: parentText(of: path))?.value(in: document)?.objectValue != nil { return }
        throw failure("test operation does not apply: is missing path: \(path): missing value")
      }
      guard actual == expected else { throw .testFailed(index: index, path: path.description) }
    default:
      throw failure("Unexpected kind: \(kind)")
    }
  }

  private func parentText(of pointer: JSONPointer) -> String {
    guard let slash = pointer.description.lastIndex(of: "/") else { return "" }
    return String(pointer.description[..<slash])
  }

  /// RFC 6902 §4.1: add to an object member (replacing it) or insert into an array (`-` appends).
  private func add(_ value: JSONValue, at path: JSONPointer, in document: inout JSONValue, verb: String = "add", missingParent: String? = nil) throws(PatchError) {
    if path.tokens.isEmpty { document = value; return }
    let missing = failure("\(verb) operation does not apply: \(missingParent ?? "doc is missing path: \"\(path)\""): missing value")
    try path.modifyParent(of: &document, missing: { missing }) { (parent: inout JSONValue, token: String) throws(PatchError) in
      switch parent {
      case .object(var object):
        parent = .null
        object[token] = value
        parent = .object(object)
      case .array(var array):
        let index: Int
        if token == "-" {
          index = array.count
        } else if let parsed = JSONPointer.arrayIndex(token), parsed <= array.count {
          index = parsed
        } else {
          throw failure("error in \(verb) for path: '\(path)': Unable to access invalid index: \(token): invalid index referenced")
        }
        parent = .null
        array.insert(value, at: index)
        parent = .array(array)
      case .null, .bool, .number, .string:
        throw missing
      }
    }
  }

  /// RFC 6902 §4.2: removes and returns the referenced value.
  private func remove(at path: JSONPointer, from document: inout JSONValue, verb: String = "remove", missingParent: String? = nil) throws(PatchError) -> JSONValue {
    let missing = failure("\(verb) operation does not apply: \(missingParent ?? "doc is missing path: \"\(path)\""): missing value")
    guard !path.tokens.isEmpty else { throw missing }
    var removed = JSONValue.null
    try path.modifyParent(of: &document, missing: { missing }) { (parent: inout JSONValue, token: String) throws(PatchError) in
      switch parent {
      case .object(var object):
        guard let value = object[token] else {
          throw failure("error in \(verb) for path: '\(path)': Unable to remove nonexistent key: \(token): missing value")
        }
        removed = value
        parent = .null
        object.removeValue(forKey: token)
        parent = .object(object)
      case .array(var array):
        guard let index = JSONPointer.arrayIndex(token), index < array.count else {
          throw failure("error in \(verb) for path: '\(path)': Unable to access invalid index: \(token): invalid index referenced")
        }
        parent = .null
        removed = array.remove(at: index)
        parent = .array(array)
      case .null, .bool, .number, .string:
        throw missing
      }
    }
    return removed
  }

  /// RFC 6902 §4.3: the target location must exist.
  private func replace(at path: JSONPointer, with value: JSONValue, in document: inout JSONValue) throws(PatchError) {
    if path.tokens.isEmpty { document = value; return }
    let missing = failure("replace operation does not apply: doc is missing path: \(path): missing value")
    try path.modifyParent(of: &document, missing: { missing }) { (parent: inout JSONValue, token: String) throws(PatchError) in
      switch parent {
      case .object(var object):
        guard object[token] != nil else {
          throw failure("replace operation does not apply: doc is missing key: \(path): missing value")
        }
        parent = .null
        object[token] = value
        parent = .object(object)
      case .array(var array):
        guard let index = JSONPointer.arrayIndex(token), index < array.count else {
          throw failure("error in replace for path: '\(path)': Unable to access invalid index: \(token): invalid index referenced")
        }
        parent = .null
        array[index] = value
        parent = .array(array)
      case .null, .bool, .number, .string:
        throw missing
      }
    }
  }
}
