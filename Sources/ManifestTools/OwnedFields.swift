import KubeCore

/// The part of a live object one field manager owns, read through its `managedFields` entry.
///
/// `edgeml diff` compares only what the controller would apply: a live Deployment also carries
/// what the API server, the Deployment controller and the kubelet wrote (`status`, defaults, the
/// revision annotation), and those must not show as differences. The entry's `fieldsV1` names the
/// manager's fields as server-side apply records them (k8s.io/apimachinery `pkg/apis/meta/v1/types.go`,
/// `FieldsV1`: a trie whose keys are `f:<field>`, `k:<list item key as JSON>`, `v:<set value as
/// JSON>` and `i:<index>`, with `.` marking the node itself; structured-merge-diff
/// `fieldpath/serialize.go`).
enum OwnedFields {
  /// `object` cut down to the fields `manager` applied (its `Apply` entry for the main resource,
  /// not a subresource), plus `apiVersion`, `kind` and `metadata.name`/`namespace`. nil when the
  /// manager has no such entry.
  static func extract(_ object: JSONValue, manager: String) -> JSONValue? {
    let entry = (object[path: ["metadata", "managedFields"]]?.arrayValue ?? []).first {
      $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == "Apply"
        && ($0["subresource"]?.stringValue ?? "").isEmpty
    }
    guard let fields = entry?["fieldsV1"]?.objectValue else { return nil }
    var out = extract(object, fields: fields) ?? [:]
    identify(&out, from: object)
    return out
  }

  /// `object` cut down to the members `shape` has (recursively through objects; a list, a scalar
  /// or what an empty object stands for is taken whole): for an object no manager entry describes.
  static func shaped(_ object: JSONValue, like shape: JSONValue) -> JSONValue {
    guard let members = shape.objectValue, !members.isEmpty, let live = object.objectValue else { return object }
    var out = JSONObject()
    for (key, sub) in members {
      if let value = live[key] { out[key] = shaped(value, like: sub) }
    }
    return .object(out)
  }

  /// `value` without members whose value is an empty object, at any depth.
  ///
  /// Server-side apply records no field for an empty map it cannot tell from an absent one (an
  /// `emptyDir: {}` volume source: the emulator's `FieldSet+Object.swift`, "an empty granular map
  /// adds nothing"), so the owned part of a live object never holds one while the plan does: both
  /// sides drop them before they are compared.
  static func withoutEmptyObjects(_ value: JSONValue) -> JSONValue {
    switch value {
    case .object(let members):
      var out = JSONObject()
      for (key, member) in members {
        let kept = withoutEmptyObjects(member)
        if kept.objectValue?.isEmpty != true { out[key] = kept }
      }
      return .object(out)
    case .array(let items):
      return .array(items.map(withoutEmptyObjects))
    default:
      return value
    }
  }

  static func identify(_ out: inout JSONValue, from object: JSONValue) {
    out["apiVersion"] = object["apiVersion"]
    out["kind"] = object["kind"]
    out[path: ["metadata", "name"]] = object[path: ["metadata", "name"]]
    if let namespace = object[path: ["metadata", "namespace"]] { out[path: ["metadata", "namespace"]] = namespace }
  }

  /// The members of `value` that `fields` names; a node without children (`{}` or only `.`) is
  /// taken whole.
  static func extract(_ value: JSONValue, fields: JSONObject) -> JSONValue? {
    let children = fields.filter { $0.0 != "." }
    if children.isEmpty { return value }
    switch value {
    case .object(let members):
      var out = JSONObject()
      for (key, sub) in children where key.hasPrefix("f:") {
        let name = String(key.dropFirst(2))
        guard let member = members[name], let kept = extract(member, fields: sub.objectValue ?? [:]) else { continue }
        out[name] = kept
      }
      return .object(out)
    case .array(let items):
      var out: [JSONValue] = []
      for (index, item) in items.enumerated() {
        for (key, sub) in children where names(key, item: item, index: index) {
          if let kept = extract(item, fields: sub.objectValue ?? [:]) { out.append(kept) }
          break
        }
      }
      return .array(out)
    default:
      return value
    }
  }

  /// Whether a `k:`, `v:` or `i:` key names this list item.
  static func names(_ key: String, item: JSONValue, index: Int) -> Bool {
    let rest = String(key.dropFirst(2))
    if key.hasPrefix("i:") { return Int(rest) == index }
    guard let parsed = try? JSONValue(parsing: rest) else { return false }
    if key.hasPrefix("v:") { return parsed == item }
    guard key.hasPrefix("k:"), let keyFields = parsed.objectValue else { return false }
    return keyFields.allSatisfy { item[$0.0] == $0.1 }
  }
}
