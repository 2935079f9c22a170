/// A CEL expression that does not parse or check, with the location cel-go reports.
///
/// `render(source:)` prints it as cel-go's `common.Errors.ToDisplayString` does (cel-go
/// `common/errors.go`): `ERROR: <input>:1:6: message`, then the source line and a caret under the column.
public struct CELCompileError: Error, Sendable, Equatable, CustomStringConvertible {
  /// Offset in unicode scalars from the start of the expression.
  public var offset: Int
  /// What is wrong, in cel-go's words, without the location.
  public var message: String

  /// An error at `offset` (unicode scalars from the start of the expression).
  public init(offset: Int, message: String) {
    self.offset = offset
    self.message = message
  }

  /// The message alone; use `render(source:)` for the located form.
  public var description: String { message }

  /// The cel-go display form of this error for `source`.
  public func render(source: String) -> String {
    var line = 1, column = 0, lineStart = 0
    let scalars = Array(source.unicodeScalars)
    for (k, c) in scalars.enumerated() where k < offset {
      if c == "\n" { line += 1; column = 0; lineStart = k + 1 } else { column += 1 }
    }
    var lineEnd = lineStart
    while lineEnd < scalars.count, scalars[lineEnd] != "\n" { lineEnd += 1 }
    var text = String.UnicodeScalarView()
    text.append(contentsOf: scalars[lineStart..<lineEnd])
    return "ERROR: <input>:\(line):\(column + 1): \(message)\n | \(String(text))\n | \(String(repeating: ".", count: column))^"
  }
}

/// Why evaluating a CEL expression stopped.
///
/// `.error` is an ordinary CEL error value (`no such key`, `division by zero`…): `&&`, `||` and the
/// comprehension macros may absorb it, as cel-go's commutative logic does. `.costLimitExceeded` is never
/// absorbed: it ends the evaluation (cel-go `interpreter/runtimecost.go`, "operation cancelled: actual
/// cost limit exceeded").
public enum CELEvalError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A CEL error value: `no such key: x`, `division by zero`, `integer overflow`…
  case error(String)
  /// The evaluation spent more than its cost limit and was stopped.
  case costLimitExceeded

  /// The error as cel-go prints it.
  public var description: String {
    switch self {
    case .error(let m): return m
    case .costLimitExceeded: return "operation cancelled: actual cost limit exceeded"
    }
  }

  package static let noSuchOverload = CELEvalError.error("no such overload")
}
