/// A YAML document that could not be read, with the place libyaml (or the conversion to JSON) stopped.
///
/// Messages are go-yaml's and sigs.k8s.io/yaml's texts where those exist (`key "a" already set in map`,
/// `json: unsupported value: NaN`), so they read like kubectl's errors.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What went wrong.
  public var message: String
  /// The 1-based line.
  public var line: Int
  /// The 1-based column.
  public var column: Int

  /// Creates an error at a 1-based position.
  public init(message: String, line: Int, column: Int) {
    self.message = message
    self.line = line
    self.column = column
  }

  /// `yaml: line L, column C: message`.
  public var description: String { "yaml: line \(line), column \(column): \(message)" }
}
