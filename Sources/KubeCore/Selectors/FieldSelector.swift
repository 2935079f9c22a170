/// A Kubernetes field selector (`?fieldSelector=`, `kubectl --field-selector`): a conjunction of
/// equality tests on named fields.
///
/// Parsing follows apimachinery's `fields.ParseSelector` (k8s.io/apimachinery/pkg/fields/selector.go):
/// terms split on unescaped commas and sorted, each term split at the first `!=`, `==` or `=`, values
/// unescaped (`\\`, `\,`, `\=`). Which fields a resource supports is the server's business, not the parser's.
public struct FieldSelector: Sendable, Equatable, CustomStringConvertible {
  /// The terms, in upstream's order (sorted by their text); all must hold for a match.
  public var requirements: [FieldRequirement]

  /// Creates a selector from requirements.
  public init(requirements: [FieldRequirement] = []) { self.requirements = requirements }

  /// Parses the string form; the empty string matches everything.
  ///
  /// - Throws: `FieldSelectorError` with upstream's text: `invalid selector: 'x'; can't understand 'x'`,
  ///   `invalid field selector: invalid escape sequence: \q`, or
  ///   `invalid field selector: unescaped character in value: 61` (Go prints the rune's number).
  public static func parse(_ text: String) throws(FieldSelectorError) -> FieldSelector {
    var result: [FieldRequirement] = []
    for term in splitTerms(text).sorted() where !term.isEmpty {
      guard let (field, op, rawValue) = splitTerm(term) else {
        throw FieldSelectorError("invalid selector: '\(text)'; can't understand '\(term)'")
      }
      result.append(FieldRequirement(field: field, op: op, value: try unescape(rawValue)))
    }
    // A lone `=` (empty field and value) is upstream's "everything" selector.
    if result.count == 1, result[0].field.isEmpty, result[0].value.isEmpty { result = [] }
    return FieldSelector(requirements: result)
  }

  /// Splits on commas not preceded by a backslash, keeping escapes for `unescape` (upstream `splitTerms`).
  private static func splitTerms(_ text: String) -> [Substring] {
    guard !text.isEmpty else { return [] }
    var terms: [Substring] = []
    var start = text.startIndex
    var escaped = false
    var index = text.startIndex
    while index < text.endIndex {
      let c = text[index]
      if escaped {
        escaped = false
      } else if c == "\\" {
        escaped = true
      } else if c == "," {
        terms.append(text[start..<index])
        start = text.index(after: index)
      }
      index = text.index(after: index)
    }
    terms.append(text[start...])
    return terms
  }

  /// Splits at the first operator; `!=` and `==` are tried before `=` at each position (upstream `splitTerm`).
  private static func splitTerm(_ term: Substring) -> (String, FieldRequirement.Operator, Substring)? {
    var index = term.startIndex
    while index < term.endIndex {
      let rest = term[index...]
      if rest.hasPrefix("!=") { return (String(term[..<index]), .notEquals, rest.dropFirst(2)) }
      if rest.hasPrefix("==") { return (String(term[..<index]), .equals, rest.dropFirst(2)) }
      if rest.hasPrefix("=") { return (String(term[..<index]), .equals, rest.dropFirst(1)) }
      index = term.index(after: index)
    }
    return nil
  }

  /// Removes the escapes of `\\`, `\,`, `\=`; rejects other escapes and bare `,` or `=` (upstream `UnescapeValue`).
  private static func unescape(_ raw: Substring) throws(FieldSelectorError) -> String {
    var out = ""
    var escaped = false
    for scalar in raw.unicodeScalars {
      if escaped {
        guard scalar == "\\" || scalar == "," || scalar == "=" else {
          throw FieldSelectorError("invalid field selector: invalid escape sequence: \\\(scalar)")
        }
        out.unicodeScalars.append(scalar)
        escaped = false
      } else if scalar == "\\" {
        escaped = true
      } else if scalar == "," || scalar == "=" {
        throw FieldSelectorError("invalid field selector: unescaped character in value: \(scalar.value)")
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    if escaped { throw FieldSelectorError("invalid field selector: invalid escape sequence: \\") }
    return out
  }

  /// Whether every requirement holds; a field the lookup does not know reads as the empty string, as upstream.
  ///
  /// - Parameter lookup: the value of a field path such as `metadata.name` or `status.phase`.
  public func matches(_ lookup: (String) -> String?) -> Bool {
    requirements.allSatisfy { requirement in
      let actual = lookup(requirement.field) ?? ""
      return requirement.op == .equals ? actual == requirement.value : actual != requirement.value
    }
  }

  /// Whether the selector places no restriction.
  public var isEmpty: Bool { requirements.isEmpty }

  /// The canonical string form, values escaped again (upstream `hasTerm.String`).
  public var description: String { requirements.map(\.description).joined(separator: ",") }
}

/// One term of a field selector: `field=value` or `field!=value`.
public struct FieldRequirement: Sendable, Equatable, CustomStringConvertible {
  /// Equality or inequality; `==` parses to `.equals`.
  public enum Operator: String, Sendable, Equatable {
    /// `field=value` (also written `field==value`).
    case equals = "="
    /// `field!=value`.
    case notEquals = "!="
  }

  /// The field path, for example `metadata.name`.
  public var field: String
  /// The comparison.
  public var op: Operator
  /// The unescaped value.
  public var value: String

  /// Creates a requirement.
  public init(field: String, op: Operator, value: String) {
    self.field = field
    self.op = op
    self.value = value
  }

  /// `field=value` with `\`, `,` and `=` in the value escaped (upstream `EscapeValue`).
  public var description: String {
    var escaped = ""
    for c in value {
      if c == "\\" || c == "," || c == "=" { escaped.append("\\") }
      escaped.append(c)
    }
    return field + op.rawValue + escaped
  }
}

/// A field selector that could not be parsed.
///
/// The message is apimachinery's text for the same input.
public struct FieldSelectorError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The upstream error text.
  public var message: String

  /// Wraps an error message.
  public init(_ message: String) { self.message = message }

  /// The upstream error text.
  public var description: String { message }
}
