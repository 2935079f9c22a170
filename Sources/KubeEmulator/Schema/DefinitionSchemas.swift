import KubeCore

/// Prunes and type-checks built-in objects against the upstream OpenAPI v2 definitions, as the typed
/// decoding in kube-apiserver does: unknown fields are dropped (and reported for `fieldValidation`),
/// values of the wrong JSON type are a 400 with Go's unmarshal wording.
final class DefinitionSchemas: Sendable {
  /// By name, hashed: the swagger document has some 700 definitions and every write resolves a
  /// `$ref` per nested object.
  let definitions: [String: JSONValue]

  init(definitions: JSONObject) {
    var byName: [String: JSONValue] = [:]
    byName.reserveCapacity(definitions.count)
    for (k, v) in definitions { byName[k] = v }
    self.definitions = byName
  }

  /// Definitions that accept any JSON (RawExtension, JSON, JSONSchemaProps' free-form members) or
  /// both numbers and strings (Quantity, IntOrString).
  static let numberOrString: Set<String> = ["io.k8s.apimachinery.pkg.api.resource.Quantity", "io.k8s.apimachinery.pkg.util.intstr.IntOrString"]

  func resolve(_ schema: JSONValue) -> (JSONValue, String?) {
    var s = schema
    var name: String? = nil
    for _ in 0..<8 {
      guard let ref = s["$ref"]?.stringValue else { break }
      let n = String(ref.dropFirst("#/definitions/".count))
      name = n
      guard let def = definitions[n] else { break }
      s = def
    }
    return (s, name)
  }

  /// Drops what decoding into the Go types would drop (unknown fields) and records the fields whose
  /// JSON type the Go types cannot hold.
  ///
  /// - Parameter stored: the object as stored before this write. A subtree equal to the stored one
  ///   was pruned when it was stored (built-in schemas never change), so it is neither walked nor
  ///   copied: a status step on a large object costs a walk of what changed. Parts that need no
  ///   change keep their storage, which also lets later comparisons with the stored object stop at
  ///   the first shared subtree.
  func prune(_ object: JSONValue, definition: String, stored: JSONValue? = nil, unknown: inout [String],
             typeErrors: inout [String]) -> JSONValue {
    guard let schema = definitions[definition] else { return object }
    return pruned(object, stored: stored, schema: schema, name: definition, path: { "" }, unknown: &unknown,
                  typeErrors: &typeErrors, depth: 0) ?? object
  }

  /// The pruned value, or nil when `value` needs no change. `path` is built only for a problem.
  private func pruned(_ value: JSONValue, stored: JSONValue?, schema raw: JSONValue, name: String?, path: () -> String,
                      unknown: inout [String], typeErrors: inout [String], depth: Int) -> JSONValue? {
    guard depth < 64 else { return nil }
    if let stored, stored == value { return nil }
    let (schema, refName) = resolve(raw)
    let defName = refName ?? name
    if let defName, DefinitionSchemas.numberOrString.contains(defName) {
      switch value {
      case .string, .number, .null: return nil
      default:
        typeErrors.append("json: cannot unmarshal \(goType(value)) into Go struct field \(goField(defName, path())) of type string")
        return nil
      }
    }
    if value == .null { return nil }
    let type = schema["type"]?.stringValue
    func child(_ parent: String, _ key: String) -> String { parent.isEmpty ? key : "\(parent).\(key)" }
    switch value {
    case .object(let original):
      if let type, type != "object" {
        typeErrors.append("json: cannot unmarshal object into Go struct field \(goField(defName, path())) of type \(goTypeName(schema))")
        return nil
      }
      let storedObject = stored?.objectValue
      var o = original
      var changed = false
      if let props = schema["properties"]?.objectValue {
        for (key, member) in original {
          if let p = props[key] {
            if let v = pruned(member, stored: storedObject?[key], schema: p, name: nil, path: { child(path(), key) },
                              unknown: &unknown, typeErrors: &typeErrors, depth: depth + 1) {
              o[key] = v
              changed = true
            }
          } else if depth == 0 && (key == "apiVersion" || key == "kind") {
            continue
          } else {
            unknown.append(child(path(), key))
            o.removeValue(forKey: key)
            changed = true
          }
        }
      } else if let additional = schema["additionalProperties"], case .object = additional {
        for (key, member) in original {
          if let v = pruned(member, stored: storedObject?[key], schema: additional, name: nil, path: { "\(path()).\(key)" },
                            unknown: &unknown, typeErrors: &typeErrors, depth: depth + 1) {
            o[key] = v
            changed = true
          }
        }
      }
      return changed ? .object(o) : nil
    case .array(let original):
      if let type, type != "array" {
        typeErrors.append("json: cannot unmarshal array into Go struct field \(goField(defName, path())) of type \(goTypeName(schema))")
        return nil
      }
      guard let items = schema["items"] else { return nil }
      let storedItems = stored?.arrayValue
      return JSONValue.mappingChanged(original) { i, item in
        pruned(item, stored: storedItems.flatMap { i < $0.count ? $0[i] : nil }, schema: items, name: nil,
               path: { "\(path())[\(i)]" }, unknown: &unknown, typeErrors: &typeErrors, depth: depth + 1)
      }
    default:
      if let type, !scalarMatches(value, type: type, format: schema["format"]?.stringValue) {
        typeErrors.append("json: cannot unmarshal \(goType(value)) into Go struct field \(goField(defName, path())) of type \(goTypeName(schema))")
      }
      return nil
    }
  }

  private func scalarMatches(_ value: JSONValue, type: String, format: String?) -> Bool {
    if format == "int-or-string" { if case .string = value { return true }; if case .number = value { return true } }
    switch (type, value) {
    case ("string", .string), ("boolean", .bool), ("number", .number): return true
    case ("integer", .number(let n)): return n.isInteger
    case ("object", _), ("array", _): return false
    default: return false
    }
  }

  private func goType(_ v: JSONValue) -> String {
    switch v {
    case .string: return "string"
    case .number: return "number"
    case .bool: return "bool"
    case .array: return "array"
    case .object: return "object"
    case .null: return "null"
    }
  }

  private func goTypeName(_ schema: JSONValue) -> String {
    switch (schema["type"]?.stringValue ?? "", schema["format"]?.stringValue ?? "") {
    case ("integer", "int32"): return "int32"
    case ("integer", _): return "int64"
    case ("number", _): return "float64"
    case ("boolean", _): return "bool"
    case ("string", _): return "string"
    case ("array", _): return "[]"
    default: return "struct"
    }
  }

  private func goField(_ defName: String?, _ path: String) -> String {
    let short = defName.map { String($0.split(separator: ".").last ?? "") } ?? ""
    return short.isEmpty ? path : "\(short).\(path)"
  }
}
