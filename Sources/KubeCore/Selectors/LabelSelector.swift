/// A Kubernetes label selector: a conjunction of requirements on an object's labels.
///
/// Parsing follows apimachinery's `labels.Parse` exactly — the same grammar (`=`, `==`, `!=`, `in`,
/// `notin`, `key`, `!key`, `>`, `<`), the same key and value validation, and the same error text — so
/// a selector the real API server rejects is rejected here with the message kubectl would print
/// (k8s.io/apimachinery/pkg/labels/selector.go). Requirements are kept sorted by key, as upstream does
/// "to grant deterministic parsing", so `description` is the canonical string form.
public struct LabelSelector: Sendable, Equatable, CustomStringConvertible {
  /// How one requirement relates a label key to its values (apimachinery `selection.Operator`).
  public enum Operator: String, Sendable, Equatable {
    /// `key in (a,b)`: the label is present with one of the values.
    case `in` = "in"
    /// `key notin (a,b)`: the label is absent or has none of the values.
    case notIn = "notin"
    /// `key=value`.
    case equals = "="
    /// `key==value`, the same test as `=` (kept apart so the canonical form echoes the input).
    case doubleEquals = "=="
    /// `key!=value`: the label is absent or has another value.
    case notEquals = "!="
    /// `key`: the label is present.
    case exists = "exists"
    /// `!key`: the label is absent.
    case doesNotExist = "!"
    /// `key>n`: the label is an integer greater than n.
    case greaterThan = "gt"
    /// `key<n`: the label is an integer less than n.
    case lessThan = "lt"
  }

  /// One condition on one label key.
  public struct Requirement: Sendable, Equatable, CustomStringConvertible {
    /// The label key, validated as a qualified name.
    public var key: String
    /// The relation between the key's value and `values`.
    public var `operator`: Operator
    /// The values; empty for `exists` and `doesNotExist`, one for equality and ordering operators.
    public var values: [String]

    /// Creates a requirement without validating it; `LabelSelector.parse` and `init(json:)` validate.
    public init(key: String, operator: Operator, values: [String] = []) {
      self.key = key
      self.operator = `operator`
      self.values = values
    }

    /// Whether `labels` satisfies this requirement (selector.go, `Requirement.Matches`).
    ///
    /// A missing key satisfies `notin`, `!=` and `!key`; `gt`/`lt` need an integer label value.
    public func matches(_ labels: [String: String]) -> Bool {
      let value = labels[key]
      switch `operator` {
      case .in, .equals, .doubleEquals:
        guard let value else { return false }
        return values.contains(value)
      case .notIn, .notEquals:
        guard let value else { return true }
        return !values.contains(value)
      case .exists: return value != nil
      case .doesNotExist: return value == nil
      case .greaterThan, .lessThan:
        guard let value, let actual = Int64(value), values.count == 1, let bound = Int64(values[0]) else { return false }
        return `operator` == .greaterThan ? actual > bound : actual < bound
      }
    }

    /// The requirement as selector text, values sorted (selector.go, `Requirement.String`).
    public var description: String {
      let head = (`operator` == .doesNotExist ? "!" : "") + key
      let joined = values.count == 1 ? values[0] : values.sorted().joined(separator: ",")
      switch `operator` {
      case .exists, .doesNotExist: return head
      case .equals, .doubleEquals, .notEquals: return head + `operator`.rawValue + joined
      case .greaterThan: return head + ">" + joined
      case .lessThan: return head + "<" + joined
      case .in, .notIn: return head + " " + `operator`.rawValue + " (" + joined + ")"
      }
    }
  }

  /// The requirements, sorted by key; all must hold for a match.
  public private(set) var requirements: [Requirement]
  /// True for the selector of a null `metav1.LabelSelector`, which matches nothing (`labels.Nothing()`).
  private var selectsNothing: Bool

  /// Creates a selector from requirements, sorting them by key as upstream's `Add` does.
  public init(requirements: [Requirement] = []) {
    self.requirements = LabelSelector.sortedByKey(requirements)
    self.selectsNothing = false
  }

  /// A selector that matches no object: what a missing (`null`) `metav1.LabelSelector` converts to.
  public static let nothing: LabelSelector = {
    var selector = LabelSelector()
    selector.selectsNothing = true
    return selector
  }()

  private static func sortedByKey(_ requirements: [Requirement]) -> [Requirement] {
    requirements.enumerated().sorted { a, b in
      a.element.key != b.element.key ? a.element.key < b.element.key : a.offset < b.offset
    }.map(\.element)
  }

  /// Parses the string form used by `?labelSelector=` and `kubectl -l`.
  ///
  /// The empty string parses to the selector that matches everything.
  /// - Throws: `LabelSelectorError` with the text `labels.Parse` returns, for example
  ///   `unable to parse requirement: <nil>: Invalid value: "a b": …` or `found ')', expected: …`.
  public static func parse(_ text: String) throws(LabelSelectorError) -> LabelSelector {
    var parser = LabelSelectorParser(text)
    return LabelSelector(requirements: try parser.parse())
  }

  /// Converts a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`), as
  /// `metav1.LabelSelectorAsSelector` does.
  ///
  /// `null` gives `LabelSelector.nothing`; an object without requirements matches everything.
  /// - Throws: `LabelSelectorError` for a malformed object, an unknown operator
  ///   (`"Foo" is not a valid label selector operator`) or a requirement `NewRequirement` rejects.
  public init(json: JSONValue) throws(LabelSelectorError) {
    if json.isNull { self = .nothing; return }
    guard let object = json.objectValue else { throw LabelSelectorError("label selector must be an object, not \(json.typeName)") }
    var result: [Requirement] = []
    if let matchLabels = object["matchLabels"], !matchLabels.isNull {
      guard let labels = matchLabels.objectValue else { throw LabelSelectorError("matchLabels must be an object, not \(matchLabels.typeName)") }
      for key in labels.keys.sorted() {
        guard let value = labels[key]?.stringValue else { throw LabelSelectorError("matchLabels.\(key) must be a string") }
        result.append(try LabelSelector.makeRequirement(key, .equals, [value], keyPath: "key", valuesPath: "values"))
      }
    }
    if let expressions = object["matchExpressions"], !expressions.isNull {
      guard let list = expressions.arrayValue else { throw LabelSelectorError("matchExpressions must be an array, not \(expressions.typeName)") }
      for expression in list {
        guard let key = expression["key"]?.stringValue else { throw LabelSelectorError("matchExpressions[].key must be a string") }
        let name = expression["operator"]?.stringValue ?? ""
        let op: Operator
        switch name {
        case "In": op = .in
        case "NotIn": op = .notIn
        case "Exists": op = .exists
        case "DoesNotExist": op = .doesNotExist
        default: throw LabelSelectorError("\(name.goQuoted) is not a valid label selector operator")
        }
        var values: [String] = []
        if let raw = expression["values"], !raw.isNull {
          guard let array = raw.arrayValue else { throw LabelSelectorError("matchExpressions[].values must be an array") }
          for item in array {
            guard let value = item.stringValue else { throw LabelSelectorError("matchExpressions[].values must hold strings") }
            values.append(value)
          }
        }
        result.append(try LabelSelector.makeRequirement(key, op, values, keyPath: "key", valuesPath: "values"))
      }
    }
    self.init(requirements: result)
  }

  /// `labels.NewRequirement`: validates key, operator arity and values, aggregating the problems.
  static func makeRequirement(
    _ key: String, _ op: Operator, _ values: [String], keyPath: String?, valuesPath: String
  ) throws(LabelSelectorError) -> Requirement {
    var problems: [String] = []
    let keyErrors = LabelValidation.qualifiedNameErrors(key)
    if !keyErrors.isEmpty, let keyPath {
      problems.append(LabelValidation.invalid(path: keyPath, value: key, detail: keyErrors.joined(separator: "; ")))
    }
    let shown = LabelValidation.goStringSlice(values)
    switch op {
    case .in, .notIn:
      if values.isEmpty {
        problems.append("\(valuesPath): Invalid value: \(shown): for 'in', 'notin' operators, values set can't be empty")
      }
    case .equals, .doubleEquals, .notEquals:
      if values.count != 1 {
        problems.append("\(valuesPath): Invalid value: \(shown): exact-match compatibility requires one single value")
      }
    case .exists, .doesNotExist:
      if !values.isEmpty {
        problems.append("\(valuesPath): Invalid value: \(shown): values set must be empty for exists and does not exist")
      }
    case .greaterThan, .lessThan:
      if values.count != 1 {
        problems.append("\(valuesPath): Invalid value: \(shown): for 'Gt', 'Lt' operators, exactly one value is required")
      }
      for (i, value) in values.enumerated() where Int64(value) == nil {
        problems.append(LabelValidation.invalid(path: "\(valuesPath)[\(i)]", value: value, detail: "for 'Gt', 'Lt' operators, the value must be an integer"))
      }
    }
    for (i, value) in values.enumerated() {
      let errors = LabelValidation.labelValueErrors(value)
      if !errors.isEmpty {
        problems.append(LabelValidation.invalid(path: "\(valuesPath)[\(i)][\(key)]", value: value, detail: errors.joined(separator: "; ")))
      }
    }
    if let message = LabelValidation.aggregate(problems) { throw LabelSelectorError(message) }
    return Requirement(key: key, operator: op, values: values)
  }

  /// Whether every requirement holds for `labels`.
  ///
  /// An empty selector matches every label set; `LabelSelector.nothing` matches none.
  public func matches(_ labels: [String: String]) -> Bool {
    if selectsNothing { return false }
    return requirements.allSatisfy { $0.matches(labels) }
  }

  /// Whether the selector places no restriction (it matches everything).
  public var isEmpty: Bool { !selectsNothing && requirements.isEmpty }

  /// The canonical string form: requirements sorted by key, values sorted, joined by commas.
  ///
  /// Parsing the description gives an equal selector.
  public var description: String { requirements.map(\.description).joined(separator: ",") }
}

/// A label selector that could not be parsed or converted.
///
/// The message is apimachinery's text for the same input, so it can be returned to API clients as is.
public struct LabelSelectorError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The upstream error text.
  public var message: String

  /// Wraps an error message.
  public init(_ message: String) { self.message = message }

  /// The upstream error text.
  public var description: String { message }
}
