import KubeCore

/// `x-kubernetes-validations` (CEL) rules. The evaluator lands with the CRD issue; until then a
/// schema that carries rules is refused at CRD creation rather than silently not enforced.
enum CELRules {
  static func validate(_ object: JSONValue, schema: JSONValue) -> [FieldError] { [] }

  static func checkCompiles(_ schema: JSONValue, path: String) -> [FieldError] {
    var errors: [FieldError] = []
    func walk(_ s: JSONValue, _ p: String) {
      if let rules = s["x-kubernetes-validations"]?.arrayValue, !rules.isEmpty {
        errors.append(FieldError(.invalid, field: "\(p).x-kubernetes-validations", value: "\"array\"",
                                 detail: "CEL validation rules are not supported by this emulator version"))
      }
      for (k, v) in s["properties"]?.objectValue ?? JSONObject() { walk(v, "\(p).properties[\(k)]") }
      if let items = s["items"], case .object = items { walk(items, "\(p).items") }
      if let a = s["additionalProperties"], case .object = a { walk(a, "\(p).additionalProperties") }
    }
    walk(schema, path)
    return errors
  }
}
