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
/// Caveats: where evanphx/json-patch v4 departs from RFC 6902 we do what kube-apiserver does, since a
/// client can only see the server: `replace` of a missing object member adds it; a missing `value` is
/// `null`; array tokens accept `+1`, `01` and negative indices from the end; `add` and `remove` of the
/// whole document (`""`) fail; `copy` from a missing object member copies `null`; `test` compares
/// numbers by their text; an absent or `null` member passes a `test` for `null`.
public enum JSONPatch {
  /// Applies `patch` to `target`.
  ///
  /// A `null` body patches nothing and a `null` operation is one of unknown kind, as Go decodes them.
  ///
  /// - Parameters:
  ///   - patch: the JSON Patch document, an array of operation objects.
  ///   - target: the document to patch.
  ///   - maximumCopyBytes: how much `copy` operations may add in all, in bytes of compact JSON
  ///     (evanphx/json-patch `AccumulatedCopySizeLimit`, which kube-apiserver sets from its
  ///     `JSONPatchMaxCopyBytes`); 0 for no limit.
  /// - Returns: the patched document.
  /// - Throws: `PatchError.malformedPatch` (400) when `patch` is not an array of objects (or nests
  ///   deeper than 2 000 levels, a guard for the stack),
  ///   `.tooManyOperations` (413) above `PatchError.maximumJSONPatchOperations`, `.testFailed` (422)
  ///   for a `test` that does not match, `.operationFailed` (422) for any other operation that cannot
  ///   apply, going over `maximumCopyBytes` included.
  /// - Complexity: O(operations × path depth × keys per level), plus the copies `copy` makes.
  public static func apply(
    _ patch: JSONValue, to target: JSONValue, maximumCopyBytes: Int = defaultMaximumCopyBytes
  ) throws(PatchError) -> JSONValue {
    let operations: [JSONValue]
    switch patch {
    case .array(let elements): operations = elements
    case .null: return target  // Go decodes `null` into an empty patch
    case .bool, .number, .string, .object:
      throw .malformedPatch(detail: "json: cannot unmarshal \(GoFormat.jsonKind(patch)) into Go value of type jsonpatch.Patch")
    }
    guard operations.count <= PatchError.maximumJSONPatchOperations else {
      throw .tooManyOperations(count: operations.count)
    }
    try PatchDepth.check(patch)
    var operationObjects: [JSONObject] = []
    operationObjects.reserveCapacity(operations.count)
    for operation in operations {
      switch operation {
      case .object(let object): operationObjects.append(object)
      case .null: operationObjects.append(JSONObject())  // an empty operation, whose kind is "unknown"
      case .bool, .number, .string, .array:
        throw .malformedPatch(detail: "json: cannot unmarshal \(GoFormat.jsonKind(operation)) into Go value of type jsonpatch.Operation")
      }
    }
    var document = target
    var copiedBytes = 0
    for (index, operation) in operationObjects.enumerated() {
      try Operation(operation, index: index).apply(to: &document, copiedBytes: &copiedBytes, maximumCopyBytes: maximumCopyBytes)
    }
    return document
  }

  /// kube-apiserver's default `JSONPatchMaxCopyBytes`: 3 MiB (kubernetes/apiserver
  /// `pkg/server/config.go`, `NewConfig`), twice etcd's recommended 1.5 MiB request size.
  public static let defaultMaximumCopyBytes = 3 * 1024 * 1024
}

/// One JSON Patch operation, applied as evanphx/json-patch v4 (`patch.go`: `add`, `remove`,
/// `replace`, `move`, `test`, `copy`) applies it; detail texts are that file's.
private struct Operation {
  let fields: JSONObject
  let index: Int
  let kind: String

  init(_ fields: JSONObject, index: Int) {
    self.fields = fields
    self.index = index
    // Upstream `Operation.Kind`: a missing or non-string `op` is "unknown".
    kind = fields["op"]?.stringValue ?? "unknown"
  }

  func failure(_ detail: String) -> PatchError { .operationFailed(index: index, detail: detail) }

  /// The text of member `name` (`path` or `from`).
  func text(_ name: String) throws(PatchError) -> String {
    guard let text = fields[name]?.stringValue else {
      throw failure("\(kind) operation failed to decode \(name): operation missing \(name) field: missing value")
    }
    return text
  }

  /// The path in member `name`; `missing` words the failure when it names no container.
  func pointer(_ name: String, in document: JSONValue, missing: String) throws(PatchError) -> JSONPointer {
    let path = try text(name)
    guard let pointer = JSONPointer(parsing: path), pointer.container(in: document) != nil else {
      throw failure("\(kind) operation does not apply: \(missing.replacingPlaceholder(with: path)): missing value")
    }
    return pointer
  }

  /// The `value` member; upstream treats an absent value as `null`.
  var value: JSONValue { fields["value"] ?? .null }

  func apply(to document: inout JSONValue, copiedBytes: inout Int, maximumCopyBytes: Int) throws(PatchError) {
    switch kind {
    case "add":
      let path = try pointer("path", in: document, missing: "doc is missing path: \"%\"")
      try add(value, at: path, in: &document, context: "error in add for path: '\(path)'")
    case "remove":
      let path = try pointer("path", in: document, missing: "doc is missing path: \"%\"")
      _ = try remove(at: path, from: &document, context: "error in remove for path: '\(path)'")
    case "replace":
      if try text("path").isEmpty {
        switch value {
        case .object, .array: document = value
        case .null, .bool, .number, .string: throw failure("replace operation value must be object or array")
        }
        return
      }
      try replace(at: try pointer("path", in: document, missing: "doc is missing path: %"), in: &document)
    case "move":
      let from = try pointer("from", in: document, missing: "doc is missing from path: %")
      let moved = try remove(at: from, from: &document, context: "error in move for path: '\(from.key)'")
      let path = try pointer("path", in: document, missing: "doc is missing destination path: %")
      try add(moved, at: path, in: &document, context: "error in move for path: '\(path)'")
    case "copy":
      let from = try pointer("from", in: document, missing: "doc is missing from path: %")
      // Upstream copies `null` from a missing object member.
      let copied = try element(at: from, in: document, context: "error in copy for from: '\(from)'") ?? .null
      let path = try pointer("path", in: document, missing: "doc is missing destination path: %")
      copiedBytes += copied.serialized().count
      if maximumCopyBytes > 0 && copiedBytes > maximumCopyBytes {
        throw failure("Unable to complete the copy, the accumulated size increase of copy is \(copiedBytes), exceeding the limit \(maximumCopyBytes)")
      }
      try add(copied, at: path, in: &document, context: "error while adding value during copy")
    case "test":
      try test(document)
    default:
      throw failure("Unexpected kind: \(kind)")
    }
  }

  /// Upstream `test`: a missing or `null` member matches an absent or `null` value.
  private func test(_ document: JSONValue) throws(PatchError) {
    let path = try text("path")
    let actual: JSONValue?
    if path.isEmpty {
      actual = document
    } else {
      let pointer = try self.pointer("path", in: document, missing: "is missing path: %")
      actual = try element(at: pointer, in: document, context: "error in test for path: '\(path)'")
    }
    let expected = fields["value"]
    switch (actual ?? .null, expected ?? .null) {
    case (.null, .null): return
    case (let actual, let expected) where expected != .null && Operation.sameJSON(actual, expected): return
    default: throw .testFailed(index: index, path: path)
    }
  }

  /// Upstream `lazyNode.equal`: objects and arrays structurally, scalars by their JSON text (so `1` and
  /// `1.0` differ, as they do on kube-apiserver).
  static func sameJSON(_ left: JSONValue, _ right: JSONValue) -> Bool {
    switch (left, right) {
    case (.object(let l), .object(let r)):
      guard l.count == r.count else { return false }
      for (key, value) in l {
        guard let other = r[key], sameJSON(value, other) else { return false }
      }
      return true
    case (.array(let l), .array(let r)):
      return l.count == r.count && zip(l, r).allSatisfy { sameJSON($0, $1) }
    case (.number(let l), .number(let r)):
      return l.literal == r.literal
    default:
      return left == right
    }
  }

  /// The member or element the pointer names (nil for a missing object member).
  private func element(at pointer: JSONPointer, in document: JSONValue, context: String) throws(PatchError) -> JSONValue? {
    switch pointer.container(in: document) {
    case .object(let object)?:
      return object[pointer.key]
    case .array(let array)?:
      switch JSONPointer.existingIndex(pointer.key, count: array.count) {
      case .success(let position): return array[position]
      case .failure(let reason): throw failure("\(context): \(reason)")
      }
    default:
      return nil
    }
  }

  /// Upstream `partialDoc.add` / `partialArray.add`: sets a member, or inserts (`-` appends).
  private func add(_ value: JSONValue, at path: JSONPointer, in document: inout JSONValue, context: String) throws(PatchError) {
    try path.modifyContainer(in: &document, missing: failure("\(kind) operation does not apply: doc is missing path: \(path)")) { (container: inout JSONValue) throws(PatchError) in
      switch container {
      case .object(var object):
        container = .null
        object[path.key] = value
        container = .object(object)
      case .array(var array):
        var position = array.count
        if path.key != "-" {
          guard let parsed = Int(path.key) else {
            throw failure("\(context): value was not a proper array index: '\(path.key)': strconv.Atoi: parsing \"\(path.key)\": invalid syntax")
          }
          let size = array.count + 1
          guard parsed < size, parsed >= -size else {
            throw failure("\(context): Unable to access invalid index: \(parsed): invalid index referenced")
          }
          position = parsed < 0 ? parsed + size : parsed
        }
        container = .null
        array.insert(value, at: position)
        container = .array(array)
      case .null, .bool, .number, .string:
        break  // `modifyContainer` only hands over objects and arrays
      }
    }
  }

  /// Upstream `partialDoc.remove` / `partialArray.remove`; returns the removed value.
  private func remove(at path: JSONPointer, from document: inout JSONValue, context: String) throws(PatchError) -> JSONValue {
    var removed = JSONValue.null
    try path.modifyContainer(in: &document, missing: failure("\(kind) operation does not apply: doc is missing path: \(path)")) { (container: inout JSONValue) throws(PatchError) in
      switch container {
      case .object(var object):
        guard let value = object[path.key] else {
          throw failure("\(context): Unable to remove nonexistent key: \(path.key): missing value")
        }
        removed = value
        container = .null
        object.removeValue(forKey: path.key)
        container = .object(object)
      case .array(var array):
        switch JSONPointer.existingIndex(path.key, count: array.count) {
        case .success(let position):
          container = .null
          removed = array.remove(at: position)
          container = .array(array)
        case .failure(let reason):
          throw failure("\(context): \(reason)")
        }
      case .null, .bool, .number, .string:
        break
      }
    }
    return removed
  }

  /// Upstream `replace`: an object member is set even when it did not exist (evanphx/json-patch v4
  /// differs from RFC 6902 §4.3 here, and kube-apiserver with it); an array element must exist.
  private func replace(at path: JSONPointer, in document: inout JSONValue) throws(PatchError) {
    let replacement = value
    try path.modifyContainer(in: &document, missing: failure("replace operation does not apply: doc is missing path: \(path)")) { (container: inout JSONValue) throws(PatchError) in
      switch container {
      case .object(var object):
        container = .null
        object[path.key] = replacement
        container = .object(object)
      case .array(var array):
        guard case .success(let position) = JSONPointer.existingIndex(path.key, count: array.count) else {
          throw failure("replace operation does not apply: doc is missing key: \(path): missing value")
        }
        container = .null
        array[position] = replacement
        container = .array(array)
      case .null, .bool, .number, .string:
        break
      }
    }
  }
}

extension String {
  fileprivate func replacingPlaceholder(with path: String) -> String {
    guard let percent = firstIndex(of: "%") else { return self }
    return self[..<percent] + path + self[index(after: percent)...]
  }
}
