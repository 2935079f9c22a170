import KubeCore
import NIOConcurrencyHelpers

/// A CRD version's `openAPIV3Schema`, used as kube-apiserver uses it for custom resources: prune
/// unknown fields, apply defaults, validate.
///
/// Messages follow k8s.io/kube-openapi pkg/validation/errors and apiextensions-apiserver's
/// conversion of them into field errors, e.g. `spec.prop2: Invalid value: "boolean": spec.prop2 in
/// body must be of type array: "boolean"` and `spec.engine.precision: Unsupported value: "fp8":
/// supported values: "fp32", "fp16"`.
public struct StructuralSchema: Sendable {
  public let root: JSONValue

  /// Whether any node carries `x-kubernetes-validations` (then the "rules not checked" error applies).
  let hasValidationRules: Bool
  /// Those rules, compiled once for every object validated against this schema.
  let compiledRules: CELRules.CompiledRules

  public init(_ root: JSONValue) {
    self.root = root
    hasValidationRules = StructuralSchema.containsRules(root)
    compiledRules = CELRules.CompiledRules(hasValidationRules ? root : [:])
  }

  static func containsRules(_ schema: JSONValue) -> Bool {
    switch schema {
    case .object(let o):
      if o["x-kubernetes-validations"]?.arrayValue?.isEmpty == false { return true }
      return o.values.contains(where: containsRules)
    case .array(let a):
      return a.contains(where: containsRules)
    default:
      return false
    }
  }

  /// Fields every object has at its root whatever the schema says (apiextensions-apiserver
  /// pkg/apiserver/schema/objectmeta).
  static let metadataFields: Set<String> = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
    "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
    "ownerReferences", "finalizers", "managedFields"]

  // MARK: pruning

  /// Drops fields the schema does not know (unless `x-kubernetes-preserve-unknown-fields`), recording
  /// their paths (`spec.foo`, `spec.items[0].bar`). Parts that need no change keep their storage.
  public func prune(_ object: JSONValue, unknown: inout [String]) -> JSONValue {
    guard case .object(let original) = object else { return object }
    var o = original
    var changed = false
    for (key, member) in original {
      switch key {
      case "apiVersion", "kind": continue
      case "metadata":
        if case .object(var meta) = member {
          let extra = meta.keys.filter { !StructuralSchema.metadataFields.contains($0) }
          guard !extra.isEmpty else { continue }
          for k in extra {
            unknown.append("metadata.\(k)")
            meta.removeValue(forKey: k)
          }
          o["metadata"] = .object(meta)
          changed = true
        }
      default:
        if let prop = root["properties"]?[key] {
          if let v = StructuralSchema.pruned(member, schema: prop, path: { key }, unknown: &unknown) {
            o[key] = v
            changed = true
          }
        } else if root["x-kubernetes-preserve-unknown-fields"]?.boolValue != true {
          unknown.append(key)
          o.removeValue(forKey: key)
          changed = true
        }
      }
    }
    return changed ? .object(o) : object
  }

  /// The pruned value, or nil when `value` needs no change. `path` is built only for an unknown field.
  static func pruned(_ value: JSONValue, schema: JSONValue, path: () -> String, unknown: inout [String]) -> JSONValue? {
    switch value {
    case .object(let original):
      let preserve = schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true
      var o = original
      var changed = false
      if let props = schema["properties"]?.objectValue {
        for (key, member) in original {
          if let p = props[key] {
            if let v = pruned(member, schema: p, path: { "\(path()).\(key)" }, unknown: &unknown) { o[key] = v; changed = true }
          } else if schema["x-kubernetes-embedded-resource"]?.boolValue == true && ["apiVersion", "kind", "metadata"].contains(key) {
            continue   // embedded objects keep apiVersion/kind/metadata
          } else if !preserve {
            unknown.append("\(path()).\(key)")
            o.removeValue(forKey: key)
            changed = true
          }
        }
      } else if let additional = schema["additionalProperties"], case .object = additional {
        for (key, member) in original {
          if let v = pruned(member, schema: additional, path: { "\(path()).\(key)" }, unknown: &unknown) { o[key] = v; changed = true }
        }
      }
      return changed ? .object(o) : nil
    case .array(let original):
      guard let items = schema["items"] else { return nil }
      return JSONValue.mappingChanged(original) { i, item in pruned(item, schema: items, path: { "\(path())[\(i)]" }, unknown: &unknown) }
    default:
      return nil
    }
  }

  // MARK: defaulting

  /// Applies `default`s for absent properties, recursively (apiextensions-apiserver pkg/apiserver/schema/defaulting).
  /// Parts that get no default keep their storage.
  public func applyDefaults(_ object: inout JSONValue) {
    if let v = StructuralSchema.defaulted(object, schema: root) { object = v }
  }

  /// `value` with defaults applied, or nil when no default applies anywhere inside it.
  static func defaulted(_ value: JSONValue, schema: JSONValue) -> JSONValue? {
    switch value {
    case .object(let original):
      var o = original
      var changed = false
      if let props = schema["properties"]?.objectValue {
        for (key, p) in props {
          var member = o[key]
          if member == nil || (member == .null && p["nullable"]?.boolValue != true), let d = p["default"] {
            member = d
            o[key] = d
            changed = true
          }
          if let m = member, let v = defaulted(m, schema: p) { o[key] = v; changed = true }
        }
      } else if let additional = schema["additionalProperties"], case .object = additional {
        for (key, member) in original {
          if let v = defaulted(member, schema: additional) { o[key] = v; changed = true }
        }
      }
      return changed ? .object(o) : nil
    case .array(let original):
      guard let items = schema["items"] else { return nil }
      return JSONValue.mappingChanged(original) { _, item in defaulted(item, schema: items) }
    default:
      return nil
    }
  }

  // MARK: validation

  /// Validates an object against the schema; the root's apiVersion/kind/metadata are not the schema's.
  ///
  /// `old` is the stored object on updates (nil on create): transition rules (`oldSelf`) need it. CEL
  /// rules run only when no value failed a type, enum, required or size check, as upstream's
  /// `hasBlockingErr` (apiextensions-apiserver pkg/registry/customresource/strategy.go).
  public func validate(_ object: JSONValue, old: JSONValue?) -> [FieldError] {
    var errors: [FieldError] = []
    guard case .object(let o) = object else { return errors }
    for (key, value) in o where !["apiVersion", "kind", "metadata"].contains(key) {
      if let p = root["properties"]?[key] { StructuralSchema.validate(value, schema: p, path: key, errors: &errors) }
    }
    for req in root["required"]?.arrayValue ?? [] {
      if let r = req.stringValue, o[r] == nil, r != "metadata", r != "apiVersion", r != "kind" {
        errors.append(FieldError(.required, field: r))
      }
    }
    if !hasValidationRules { return errors }
    if errors.contains(where: { [.typeInvalid, .notSupported, .required, .tooLong, .tooMany].contains($0.kind) }) {
      errors.append(FieldError(.invalid, field: "<nil>", value: "\"null\"", detail: "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation"))
    } else {
      errors += CELRules.validate(object, old: old, schema: root, compiled: compiledRules)
    }
    return errors
  }

  static func typeMatches(_ value: JSONValue, _ type: String) -> Bool {
    switch (type, value) {
    case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool): return true
    case ("number", .number): return true
    case ("integer", .number(let n)): return n.isInteger || (n.double.map { $0 == $0.rounded() } ?? false)
    default: return false
    }
  }

  static func validate(_ value: JSONValue, schema: JSONValue, path: String, errors: inout [FieldError]) {
    if value == .null {
      if schema["nullable"]?.boolValue == true { return }
      if let type = schema["type"]?.stringValue {
        errors.append(FieldError(.typeInvalid, field: path, value: "\"null\"", detail: "\(path) in body must be of type \(type): \"null\""))
      }
      return
    }
    if schema["x-kubernetes-int-or-string"]?.boolValue == true {
      switch value {
      case .string: break
      case .number(let n) where n.isInteger: break
      default:
        errors.append(FieldError(.typeInvalid, field: path, value: "\"\(value.typeName)\"", detail: "\(path) in body must be of type integer,string: \"\(value.typeName)\""))
        return
      }
    } else if let type = schema["type"]?.stringValue, !typeMatches(value, type) {
      errors.append(FieldError(.typeInvalid, field: path, value: "\"\(value.typeName)\"", detail: "\(path) in body must be of type \(type): \"\(value.typeName)\""))
      return
    }
    if let options = schema["enum"]?.arrayValue, !options.contains(value) {
      errors.append(FieldError(.notSupported, field: path, value: FieldError.printed(value),
                               detail: "supported values: " + options.map { FieldError.printed($0) }.joined(separator: ", ")))
    }
    switch value {
    case .number(let n):
      let d = n.double ?? 0
      if let min = schema["minimum"]?.doubleValue {
        let exclusive = schema["exclusiveMinimum"]?.boolValue == true
        if exclusive ? d <= min : d < min {
          errors.append(FieldError(.invalid, field: path, value: n.literal, detail: "\(path) in body should be greater than \(exclusive ? "" : "or equal to ")\(schema["minimum"]!.numberValue!.literal)"))
        }
      }
      if let max = schema["maximum"]?.doubleValue {
        let exclusive = schema["exclusiveMaximum"]?.boolValue == true
        if exclusive ? d >= max : d > max {
          errors.append(FieldError(.invalid, field: path, value: n.literal, detail: "\(path) in body should be less than \(exclusive ? "" : "or equal to ")\(schema["maximum"]!.numberValue!.literal)"))
        }
      }
      if let m = schema["multipleOf"]?.doubleValue, m > 0, (d / m).rounded() != d / m {
        errors.append(FieldError(.invalid, field: path, value: n.literal, detail: "\(path) in body should be a multiple of \(schema["multipleOf"]!.numberValue!.literal)"))
      }
    case .string(let s):
      if let min = schema["minLength"]?.intValue, s.count < min {
        errors.append(FieldError(.invalid, field: path, value: "\"\(s)\"", detail: "\(path) in body should be at least \(min) chars long"))
      }
      if let max = schema["maxLength"]?.intValue, s.count > max {
        errors.append(FieldError(.tooLong, field: path, value: nil, detail: "may not be more than \(max) bytes"))
      }
      if let pattern = schema["pattern"]?.stringValue, !PatternCache.matches(pattern, s) {
        errors.append(FieldError(.invalid, field: path, value: "\"\(s)\"", detail: "\(path) in body should match '\(pattern)'"))
      }
      if let format = schema["format"]?.stringValue, !FormatCheck.matches(format, s) {
        errors.append(FieldError(.invalid, field: path, value: "\"\(s)\"", detail: "\(path) in body must be of type \(format): \"\(s)\""))
      }
    case .array(let a):
      if let min = schema["minItems"]?.intValue, a.count < min {
        errors.append(FieldError(.invalid, field: path, value: String(a.count), detail: "\(path) in body should have at least \(min) items"))
      }
      if let max = schema["maxItems"]?.intValue, a.count > max {
        errors.append(FieldError(.tooMany, field: path, value: nil, detail: "\(a.count): must have at most \(max) items"))
      }
      let listType = schema["x-kubernetes-list-type"]?.stringValue
      if listType == "set" || schema["uniqueItems"]?.boolValue == true {
        var seen: [JSONValue] = []
        for (i, item) in a.enumerated() {
          if seen.contains(item) { errors.append(FieldError(.duplicate, field: "\(path)[\(i)]", value: FieldError.printed(item))) }
          seen.append(item)
        }
      }
      if listType == "map", let keys = schema["x-kubernetes-list-map-keys"]?.arrayValue?.compactMap(\.stringValue) {
        var seen: [[JSONValue?]] = []
        for (i, item) in a.enumerated() {
          let k = keys.map { item[$0] }
          if seen.contains(where: { $0 == k }) {
            let printed = "{" + zip(keys, k).map { "\"\($0.0)\":\($0.1.map { FieldError.printed($0) } ?? "null")" }.joined(separator: ",") + "}"
            errors.append(FieldError(.duplicate, field: "\(path)[\(i)]", value: printed))
          }
          seen.append(k)
        }
      }
      if let items = schema["items"] {
        for (i, item) in a.enumerated() { validate(item, schema: items, path: "\(path)[\(i)]", errors: &errors) }
      }
    case .object(let o):
      if let props = schema["properties"]?.objectValue {
        for (key, v) in o { if let p = props[key] { validate(v, schema: p, path: "\(path).\(key)", errors: &errors) } }
      } else if let additional = schema["additionalProperties"], case .object = additional {
        for (key, v) in o { validate(v, schema: additional, path: "\(path).\(key)", errors: &errors) }
      }
      for req in schema["required"]?.arrayValue ?? [] {
        if let r = req.stringValue, o[r] == nil { errors.append(FieldError(.required, field: "\(path).\(r)")) }
      }
      if let min = schema["minProperties"]?.intValue, o.count < min {
        errors.append(FieldError(.invalid, field: path, value: String(o.count), detail: "\(path) in body should have at least \(min) properties"))
      }
      if let max = schema["maxProperties"]?.intValue, o.count > max {
        errors.append(FieldError(.tooMany, field: path, value: nil, detail: "\(o.count): must have at most \(max) items"))
      }
    default:
      break
    }
    for (i, sub) in (schema["allOf"]?.arrayValue ?? []).enumerated() {
      _ = i
      validate(value, schema: sub, path: path, errors: &errors)
    }
    if let oneOf = schema["oneOf"]?.arrayValue, !oneOf.isEmpty {
      let passing = oneOf.filter { sub in var e: [FieldError] = []; validate(value, schema: sub, path: path, errors: &e); return e.isEmpty }.count
      if passing != 1 {
        errors.append(FieldError(.invalid, field: path, value: FieldError.printed(value), detail: "\(path) in body must validate one and only one schema (oneOf)"))
      }
    }
    if let anyOf = schema["anyOf"]?.arrayValue, !anyOf.isEmpty {
      let passing = anyOf.contains { sub in var e: [FieldError] = []; validate(value, schema: sub, path: path, errors: &e); return e.isEmpty }
      if !passing {
        errors.append(FieldError(.invalid, field: path, value: FieldError.printed(value), detail: "\(path) in body must validate at least one schema (anyOf)"))
      }
    }
    if let not = schema["not"] {
      var e: [FieldError] = []
      validate(value, schema: not, path: path, errors: &e)
      if e.isEmpty { errors.append(FieldError(.invalid, field: path, value: FieldError.printed(value), detail: "\(path) in body should not be valid against schema (not)")) }
    }
  }

  /// Structural-schema rules a CRD's schema must meet (apiextensions-apiserver pkg/apiserver/schema/validation.go):
  /// every node specifies a type (or int-or-string / preserve-unknown-fields), and the root is an object.
  static func checkStructural(_ schema: JSONValue, path: String) -> [FieldError] {
    var errors: [FieldError] = []
    if schema["type"]?.stringValue != "object" {
      errors.append(FieldError(.invalid, field: "\(path).type", value: "\"\(schema["type"]?.stringValue ?? "")\"", detail: "must be object at the root"))
    }
    func walk(_ s: JSONValue, _ p: String) {
      let hasType = s["type"]?.stringValue.map { !$0.isEmpty } ?? false
      if !hasType && s["x-kubernetes-int-or-string"]?.boolValue != true && s["x-kubernetes-preserve-unknown-fields"]?.boolValue != true {
        errors.append(FieldError(.required, field: "\(p).type", detail: "must not be empty for specified object fields"))
      }
      for (k, v) in s["properties"]?.objectValue ?? JSONObject() { walk(v, "\(p).properties[\(k)]") }
      if let items = s["items"], case .object = items { walk(items, "\(p).items") }
      if let a = s["additionalProperties"], case .object = a { walk(a, "\(p).additionalProperties") }
    }
    for (k, v) in schema["properties"]?.objectValue ?? JSONObject() where k != "metadata" { walk(v, "\(path).properties[\(k)]") }
    errors += CELRules.checkCompiles(schema, path: path)
    return errors
  }
}

/// Regular expressions for schema `pattern`s, compiled once.
enum PatternCache {
  nonisolated(unsafe) private static var cache: [String: Regex<AnyRegexOutput>] = [:]
  /// Recent answers: every write of an object validates its unchanged strings again (a status
  /// write, the whole spec), and a `Regex` match costs far more than a look-up. Emptied when full.
  nonisolated(unsafe) private static var answers: [Question: Bool] = [:]
  private static let answersLimit = 4096
  private static let lock = NIOLock()

  private struct Question: Hashable {
    var pattern: String, value: String
  }

  static func matches(_ pattern: String, _ s: String) -> Bool {
    let question = Question(pattern: pattern, value: s)
    let (regex, known): (Regex<AnyRegexOutput>?, Bool?) = lock.withLock {
      if let answer = answers[question] { return (nil, answer) }
      if let r = cache[pattern] { return (r, nil) }
      guard let r = try? Regex(pattern) else { return (nil, true) }   // an uncompilable pattern is refused at CRD creation
      cache[pattern] = r
      return (r, nil)
    }
    if let known { return known }
    guard let regex else { return true }
    let answer = (try? regex.firstMatch(in: s)) != nil
    lock.withLock {
      if answers.count >= answersLimit { answers.removeAll(keepingCapacity: true) }
      answers[question] = answer
    }
    return answer
  }
}

/// Formats OpenAPI names that kube-apiserver checks (k8s.io/kube-openapi pkg/validation/strfmt).
enum FormatCheck {
  static func matches(_ format: String, _ s: String) -> Bool {
    switch format {
    case "date-time": return RFC3339.parse(s) != nil
    case "byte": return s.count % 4 == 0
    default: return true
    }
  }
}

extension JSONValue {
  /// The array with `transform`'s replacements (nil: keep the item), or nil when it replaced none:
  /// an unchanged array keeps its storage.
  static func mappingChanged(_ items: [JSONValue], _ transform: (Int, JSONValue) -> JSONValue?) -> JSONValue? {
    var out = items
    var changed = false
    for i in items.indices {
      if let v = transform(i, items[i]) { out[i] = v; changed = true }
    }
    return changed ? .array(out) : nil
  }
}
