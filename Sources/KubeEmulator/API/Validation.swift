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

  /// Resources whose names must be DNS-1123 labels or DNS-1035 labels instead of subdomains.
  static let labelNamed: Set<String> = ["/namespaces", "apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets",
                                        "batch/jobs", "batch/cronjobs"]
  static let dns1035Named: Set<String> = ["/services"]

  static func validateObject(_ object: JSONValue, resource: APIResource, isCreate: Bool) -> [FieldError] {
    var errors: [FieldError] = []
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    if name.isEmpty {
      errors.append(FieldError(.required, field: "metadata.name", detail: "name or generateName is required"))
    } else if dns1035Named.contains(resource.storageKey) {
      if !isDNS1035Label(name) { errors.append(FieldError(.invalid, field: "metadata.name", value: "\"\(name)\"", detail: dns1035LabelMessage)) }
    } else if labelNamed.contains(resource.storageKey) {
      if !isDNS1123Label(name) {
        errors.append(FieldError(.invalid, field: "metadata.name", value: "\"\(name)\"", detail: name.count > 63 ? "must be no more than 63 characters" : dns1123LabelMessage))
      }
    } else if resource.storageKey != "rbac.authorization.k8s.io/roles" && resource.storageKey != "rbac.authorization.k8s.io/clusterroles"
                && resource.storageKey != "rbac.authorization.k8s.io/rolebindings" && resource.storageKey != "rbac.authorization.k8s.io/clusterrolebindings"
                && !isDNS1123Subdomain(name) {
      errors.append(FieldError(.invalid, field: "metadata.name", value: "\"\(name)\"", detail: name.count > 253 ? "must be no more than 253 characters" : dns1123SubdomainMessage))
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
    switch resource.storageKey {
    case "apps/deployments", "apps/replicasets", "apps/daemonsets", "apps/statefulsets":
      errors += workload(object)
    case "/pods":
      errors += containers(object[path: ["spec", "containers"]], path: "spec.containers")
    case "batch/jobs":
      errors += containers(object[path: ["spec", "template", "spec", "containers"]], path: "spec.template.spec.containers")
      let policy = object[path: ["spec", "template", "spec", "restartPolicy"]]?.stringValue ?? ""
      if policy != "Never" && policy != "OnFailure" {
        errors.append(FieldError(.notSupported, field: "spec.template.spec.restartPolicy", value: "\"\(policy)\"", detail: "supported values: \"OnFailure\", \"Never\""))
      }
    default:
      break
    }
    return errors
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

  /// Rules that only apply to updates: immutable fields.
  static func validateUpdate(_ new: JSONValue, old: JSONValue, resource: APIResource) -> [FieldError] {
    var errors: [FieldError] = []
    switch resource.storageKey {
    case "apps/deployments", "apps/replicasets", "apps/daemonsets", "apps/statefulsets":
      if new[path: ["spec", "selector"]] != old[path: ["spec", "selector"]] {
        errors.append(FieldError(.invalid, field: "spec.selector", value: "v1.LabelSelector{...}", detail: "field is immutable"))
      }
    case "batch/jobs":
      if new[path: ["spec", "selector"]] != old[path: ["spec", "selector"]] {
        errors.append(FieldError(.invalid, field: "spec.selector", value: "v1.LabelSelector{...}", detail: "field is immutable"))
      }
    case "/services":
      if let o = old[path: ["spec", "clusterIP"]], new[path: ["spec", "clusterIP"]] != o {
        errors.append(FieldError(.invalid, field: "spec.clusterIP", value: FieldError.printed(new[path: ["spec", "clusterIP"]] ?? ""), detail: "field is immutable"))
      }
    default:
      break
    }
    return errors
  }
}
