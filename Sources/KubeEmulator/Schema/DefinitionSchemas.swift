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

  func prune(_ object: JSONValue, definition: String, unknown: inout [String], typeErrors: inout [String]) -> JSONValue {
    guard let schema = definitions[definition] else { return object }
    return prune(object, schema: schema, name: definition, path: "", unknown: &unknown, typeErrors: &typeErrors, depth: 0)
  }

  private func prune(_ value: JSONValue, schema raw: JSONValue, name: String?, path: String, unknown: inout [String],
                     typeErrors: inout [String], depth: Int) -> JSONValue {
    guard depth < 64 else { return value }
    let (schema, refName) = resolve(raw)
    let defName = refName ?? name
    if let defName, DefinitionSchemas.numberOrString.contains(defName) {
      switch value {
      case .string, .number, .null: return value
      default:
        typeErrors.append("json: cannot unmarshal \(goType(value)) into Go struct field \(goField(defName, path)) of type string")
        return value
      }
    }
    if value == .null { return value }
    let type = schema["type"]?.stringValue
    switch value {
    case .object(var o):
      if let type, type != "object" {
        typeErrors.append("json: cannot unmarshal object into Go struct field \(goField(defName, path)) of type \(goTypeName(schema))")
        return value
      }
      if let props = schema["properties"]?.objectValue {
        for key in o.keys {
          let childPath = path.isEmpty ? key : "\(path).\(key)"
          if let p = props[key] {
            o[key] = prune(o[key] ?? .null, schema: p, name: nil, path: childPath, unknown: &unknown, typeErrors: &typeErrors, depth: depth + 1)
          } else if path.isEmpty && (key == "apiVersion" || key == "kind") {
            continue
          } else {
            unknown.append(childPath)
            o.removeValue(forKey: key)
          }
        }
      } else if let additional = schema["additionalProperties"], case .object = additional {
        for key in o.keys {
          o[key] = prune(o[key] ?? .null, schema: additional, name: nil, path: "\(path).\(key)", unknown: &unknown, typeErrors: &typeErrors, depth: depth + 1)
        }
      }
      return .object(o)
    case .array(var a):
      if let type, type != "array" {
        typeErrors.append("json: cannot unmarshal array into Go struct field \(goField(defName, path)) of type \(goTypeName(schema))")
        return value
      }
      if let items = schema["items"] {
        for i in a.indices {
          a[i] = prune(a[i], schema: items, name: nil, path: "\(path)[\(i)]", unknown: &unknown, typeErrors: &typeErrors, depth: depth + 1)
        }
      }
      return .array(a)
    default:
      if let type, !scalarMatches(value, type: type, format: schema["format"]?.stringValue) {
        typeErrors.append("json: cannot unmarshal \(goType(value)) into Go struct field \(goField(defName, path)) of type \(goTypeName(schema))")
      }
      return value
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
