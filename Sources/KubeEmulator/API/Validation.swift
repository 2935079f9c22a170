import KubeCore

/// Validation kube-apiserver applies to every object (names, metadata) and the few built-in rules
/// users meet most (k8s.io/apimachinery/pkg/api/validation, pkg/apis/apps/validation).
enum Validation {
  static let dns1123LabelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
  static let dns1123SubdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
  static let dns1035LabelMessage = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"

  static func isDNS1123Label(_ s: String) -> Bool {
    guard !s.isEmpty, s.count <= 63 else { return false }
    let u = Array(s.utf8)
    func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
    guard alnum(u[0]), alnum(u[u.count - 1]) else { return false }
    return u.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
  }

  static func isDNS1123Subdomain(_ s: String) -> Bool {
    guard !s.isEmpty, s.count <= 253 else { return false }
    return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
      let u = Array(part.utf8)
      guard !u.isEmpty else { return false }
      func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
      return alnum(u[0]) && alnum(u[u.count - 1]) && u.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }
  }

  static func isDNS1035Label(_ s: String) -> Bool {
    guard isDNS1123Label(s), let first = s.utf8.first else { return false }
    return first >= 97 && first <= 122
  }

  /// The object-meta checks every resource shares (`ValidateObjectMeta`), with the name in the
  /// resource's format.
  static func validateObjectMeta(_ object: JSONValue, nameRule: NameRule) -> [FieldError] {
    var errors: [FieldError] = []
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    if name.isEmpty {
      errors.append(FieldError(.required, field: "metadata.name", detail: "name or generateName is required"))
    } else if let detail = nameProblem(name, nameRule) {
      errors.append(FieldError(.invalid, field: "metadata.name", value: "\"\(name)\"", detail: detail))
    }
    for (k, v) in object[path: ["metadata", "labels"]]?.objectValue ?? JSONObject() {
      if v.stringValue == nil {
        errors.append(FieldError(.invalid, field: "metadata.labels", value: FieldError.printed(v), detail: "label values must be strings"))
      } else if let s = v.stringValue, s.count > 63 {
        errors.append(FieldError(.invalid, field: "metadata.labels", value: "\"\(s)\"", detail: "must be no more than 63 characters"))
      }
      if k.isEmpty { errors.append(FieldError(.invalid, field: "metadata.labels", value: "\"\"", detail: "name part must be non-empty")) }
    }
    if case .object(let annotations)? = object[path: ["metadata", "annotations"]], annotationsTooLarge(annotations) {
      errors.append(FieldError(.tooLong, field: "metadata.annotations", detail: "must have at most \(totalAnnotationSizeLimit) bytes"))
    }
    return errors
  }

  /// What is wrong with `name` in the format `rule` asks for; nil when it is valid.
  static func nameProblem(_ name: String, _ rule: NameRule) -> String? {
    switch rule {
    case .dns1035Label:
      return isDNS1035Label(name) ? nil : dns1035LabelMessage
    case .dns1123Label:
      return isDNS1123Label(name) ? nil : (name.count > 63 ? "must be no more than 63 characters" : dns1123LabelMessage)
    case .dns1123Subdomain:
      return isDNS1123Subdomain(name) ? nil : (name.count > 253 ? "must be no more than 253 characters" : dns1123SubdomainMessage)
    case .pathSegment:
      // apimachinery pkg/api/validation/path/name.go `IsValidPathSegmentName`.
      if name == "." || name == ".." { return "may not be '\(name)'" }
      for illegal in ["/", "%"] where name.contains(illegal) { return "may not contain '\(illegal)'" }
      return nil
    }
  }

  /// The most bytes all annotations of an object may hold, keys and values together
  /// (apimachinery pkg/api/validation/objectmeta.go `TotalAnnotationSizeLimitB`, 256 KiB).
  static let totalAnnotationSizeLimit = 256 * 1024

  /// objectmeta.go `ValidateAnnotationsSize`: the summed UTF-8 lengths of keys and values over the
  /// limit (`ValidateAnnotations` then reports `field.TooLong(fldPath, "", TotalAnnotationSizeLimitB)`).
  /// Stops counting at the limit; UTF-8 counts of native strings are O(1).
  static func annotationsTooLarge(_ annotations: JSONObject) -> Bool {
    var total = 0
    for (key, value) in annotations {
      total += key.utf8.count + (value.stringValue?.utf8.count ?? 0)
      if total > totalAnnotationSizeLimit { return true }
    }
    return false
  }

  static func workload(_ object: JSONValue) -> [FieldError] {
    var errors: [FieldError] = []
    guard let selectorJSON = object[path: ["spec", "selector"]] else {
      return [FieldError(.required, field: "spec.selector")]
    }
    if let replicas = object[path: ["spec", "replicas"]]?.intValue, replicas < 0 {
      errors.append(FieldError(.invalid, field: "spec.replicas", value: String(replicas), detail: "must be greater than or equal to 0"))
    }
    let labels = labelMap(["metadata": ["labels": object[path: ["spec", "template", "metadata", "labels"]] ?? [:]]])
    if let selector = try? LabelSelector(json: selectorJSON) {
      if selector.isEmpty {
        errors.append(FieldError(.invalid, field: "spec.selector", value: "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}", detail: "empty selector is invalid for deployment"))
      } else if !selector.matches(labels) {
        let printed = "map[string]string{" + labels.keys.sorted().map { "\"\($0)\":\"\(labels[$0] ?? "")\"" }.joined(separator: ", ") + "}"
        errors.append(FieldError(.invalid, field: "spec.template.metadata.labels", value: printed, detail: "`selector` does not match template `labels`"))
      }
    }
    errors += containers(object[path: ["spec", "template", "spec", "containers"]], path: "spec.template.spec.containers")
    return errors
  }

  static func containers(_ list: JSONValue?, path: String) -> [FieldError] {
    guard let list = list?.arrayValue, !list.isEmpty else { return [FieldError(.required, field: path)] }
    var errors: [FieldError] = []
    var names = Set<String>()
    for (i, c) in list.enumerated() {
      let name = c["name"]?.stringValue ?? ""
      if name.isEmpty { errors.append(FieldError(.required, field: "\(path)[\(i)].name")) }
      else if !isDNS1123Label(name) { errors.append(FieldError(.invalid, field: "\(path)[\(i)].name", value: "\"\(name)\"", detail: dns1123LabelMessage)) }
      else if !names.insert(name).inserted { errors.append(FieldError(.duplicate, field: "\(path)[\(i)].name", value: "\"\(name)\"")) }
      if (c["image"]?.stringValue ?? "").isEmpty { errors.append(FieldError(.required, field: "\(path)[\(i)].image")) }
    }
    return errors
  }

  /// A workload's selector never changes (apps and batch validation, `ValidateDeploymentUpdate` …).
  static func immutableSelector(_ new: JSONValue, old: JSONValue) -> [FieldError] {
    guard new[path: ["spec", "selector"]] != old[path: ["spec", "selector"]] else { return [] }
    return [FieldError(.invalid, field: "spec.selector", value: "v1.LabelSelector{...}", detail: "field is immutable")]
  }
}
