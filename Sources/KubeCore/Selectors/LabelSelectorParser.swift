// The lexer and recursive-descent parser of apimachinery's `labels.Parse`, rewritten in Swift with the
// same tokens, the same context rule (`in`/`notin` are identifiers where values are expected) and the
// same error texts (k8s.io/apimachinery/pkg/labels/selector.go: Lexer, Parser).

struct LabelSelectorParser {
  enum Token: Equatable {
    case end, closedParen, comma, doesNotExist, doubleEquals, equals, greaterThan
    case identifier, `in`, lessThan, notEquals, notIn, openParen
  }

  private struct Item { var token: Token; var literal: String }

  private let bytes: [UInt8]
  private var position = 0
  private var items: [Item] = []
  private var cursor = 0

  init(_ text: String) { bytes = Array(text.utf8) }

  private static func keyword(_ literal: String) -> Token? {
    switch literal {
    case ")": return .closedParen
    case ",": return .comma
    case "!": return .doesNotExist
    case "==": return .doubleEquals
    case "=": return .equals
    case ">": return .greaterThan
    case "in": return .in
    case "<": return .lessThan
    case "!=": return .notEquals
    case "notin": return .notIn
    case "(": return .openParen
    default: return nil
    }
  }

  private static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }

  private static func isSpecial(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "="), UInt8(ascii: "!"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: ","),
      UInt8(ascii: ">"), UInt8(ascii: "<"):
      return true
    default: return false
    }
  }

  /// Upstream reads a NUL byte at the end of input, so an embedded NUL also ends the scan.
  private mutating func read() -> UInt8 {
    guard position < bytes.count else { return 0 }
    defer { position += 1 }
    return bytes[position]
  }

  private mutating func unread() { position -= 1 }

  private mutating func lex() -> Item {
    var ch = read()
    while LabelSelectorParser.isWhitespace(ch) { ch = read() }
    if ch == 0 { return Item(token: .end, literal: "") }
    unread()
    if LabelSelectorParser.isSpecial(ch) {
      var buffer: [UInt8] = []
      var last: Item?
      while true {
        let next = read()
        if next == 0 { break }
        guard LabelSelectorParser.isSpecial(next) else { unread(); break }
        buffer.append(next)
        let text = String(decoding: buffer, as: UTF8.self)
        if let token = LabelSelectorParser.keyword(text) {
          last = Item(token: token, literal: text)
        } else if last != nil {
          unread()
          break
        }
      }
      // Every single special byte is a token, so `last` is always set here.
      return last ?? Item(token: .end, literal: "")
    }
    var buffer: [UInt8] = []
    while true {
      let next = read()
      if next == 0 { break }
      if LabelSelectorParser.isSpecial(next) || LabelSelectorParser.isWhitespace(next) { unread(); break }
      buffer.append(next)
    }
    let text = String(decoding: buffer, as: UTF8.self)
    return Item(token: LabelSelectorParser.keyword(text) ?? .identifier, literal: text)
  }

  /// Where values are expected, `in` and `notin` are plain identifiers (upstream `ParserContext.Values`).
  private func lookahead(values: Bool = true) -> (Token, String) {
    let item = cursor < items.count ? items[cursor] : Item(token: .end, literal: "")
    if values, item.token == .in || item.token == .notIn { return (.identifier, item.literal) }
    return (item.token, item.literal)
  }

  private mutating func consume(values: Bool = true) -> (Token, String) {
    defer { cursor += 1 }
    return lookahead(values: values)
  }

  mutating func parse() throws(LabelSelectorError) -> [LabelSelector.Requirement] {
    while true {
      let item = lex()
      items.append(item)
      if item.token == .end { break }
    }
    var requirements: [LabelSelector.Requirement] = []
    while true {
      let (token, literal) = lookahead()
      switch token {
      case .identifier, .doesNotExist:
        do {
          requirements.append(try parseRequirement())
        } catch {
          throw LabelSelectorError("unable to parse requirement: " + error.message)
        }
        let (next, nextLiteral) = consume()
        switch next {
        case .end: return requirements
        case .comma:
          let (after, afterLiteral) = lookahead()
          if after != .identifier && after != .doesNotExist {
            throw LabelSelectorError("found '\(afterLiteral)', expected: identifier after ','")
          }
        default:
          throw LabelSelectorError("found '\(nextLiteral)', expected: ',' or 'end of string'")
        }
      case .end:
        return requirements
      default:
        throw LabelSelectorError("found '\(literal)', expected: !, identifier, or 'end of string'")
      }
    }
  }

  private mutating func parseRequirement() throws(LabelSelectorError) -> LabelSelector.Requirement {
    var (token, key) = consume()
    var op: LabelSelector.Operator?
    if token == .doesNotExist {
      op = .doesNotExist
      (token, key) = consume()
    }
    guard token == .identifier else { throw LabelSelectorError("found '\(key)', expected: identifier") }
    let keyErrors = LabelValidation.qualifiedNameErrors(key)
    if !keyErrors.isEmpty {
      throw LabelSelectorError(LabelValidation.invalid(path: "<nil>", value: key, detail: keyErrors.joined(separator: "; ")))
    }
    let (next, _) = lookahead()
    if next == .end || next == .comma, op == nil { op = .exists }
    if let op, op == .exists || op == .doesNotExist {
      return try LabelSelector.makeRequirement(key, op, [], keyPath: "key", valuesPath: "values")
    }
    let binary = try parseOperator()
    let values: [String]
    switch binary {
    case .in, .notIn: values = try parseValues()
    default: values = try parseExactValue()
    }
    return try LabelSelector.makeRequirement(key, binary, values, keyPath: "key", valuesPath: "values")
  }

  private mutating func parseOperator() throws(LabelSelectorError) -> LabelSelector.Operator {
    let (token, literal) = consume(values: false)
    switch token {
    case .in: return .in
    case .equals: return .equals
    case .doubleEquals: return .doubleEquals
    case .greaterThan: return .greaterThan
    case .lessThan: return .lessThan
    case .notIn: return .notIn
    case .notEquals: return .notEquals
    default: throw LabelSelectorError("found '\(literal)', expected: in, notin, =, ==, !=, gt, lt")
    }
  }

  /// Values of `in`/`notin` as upstream's string set: deduplicated and sorted.
  private mutating func parseValues() throws(LabelSelectorError) -> [String] {
    let (open, openLiteral) = consume()
    guard open == .openParen else { throw LabelSelectorError("found '\(openLiteral)' expected: '('") }
    let (token, literal) = lookahead()
    switch token {
    case .identifier, .comma:
      let set = try parseIdentifierList()
      let (close, _) = consume()
      guard close == .closedParen else { throw LabelSelectorError("found '\(literal)', expected: ')'") }
      return set.sorted()
    case .closedParen:
      _ = consume()
      return [""]
    default:
      throw LabelSelectorError("found '\(literal)', expected: ',', ')' or identifier")
    }
  }

  private mutating func parseIdentifierList() throws(LabelSelectorError) -> Set<String> {
    var set = Set<String>()
    while true {
      let (token, literal) = consume()
      switch token {
      case .identifier:
        set.insert(literal)
        let (next, nextLiteral) = lookahead()
        switch next {
        case .comma: continue
        case .closedParen: return set
        default: throw LabelSelectorError("found '\(nextLiteral)', expected: ',' or ')'")
        }
      case .comma:
        if set.isEmpty { set.insert("") }  // "(,"
        let (next, _) = lookahead()
        if next == .closedParen {
          set.insert("")  // ",)"
          return set
        }
        if next == .comma {
          _ = consume()
          set.insert("")  // ",,"
        }
      default:
        throw LabelSelectorError("found '\(literal)', expected: ',', or identifier")
      }
    }
  }

  private mutating func parseExactValue() throws(LabelSelectorError) -> [String] {
    let (next, _) = lookahead()
    if next == .end || next == .comma { return [""] }
    let (token, literal) = consume()
    guard token == .identifier else { throw LabelSelectorError("found '\(literal)', expected: identifier") }
    return [literal]
  }
}
