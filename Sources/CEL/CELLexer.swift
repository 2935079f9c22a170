/// One lexical token of a CEL expression.
///
/// The token classes follow the lexis of google/cel-spec `doc/langdef.md` ("Syntax"): identifiers,
/// int/uint/double/string/bytes literals, punctuation and operators; `//` comments and whitespace
/// are dropped.
package struct CELToken: Sendable, Equatable {
  package enum Kind: Sendable, Equatable {
    case identifier(String)
    case int(Int64)
    /// A decimal int literal equal to 2^63, legal only after unary minus (`-9223372036854775808`).
    case intMinMagnitude
    case uint(UInt64)
    case double(Double)
    case string(String)
    case bytes([UInt8])
    case punct(String)
    case end
  }
  package var kind: Kind
  /// Offset in unicode scalars from the start of the expression, for error locations.
  package var offset: Int
}

/// Splits a CEL expression into tokens.
///
/// Reserved words (`langdef.md` "Syntax": `as break const continue else for function if import let
/// loop package namespace return var void while`) are refused as identifiers, as cel-go does.
package struct CELLexer {
  package static let reserved: Set<String> = ["as", "break", "const", "continue", "else", "for", "function", "if",
    "import", "let", "loop", "package", "namespace", "return", "var", "void", "while"]
  private static let operators = ["&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "!",
                                  "?", ":", ".", ",", "(", ")", "[", "]", "{", "}", "="]

  private let scalars: [Unicode.Scalar]
  private var i = 0

  package init(_ source: String) { scalars = Array(source.unicodeScalars) }

  /// Returns every token followed by `.end`.
  /// - Throws: `CELCompileError` for a malformed literal or an unexpected character.
  package static func tokenize(_ source: String) throws(CELCompileError) -> [CELToken] {
    var lexer = CELLexer(source)
    var tokens: [CELToken] = []
    while true {
      let t = try lexer.next()
      tokens.append(t)
      if t.kind == .end { return tokens }
    }
  }

  private func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < scalars.count ? scalars[i + k] : nil }

  private static func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0 >= "0" && $0 <= "9" } ?? false }
  private static func isHex(_ c: Unicode.Scalar?) -> Bool {
    guard let c else { return false }
    return isDigit(c) || (c >= "a" && c <= "f") || (c >= "A" && c <= "F")
  }
  private static func isIdentStart(_ c: Unicode.Scalar?) -> Bool {
    guard let c else { return false }
    return c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
  }

  private mutating func next() throws(CELCompileError) -> CELToken {
    // whitespace and comments
    while let c = peek() {
      if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" { i += 1; continue }
      if c == "/" && peek(1) == "/" {
        while let d = peek(), d != "\n" { _ = d; i += 1 }
        continue
      }
      break
    }
    let start = i
    guard let c = peek() else { return CELToken(kind: .end, offset: i) }
    if CELLexer.isIdentStart(c) {
      // string/bytes prefixes: r, R, b, B and combinations
      var j = i
      var raw = false, bytes = false
      while j < scalars.count, j - i < 2, ["r", "R", "b", "B"].contains(scalars[j]) {
        if scalars[j] == "r" || scalars[j] == "R" { raw = true } else { bytes = true }
        j += 1
      }
      if j > i, j < scalars.count, scalars[j] == "\"" || scalars[j] == "'" {
        i = j
        let text = try readString(raw: raw, start: start)
        if bytes { return CELToken(kind: .bytes(Array(text.utf8)), offset: start) }
        return CELToken(kind: .string(text), offset: start)
      }
      var name = ""
      while let d = peek(), CELLexer.isIdentStart(d) || CELLexer.isDigit(d) { name.unicodeScalars.append(d); i += 1 }
      if CELLexer.reserved.contains(name) {
        throw CELCompileError(offset: start, message: "reserved identifier: \(name)")
      }
      return CELToken(kind: .identifier(name), offset: start)
    }
    if CELLexer.isDigit(c) || (c == "." && CELLexer.isDigit(peek(1))) { return try readNumber(start: start) }
    if c == "\"" || c == "'" { return CELToken(kind: .string(try readString(raw: false, start: start)), offset: start) }
    for op in CELLexer.operators {
      let opScalars = Array(op.unicodeScalars)
      if i + opScalars.count <= scalars.count, Array(scalars[i..<(i + opScalars.count)]) == opScalars {
        if op == "=" { break }   // only `==` is an operator
        i += opScalars.count
        return CELToken(kind: .punct(op), offset: start)
      }
    }
    throw CELCompileError(offset: start, message: "Syntax error: token recognition error at: '\(c)'")
  }

  private mutating func readNumber(start: Int) throws(CELCompileError) -> CELToken {
    if peek() == "0", peek(1) == "x" || peek(1) == "X" {
      i += 2
      var digits = ""
      while CELLexer.isHex(peek()), let d = peek() { digits.unicodeScalars.append(d); i += 1 }
      if peek() == "u" || peek() == "U" {
        i += 1
        guard let v = UInt64(digits, radix: 16) else { throw CELCompileError(offset: start, message: "invalid uint literal") }
        return CELToken(kind: .uint(v), offset: start)
      }
      guard let v = Int64(digits, radix: 16) else { throw CELCompileError(offset: start, message: "invalid int literal") }
      return CELToken(kind: .int(v), offset: start)
    }
    var text = ""
    var isDouble = false
    while CELLexer.isDigit(peek()), let d = peek() { text.unicodeScalars.append(d); i += 1 }
    if peek() == ".", CELLexer.isDigit(peek(1)) {
      isDouble = true
      text += "."; i += 1
      while CELLexer.isDigit(peek()), let d = peek() { text.unicodeScalars.append(d); i += 1 }
    }
    if peek() == "e" || peek() == "E" {
      var j = i + 1
      if j < scalars.count, scalars[j] == "+" || scalars[j] == "-" { j += 1 }
      if j < scalars.count, CELLexer.isDigit(scalars[j]) {
        isDouble = true
        while i < j, let d = peek() { text.unicodeScalars.append(d); i += 1 }
        while CELLexer.isDigit(peek()), let d = peek() { text.unicodeScalars.append(d); i += 1 }
      }
    }
    if isDouble {
      guard let v = Double(text) else { throw CELCompileError(offset: start, message: "invalid double literal") }
      return CELToken(kind: .double(v), offset: start)
    }
    if peek() == "u" || peek() == "U" {
      i += 1
      guard let v = UInt64(text) else { throw CELCompileError(offset: start, message: "invalid uint literal") }
      return CELToken(kind: .uint(v), offset: start)
    }
    if text == "9223372036854775808" { return CELToken(kind: .intMinMagnitude, offset: start) }
    guard let v = Int64(text) else { throw CELCompileError(offset: start, message: "invalid int literal") }
    return CELToken(kind: .int(v), offset: start)
  }

  /// Reads a quoted string starting at the quote, honouring triple quotes, raw strings and the
  /// escapes of langdef.md "String and Bytes Values".
  private mutating func readString(raw: Bool, start: Int) throws(CELCompileError) -> String {
    guard let quote = peek() else { throw CELCompileError(offset: start, message: "unterminated string") }
    let triple = peek(1) == quote && peek(2) == quote
    i += triple ? 3 : 1
    var out = String.UnicodeScalarView()
    while true {
      guard let c = peek() else { throw CELCompileError(offset: start, message: "Syntax error: token recognition error: unterminated string") }
      if triple {
        if c == quote && peek(1) == quote && peek(2) == quote { i += 3; break }
      } else {
        if c == quote { i += 1; break }
        if c == "\n" || c == "\r" { throw CELCompileError(offset: start, message: "Syntax error: token recognition error: newline in string") }
      }
      if c == "\\" && !raw {
        i += 1
        guard let e = peek() else { throw CELCompileError(offset: start, message: "unterminated escape") }
        i += 1
        switch e {
        case "\\": out.append("\\")
        case "\"": out.append("\"")
        case "'": out.append("'")
        case "`": out.append("`")
        case "?": out.append("?")
        case "n": out.append("\n")
        case "r": out.append("\r")
        case "t": out.append("\t")
        case "a": out.append("\u{07}")
        case "b": out.append("\u{08}")
        case "f": out.append("\u{0C}")
        case "v": out.append("\u{0B}")
        case "x", "X", "u", "U":
          let count = (e == "x" || e == "X") ? 2 : (e == "u" ? 4 : 8)
          var hex = ""
          for _ in 0..<count {
            guard CELLexer.isHex(peek()), let h = peek() else { throw CELCompileError(offset: start, message: "invalid escape sequence") }
            hex.unicodeScalars.append(h); i += 1
          }
          guard let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) else { throw CELCompileError(offset: start, message: "invalid escape sequence") }
          out.append(s)
        case "0"..."3":
          var oct = String(e)
          for _ in 0..<2 {
            guard let o = peek(), o >= "0" && o <= "7" else { throw CELCompileError(offset: start, message: "invalid octal escape") }
            oct.unicodeScalars.append(o); i += 1
          }
          guard let v = UInt32(oct, radix: 8), let s = Unicode.Scalar(v) else { throw CELCompileError(offset: start, message: "invalid escape sequence") }
          out.append(s)
        default:
          throw CELCompileError(offset: start, message: "Syntax error: invalid escape sequence \\\(e)")
        }
        continue
      }
      out.append(c); i += 1
    }
    return String(out)
  }
}
