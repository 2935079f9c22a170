import KubeCore

/// One entry of `metadata.managedFields`: the fields one manager owns through one kind of operation.
///
/// Field names and meaning are `ManagedFieldsEntry`'s (k8s.io/apimachinery `pkg/apis/meta/v1/types.go`).
/// Two entries are the same *manager* when `identity` matches: manager, operation, subresource, and
/// the apiVersion for updates only — an applier keeps one entry across versions
/// (k8s.io/apimachinery `pkg/util/managedfields/internal/managedfields.go` `BuildManagerIdentifier`).
public struct ManagedFieldsEntry: Sendable, Equatable {
  /// `Apply` (server-side apply) or `Update` (every other write).
  public enum Operation: String, Sendable {
    case apply = "Apply"
    case update = "Update"
  }

  /// The manager's name: `fieldManager`, or derived from the User-Agent.
  public var manager: String
  /// How the fields were written.
  public var operation: Operation
  /// The apiVersion the manager wrote with (`apps/v1`).
  public var apiVersion: String
  /// When the manager last changed the object, RFC 3339 seconds; nil only in entries a client sent.
  public var time: String?
  /// The owned fields. An entry read lazily from a stored list (`decodeList(_:stored:)`) decodes
  /// them at each read until they are set; `disown`, `owned(among:)` and `ownsNothing` read such
  /// an entry without decoding it.
  public var fields: FieldSet {
    get { decoded ?? encodedFields.flatMap { try? FieldSet(fieldsV1: $0) } ?? FieldSet() }
    set { decoded = newValue; encodedFields = nil }
  }
  /// The decoded set; nil while only `encodedFields` holds it.
  private var decoded: FieldSet?
  /// `fields` as `fieldsV1`, kept from decoding or the last encoding while `fields` is unchanged:
  /// most writes leave most entries as they were, and encoding a set is most of writing an entry.
  private var encodedFields: JSONValue?
  /// `status` for writes to the status subresource; nil for the main resource.
  public var subresource: String?

  /// An entry from its parts.
  public init(manager: String, operation: Operation, apiVersion: String, time: String?, fields: FieldSet, subresource: String? = nil) {
    self.manager = manager
    self.operation = operation
    self.apiVersion = apiVersion
    self.time = time
    self.fields = fields
    self.subresource = subresource
  }

  public static func == (a: ManagedFieldsEntry, b: ManagedFieldsEntry) -> Bool {
    a.manager == b.manager && a.operation == b.operation && a.apiVersion == b.apiVersion && a.time == b.time
      && a.subresource == b.subresource && a.fields == b.fields
  }

  /// Removes `paths` from the owned fields; an entry that owned none of them is left untouched
  /// (and keeps its encoding; a lazily read entry is not even decoded).
  public mutating func disown(_ paths: FieldSet) {
    if decoded == nil, let encodedFields, !paths.paths.contains(where: { FieldSet.fieldsV1(encodedFields, contains: $0) }) {
      return
    }
    let current = fields
    let kept = current.subtracting(paths)
    if kept.paths.count != current.paths.count { fields = kept } else { decoded = current }
  }

  /// The members of `paths` this entry owns (a lazily read entry is not decoded for it).
  public func owned(among paths: FieldSet) -> FieldSet {
    if decoded == nil, let encodedFields { return FieldSet(paths.paths.filter { FieldSet.fieldsV1(encodedFields, contains: $0) }) }
    return fields.intersection(paths)
  }

  /// Whether the entry owns no field (an empty entry is dropped from the list).
  public var ownsNothing: Bool {
    if let decoded { return decoded.isEmpty }
    return encodedFields?.objectValue?.isEmpty ?? true
  }

  /// Whether two entries belong to the same manager (see the type's comment).
  public func isSameManager(_ other: ManagedFieldsEntry) -> Bool {
    manager == other.manager && operation == other.operation && (subresource ?? "") == (other.subresource ?? "")
      && (operation == .apply || apiVersion == other.apiVersion)
  }

  /// How conflict messages name the manager (k8s.io/apimachinery
  /// `pkg/util/managedfields/internal/conflict.go` `printManager`): `"a"`, `"b" with subresource
  /// "status"`, `"kubectl" using apps/v1` for an update manager.
  public var printed: String {
    var text = "\"\(manager)\""
    if let subresource, !subresource.isEmpty { text += " with subresource \"\(subresource)\"" }
    if operation == .update { text += " using \(apiVersion)" }
    return text
  }

  // MARK: JSON

  /// Why a client-sent `managedFields` list was not taken.
  public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Upstream's reason (`decodeManagedFields`).
    public var description: String
  }

  /// Reads `metadata.managedFields`, with upstream's checks (`managedfields.go` `decodeManagedFields`):
  /// operation `Apply` or `Update`, a non-empty apiVersion, `fieldsType: FieldsV1` and a readable
  /// `fieldsV1`.
  ///
  /// - Throws: `DecodingError` naming the first bad entry; callers then keep the live entries.
  /// - Parameter stored: the list is one this server encoded (`encodeList`) and stored.
  public static func decodeList(_ value: JSONValue, stored: Bool = false) throws(DecodingError) -> [ManagedFieldsEntry] {
    guard case .array(let items) = value else { throw DecodingError(description: "managedFields must be a list") }
    var out: [ManagedFieldsEntry] = []
    for (i, item) in items.enumerated() {
      guard let operation = item["operation"]?.stringValue.flatMap(Operation.init(rawValue:)) else {
        throw DecodingError(description: "operation must be `Apply` or `Update`")
      }
      guard let apiVersion = item["apiVersion"]?.stringValue, !apiVersion.isEmpty else {
        throw DecodingError(description: "apiVersion must not be empty")
      }
      switch item["fieldsType"]?.stringValue ?? "" {
      case "FieldsV1": break
      case "": throw DecodingError(description: "missing fieldsType in managed fields entry \(i)")
      case let other: throw DecodingError(description: "invalid fieldsType \"\(other)\" in managed fields entry \(i)")
      }
      let subresource = item["subresource"]?.stringValue
      var entry = ManagedFieldsEntry(manager: item["manager"]?.stringValue ?? "", operation: operation, apiVersion: apiVersion,
                                     time: item["time"]?.stringValue, fields: FieldSet(),
                                     subresource: subresource?.isEmpty == true ? nil : subresource)
      if stored, case .object? = item["fieldsV1"] {
        // A list this server wrote (so its sets are well formed) keeps each set's JSON, for writing it
        // back unchanged, and decodes a set only when a write needs it: most writes change the fields
        // of one manager.
        entry.decoded = nil
        entry.encodedFields = item["fieldsV1"]
      } else {
        // A client's list is checked now, and its spelling of a set (members in another order, say)
        // is written anew.
        do { entry.fields = try FieldSet(fieldsV1: item["fieldsV1"] ?? .object([:])) } catch {
          throw DecodingError(description: "error decoding managed fields entry \(i): \(error)")
        }
      }
      out.append(entry)
    }
    return out
  }

  /// Writes the list as kube-apiserver stores it: sorted by operation (`Apply` first), time, manager,
  /// apiVersion, subresource (`managedfields.go` `sortEncodedManagedFields`). Built-in kinds keep
  /// the Go struct's member order; custom resources, stored unstructured, sort members by name.
  public static func encodeList(_ entries: [ManagedFieldsEntry], sortedMembers: Bool) -> JSONValue {
    let sorted = entries.sorted { p, q in
      if p.operation != q.operation { return p.operation == .apply }
      if (p.time ?? "") != (q.time ?? "") { return (p.time ?? "") < (q.time ?? "") }
      if p.manager != q.manager { return p.manager < q.manager }
      if p.apiVersion != q.apiVersion { return p.apiVersion < q.apiVersion }
      return (p.subresource ?? "") < (q.subresource ?? "")
    }
    return .array(sorted.map { $0.json(sortedMembers: sortedMembers) })
  }

  /// The entry as JSON; see `encodeList`.
  public func json(sortedMembers: Bool) -> JSONValue {
    var pairs: [(String, JSONValue)] = [("manager", .string(manager)), ("operation", .string(operation.rawValue)),
                                       ("apiVersion", .string(apiVersion))]
    if let time { pairs.append(("time", .string(time))) }
    pairs.append(("fieldsType", "FieldsV1"))
    pairs.append(("fieldsV1", encodedFields ?? fields.fieldsV1))
    if let subresource { pairs.append(("subresource", .string(subresource))) }
    if sortedMembers { pairs.sort { $0.0 < $1.0 } }
    return .object(JSONObject(pairs))
  }
}
