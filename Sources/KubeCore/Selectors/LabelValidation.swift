// Label key and value validation with apimachinery's exact messages
// (k8s.io/apimachinery/pkg/util/validation/validation.go: IsQualifiedName, IsValidLabelValue,
// IsDNS1123Subdomain, RegexError) and the field-error shape of pkg/util/validation/field/errors.go.

enum LabelValidation {
  static let qualifiedNameFormat = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
  static let qualifiedNameMessage =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  static let labelValueFormat = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
  static let labelValueMessage =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
  static let subdomainFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
  static let subdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

  /// `RegexError`: the message, the examples and the pattern, punctuated exactly as upstream
  /// (including its doubled space before each "or").
  static func regexError(_ message: String, _ format: String, _ examples: [String]) -> String {
    if examples.isEmpty { return message + " (regex used for validation is '" + format + "')" }
    var text = message + " (e.g. "
    for (i, example) in examples.enumerated() {
      if i > 0 { text += " or " }
      text += "'" + example + "', "
    }
    return text + "regex used for validation is '" + format + "')"
  }

  static func maxLengthError(_ length: Int) -> String { "must be no more than \(length) characters" }

  private static func isAlphanumeric(_ b: UInt8) -> Bool {
    (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
  }

  /// Matches `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
  static func isQualifiedNamePart(_ text: Substring) -> Bool {
    let bytes = Array(text.utf8)
    guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
    return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
  }

  /// Matches the DNS-1123 subdomain pattern (lower-case labels joined by dots).
  static func isSubdomain(_ text: Substring) -> Bool {
    let labels = text.split(separator: ".", omittingEmptySubsequences: false)
    return labels.allSatisfy { label in
      let bytes = Array(label.utf8)
      func lowerAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 97 && b <= 122) }
      guard let first = bytes.first, let last = bytes.last, lowerAlnum(first), lowerAlnum(last) else { return false }
      return bytes.allSatisfy { lowerAlnum($0) || $0 == UInt8(ascii: "-") }
    }
  }

  /// `IsQualifiedName`: the problems with a label key, empty when it is valid.
  static func qualifiedNameErrors(_ value: String) -> [String] {
    var errors: [String] = []
    let parts = value.split(separator: "/", omittingEmptySubsequences: false)
    let name: Substring
    switch parts.count {
    case 1:
      name = parts[0]
    case 2:
      let prefix = parts[0]
      name = parts[1]
      if prefix.isEmpty {
        errors.append("prefix part must be non-empty")
      } else {
        if prefix.utf8.count > 253 { errors.append("prefix part " + maxLengthError(253)) }
        if !isSubdomain(prefix) {
          errors.append("prefix part " + regexError(subdomainMessage, subdomainFormat, ["example.com"]))
        }
      }
    default:
      return [
        "a qualified name " + regexError(qualifiedNameMessage, qualifiedNameFormat, ["MyName", "my.name", "123-abc"])
          + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
      ]
    }
    if name.isEmpty {
      errors.append("name part must be non-empty")
    } else if name.utf8.count > 63 {
      errors.append("name part " + maxLengthError(63))
    }
    if !isQualifiedNamePart(name) {
      errors.append("name part " + regexError(qualifiedNameMessage, qualifiedNameFormat, ["MyName", "my.name", "123-abc"]))
    }
    return errors
  }

  /// `IsValidLabelValue`: the problems with a label value, empty when it is valid.
  static func labelValueErrors(_ value: String) -> [String] {
    var errors: [String] = []
    if value.utf8.count > 63 { errors.append(maxLengthError(63)) }
    if !value.isEmpty && !isQualifiedNamePart(Substring(value)) {
      errors.append(regexError(labelValueMessage, labelValueFormat, ["MyValue", "my_value", "12345"]))
    }
    return errors
  }

  /// `field.Invalid(path, value, detail).Error()` for a string value: `path: Invalid value: "v": detail`.
  static func invalid(path: String, value: String, detail: String) -> String {
    "\(path): Invalid value: \(value.goQuoted): \(detail)"
  }

  /// `%#v` of a Go `[]string`, as field errors print a value list.
  static func goStringSlice(_ values: [String]?) -> String {
    guard let values, !values.isEmpty else { return "[]string(nil)" }
    return "[]string{" + values.map(\.goQuoted).joined(separator: ", ") + "}"
  }

  /// `utilerrors.NewAggregate(...).Error()`: one message as is, several in brackets.
  static func aggregate(_ messages: [String]) -> String? {
    var seen = Set<String>()
    let unique = messages.filter { seen.insert($0).inserted }
    switch unique.count {
    case 0: return nil
    case 1: return unique[0]
    default: return "[" + unique.joined(separator: ", ") + "]"
    }
  }
}
