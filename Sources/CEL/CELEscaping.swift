import KubeCore

/// How a schema property name is spelt in CEL, as Kubernetes escapes it (k8s.io/apiserver
/// `pkg/cel/escaping.go`): a CEL keyword becomes `__keyword__` (`self.__namespace__`); in other names
/// `__` becomes `__underscores__`, `.` `__dot__`, `-` `__dash__` and `/` `__slash__` (`self.x__dash__prop`).
package enum CELEscaping {
  /// The CEL reserved words (langdef.md "Syntax"), plus the literals.
  package static let keywords: Set<String> = CELLexer.reserved.union(["true", "false", "null", "in"])

  /// The CEL spelling of `name`, or nil when the name cannot be reached from CEL at all.
  package static func escape(_ name: String) -> String? {
    if keywords.contains(name) { return "__\(name)__" }
    if isPlain(name) { return name }
    guard let first = name.unicodeScalars.first, isLeading(first), name.unicodeScalars.allSatisfy(isTrailing) else { return nil }
    var out = ""
    var rest = Substring(name)
    while let c = rest.first {
      if rest.hasPrefix("__") { out += "__underscores__"; rest = rest.dropFirst(2); continue }
      switch c {
      case ".": out += "__dot__"
      case "-": out += "__dash__"
      case "/": out += "__slash__"
      default: out.append(c)
      }
      rest = rest.dropFirst()
    }
    return out
  }

  /// Whether `name` is spelled the same escaped: ASCII letters, digits and single underscores, not
  /// starting with a digit (nearly every property name). Checked byte by byte, so escaping such a
  /// name builds no new string.
  private static func isPlain(_ name: String) -> Bool {
    var previous: UInt8 = 0
    for (i, b) in name.utf8.enumerated() {
      let letter = (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A)
      let digit = b >= 0x30 && b <= 0x39
      let underscore = b == 0x5F
      if i == 0 ? !(letter || underscore) : !(letter || digit || underscore) { return false }
      if underscore && previous == 0x5F { return false }
      previous = b
    }
    return previous != 0
  }

  private static func isLeading(_ c: Unicode.Scalar) -> Bool {
    (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == "." || c == "-" || c == "/"
  }

  private static func isTrailing(_ c: Unicode.Scalar) -> Bool { isLeading(c) || (c >= "0" && c <= "9") }

  /// The schema of the property that `field` (as written in CEL) names, if any.
  package static func property(_ field: String, of schema: JSONValue?) -> JSONValue? {
    guard let props = schema?["properties"]?.objectValue else { return nil }
    if let p = props[field], escape(field) == field { return p }
    for (k, v) in props where escape(k) == field { return v }
    return nil
  }
}
