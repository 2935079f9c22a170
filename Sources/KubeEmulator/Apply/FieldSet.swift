import KubeCore

/// A set of field paths: what one manager owns, what a request changed.
///
/// structured-merge-diff keeps a trie of members and children (`fieldpath/set.go`); the operations
/// that matter here — union, difference, intersection, membership — are the same on a plain set of
/// paths, which is what this is. A path is a *member* when it is owned itself; its ancestors need
/// not be members (owning `.spec.replicas` does not own `.spec`).
public struct FieldSet: Sendable, Hashable {
  /// Every member path.
  public private(set) var paths: Set<FieldPath>

  /// The empty set.
  public init() { paths = [] }

  /// A set holding these paths.
  public init<S: Sequence>(_ paths: S) where S.Element == FieldPath { self.paths = Set(paths) }

  /// Whether the set has no member.
  public var isEmpty: Bool { paths.isEmpty }

  /// Whether `path` is a member.
  public func contains(_ path: FieldPath) -> Bool { paths.contains(path) }

  /// Adds `path`; the root (empty path) is never a member.
  public mutating func insert(_ path: FieldPath) {
    if !path.isEmpty { paths.insert(path) }
  }

  /// Members of either set.
  public func union(_ other: FieldSet) -> FieldSet { FieldSet(paths.union(other.paths)) }

  /// Members of this set that are not members of `other`.
  public func subtracting(_ other: FieldSet) -> FieldSet { FieldSet(paths.subtracting(other.paths)) }

  /// Members of both sets.
  public func intersection(_ other: FieldSet) -> FieldSet { FieldSet(paths.intersection(other.paths)) }

  /// The members, in the order upstream iterates a set (`fieldpath/set.go` `iteratePrefix`): at each
  /// level the members first, then the children; each group by `PathElement` order. Conflicts are
  /// listed in this order.
  public var sortedPaths: [FieldPath] {
    paths.sorted { a, b in
      for i in 0..<min(a.count, b.count) where a[i] != b[i] {
        let aIsMember = a.count == i + 1, bIsMember = b.count == i + 1
        if aIsMember != bIsMember { return aIsMember }
        return a[i] < b[i]
      }
      return a.count < b.count
    }
  }

  /// Whether some member is `path` or lies below it.
  public func containsPrefix(_ path: FieldPath) -> Bool {
    paths.contains { $0.count >= path.count && Array($0.prefix(path.count)) == path }
  }
}

// MARK: FieldsV1

extension FieldSet {
  /// Errors reading a `fieldsV1` document.
  public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, for the log.
    public var description: String
  }

  /// The set as upstream serializes it into `managedFields[].fieldsV1` (`fieldpath/serialize.go`):
  /// nested objects keyed by `PathElement.fieldsV1Key`, sorted by element; a member that also has
  /// children says so with a leading `".": {}`; a member without children is `{}`.
  public var fieldsV1: JSONValue {
    FieldSet.encode(paths.map { $0[...] })
  }

  private static func encode(_ suffixes: [ArraySlice<PathElement>]) -> JSONValue {
    // One entry per element at this level: whether it is a member itself, and the rest of the
    // paths that go through it.
    var groups: [PathElement: (isMember: Bool, children: [ArraySlice<PathElement>])] = [:]
    groups.reserveCapacity(suffixes.count)
    for s in suffixes {
      guard let first = s.first else { continue }
      let rest = s.dropFirst()
      if rest.isEmpty { groups[first, default: (false, [])].isMember = true } else { groups[first, default: (false, [])].children.append(rest) }
    }
    var out = JSONObject()
    for (element, group) in groups.sorted(by: { $0.key < $1.key }) {
      let key = element.fieldsV1Key
      guard !group.children.isEmpty else { out[key] = .object([:]); continue }
      var child = JSONObject()
      if group.isMember { child["."] = .object([:]) }
      if case .object(let nested) = encode(group.children) {
        for (k, v) in nested { child.appendUnchecked(k, v) }
      }
      out[key] = .object(child)
    }
    return .object(out)
  }

  /// Whether a `fieldsV1` document has `path` as a member, read without decoding the document: the
  /// node at the path's keys is a member when it is `{}` or holds `"."`.
  public static func fieldsV1(_ document: JSONValue, contains path: FieldPath) -> Bool {
    guard !path.isEmpty else { return false }
    var node = document
    for element in path {
      guard case .object(let object) = node, let next = object[element.fieldsV1Key] else { return false }
      node = next
    }
    guard case .object(let object) = node else { return false }
    return object.isEmpty || object["."] != nil
  }

  /// Reads a `fieldsV1` document (`fieldpath/serialize.go` `FromJSON`).
  ///
  /// - Throws: `DecodingError` when a key is not `.`, `f:`, `k:`, `v:` or `i:`, or a value is not an object.
  public init(fieldsV1 document: JSONValue) throws(DecodingError) {
    self.init()
    try FieldSet.decode(document, prefix: [], into: &self)
  }

  private static func decode(_ node: JSONValue, prefix: FieldPath, into set: inout FieldSet) throws(DecodingError) {
    guard case .object(let object) = node else {
      throw DecodingError(description: "expected an object at \(describe(prefix))")
    }
    for (key, value) in object {
      if key == "." {
        guard !prefix.isEmpty else { throw DecodingError(description: "\".\" at the root") }
        set.insert(prefix)
        continue
      }
      guard let element = PathElement(fieldsV1Key: key) else {
        throw DecodingError(description: "unknown path element \(key) at \(describe(prefix))")
      }
      guard case .object(let child) = value else {
        throw DecodingError(description: "expected an object at \(describe(prefix + [element]))")
      }
      if child.isEmpty { set.insert(prefix + [element]) } else { try decode(value, prefix: prefix + [element], into: &set) }
    }
  }
}
