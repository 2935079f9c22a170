/// The syntax tree of an RE2 pattern.
package indirect enum CELRE2Node: Sendable {
  case empty
  case char(CELRE2.CharSet, caseInsensitive: Bool)
  case property(String, negated: Bool)
  case assertion(CELRE2.Assertion)
  case concat([CELRE2Node])
  case alternate([CELRE2Node])
  case `repeat`(CELRE2Node, min: Int, max: Int?, greedy: Bool)
  case capture(CELRE2Node)
}

/// Parses RE2 syntax (github.com/google/re2/wiki/Syntax; Go `regexp/syntax/parse.go` for the error
/// wording) into a `CELRE2Node`. Nesting is bounded like the CEL parser's.
package struct CELRE2Parser {
  private let s: [Unicode.Scalar]
  private let pattern: String
  private var i = 0
  private var depth = 0
  private var caseInsensitive = false, multiLine = false, dotAll = false, ungreedy = false

  package init(_ pattern: String) {
    self.pattern = pattern
    s = Array(pattern.unicodeScalars)
  }

  package mutating func parseAll() throws(CELRE2Error) -> CELRE2Node {
    let node = try alternation()
    if i < s.count { throw CELRE2Error("unexpected ): `\(pattern)`") }
    return node
  }

  private func peek(_ k: Int = 0) -> Unicode.Scalar? { i + k < s.count ? s[i + k] : nil }

  private mutating func alternation() throws(CELRE2Error) -> CELRE2Node {
    depth += 1
    defer { depth -= 1 }
    if depth > 1000 { throw CELRE2Error("expression nests too deeply") }
    var branches = [try concatenation()]
    while peek() == "|" { i += 1; branches.append(try concatenation()) }
    return branches.count == 1 ? branches[0] : .alternate(branches)
  }

  private mutating func concatenation() throws(CELRE2Error) -> CELRE2Node {
    var items: [CELRE2Node] = []
    while let c = peek(), c != "|", c != ")" {
      if c == "(" && peek(1) == "?" && !(peek(2) == ":" || peek(2) == "P" || peek(2) == "<") {
        if try flagGroup() { continue }
      }
      var atom = try self.atom()
      // quantifiers
      var quantified = false
      while let q = peek() {
        var minCount = 0, maxCount: Int? = nil
        let start = i
        if q == "*" { i += 1 } else if q == "+" { minCount = 1; i += 1 } else if q == "?" { maxCount = 1; i += 1 }
        else if q == "{", let (lo, hi) = try repeatCount() { minCount = lo; maxCount = hi }
        else { break }
        if quantified {
          throw CELRE2Error("invalid nested repetition operator: `\(String(String.UnicodeScalarView(s[(start - 1)..<i])))`")
        }
        if case .empty = atom { throw CELRE2Error("missing argument to repetition operator: `\(q)`") }
        var greedy = !ungreedy
        if peek() == "?" { i += 1; greedy.toggle() }
        atom = .repeat(atom, min: minCount, max: maxCount, greedy: greedy)
        quantified = true
      }
      items.append(atom)
    }
    return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .concat(items))
  }

  /// `{n}`, `{n,}`, `{n,m}`; nil (and nothing consumed) when the brace is a literal.
  private mutating func repeatCount() throws(CELRE2Error) -> (Int, Int?)? {
    var j = i + 1
    func number() -> Int? {
      var digits = ""
      while j < s.count, s[j] >= "0" && s[j] <= "9" { digits.unicodeScalars.append(s[j]); j += 1 }
      return digits.isEmpty ? nil : Int(digits.prefix(6))
    }
    guard let lo = number() else { return nil }
    var hi: Int? = lo
    if j < s.count, s[j] == "," {
      j += 1
      hi = number()
    }
    guard j < s.count, s[j] == "}" else { return nil }
    let text = String(String.UnicodeScalarView(s[i...j]))
    i = j + 1
    if lo > 1000 || (hi ?? 0) > 1000 || (hi.map { $0 < lo } ?? false) { throw CELRE2Error("invalid repeat count: `\(text)`") }
    return (lo, hi)
  }

  /// `(?i)`-style flag settings; returns false when the group is a `(?i:…)` group handled by `atom`.
  private mutating func flagGroup() throws(CELRE2Error) -> Bool {
    var j = i + 2
    var negate = false
    var flags: [(Unicode.Scalar, Bool)] = []
    while j < s.count {
      let c = s[j]
      switch c {
      case "i", "m", "s", "U": flags.append((c, !negate))
      case "-": negate = true
      case ")":
        for (f, on) in flags { set(f, on) }
        i = j + 1
        return true
      case ":": return false
      default:
        let construct = String(String.UnicodeScalarView(s[i...j]))
        throw CELRE2Error("invalid or unsupported Perl syntax: `\(construct)`")
      }
      j += 1
    }
    throw CELRE2Error("missing closing ): `\(pattern)`")
  }

  private mutating func set(_ flag: Unicode.Scalar, _ on: Bool) {
    switch flag {
    case "i": caseInsensitive = on
    case "m": multiLine = on
    case "s": dotAll = on
    default: ungreedy = on
    }
  }

  private mutating func atom() throws(CELRE2Error) -> CELRE2Node {
    guard let c = peek() else { return .empty }
    switch c {
    case "(":
      i += 1
      var capturing = true
      let saved = (caseInsensitive, multiLine, dotAll, ungreedy)
      if peek() == "?" {
        if peek(1) == ":" { i += 2; capturing = false }
        else if peek(1) == "P" && peek(2) == "<" || peek(1) == "<" && peek(2) != "=" && peek(2) != "!" {
          while let d = peek(), d != ">" { i += 1 }
          i += 1
        } else {
          // (?flags:…)
          var j = i + 1
          var negate = false
          while j < s.count, s[j] != ":" {
            switch s[j] {
            case "i", "m", "s", "U": set(s[j], !negate)
            case "-": negate = true
            default:
              throw CELRE2Error("invalid or unsupported Perl syntax: `\(String(String.UnicodeScalarView(s[(i - 1)...min(j, s.count - 1)])))`")
            }
            j += 1
          }
          i = j + 1
          capturing = false
        }
      }
      let inner = try alternation()
      (caseInsensitive, multiLine, dotAll, ungreedy) = saved
      guard peek() == ")" else { throw CELRE2Error("missing closing ): `\(pattern)`") }
      i += 1
      return capturing ? .capture(inner) : inner
    case ")":
      throw CELRE2Error("unexpected ): `\(pattern)`")
    case "[":
      return try charClass()
    case ".":
      i += 1
      return .char(CELRE2.CharSet(ranges: dotAll ? [] : [10...10], negated: true), caseInsensitive: false)
    case "^":
      i += 1
      return .assertion(multiLine ? .beginLine : .beginText)
    case "$":
      i += 1
      return .assertion(multiLine ? .endLine : .endText)
    case "*", "+", "?":
      throw CELRE2Error("missing argument to repetition operator: `\(c)`")
    case "\\":
      return try escape()
    default:
      i += 1
      return .char(CELRE2.CharSet(ranges: [c.value...c.value], negated: false), caseInsensitive: caseInsensitive)
    }
  }

  private static let digit: [ClosedRange<UInt32>] = [48...57]
  private static let word: [ClosedRange<UInt32>] = [48...57, 65...90, 95...95, 97...122]
  private static let space: [ClosedRange<UInt32>] = [9...10, 12...13, 32...32]

  /// `\d`-style classes, or nil.
  private static func perlClass(_ c: Unicode.Scalar) -> CELRE2.CharSet? {
    switch c {
    case "d": return .init(ranges: digit, negated: false)
    case "D": return .init(ranges: digit, negated: true)
    case "w": return .init(ranges: word, negated: false)
    case "W": return .init(ranges: word, negated: true)
    case "s": return .init(ranges: space, negated: false)
    case "S": return .init(ranges: space, negated: true)
    default: return nil
    }
  }

  /// A single escaped scalar (`\n`, `\x41`, `\.`), or a thrown error for an unknown escape.
  private mutating func escapedScalar() throws(CELRE2Error) -> Unicode.Scalar {
    guard let c = peek() else { throw CELRE2Error("trailing backslash at end of expression: ``") }
    i += 1
    switch c {
    case "n": return "\n"
    case "t": return "\t"
    case "r": return "\r"
    case "f": return "\u{0C}"
    case "v": return "\u{0B}"
    case "a": return "\u{07}"
    case "0": return "\u{00}"
    case "x":
      var hex = ""
      if peek() == "{" {
        i += 1
        while let d = peek(), d != "}" { hex.unicodeScalars.append(d); i += 1 }
        i += 1
      } else {
        for _ in 0..<2 { if let d = peek() { hex.unicodeScalars.append(d); i += 1 } }
      }
      guard let v = UInt32(hex, radix: 16), let u = Unicode.Scalar(v) else { throw CELRE2Error("invalid escape sequence: `\\x\(hex)`") }
      return u
    default:
      if c.properties.isAlphabetic || (c >= "1" && c <= "9") { throw CELRE2Error("invalid escape sequence: `\\\(c)`") }
      return c   // escaped punctuation is itself
    }
  }

  private mutating func escape() throws(CELRE2Error) -> CELRE2Node {
    i += 1   // the backslash
    guard let c = peek() else { throw CELRE2Error("trailing backslash at end of expression: ``") }
    if let set = CELRE2Parser.perlClass(c) { i += 1; return .char(set, caseInsensitive: false) }
    switch c {
    case "A": i += 1; return .assertion(.beginText)
    case "z": i += 1; return .assertion(.endText)
    case "b": i += 1; return .assertion(.wordBoundary)
    case "B": i += 1; return .assertion(.notWordBoundary)
    case "p", "P":
      i += 1
      return .property(try propertyName(), negated: c == "P")
    default:
      let u = try escapedScalar()
      return .char(.init(ranges: [u.value...u.value], negated: false), caseInsensitive: caseInsensitive)
    }
  }

  private mutating func propertyName() throws(CELRE2Error) -> String {
    var name = ""
    if peek() == "{" {
      i += 1
      while let d = peek(), d != "}" { name.unicodeScalars.append(d); i += 1 }
      guard peek() == "}" else { throw CELRE2Error("invalid character class range: `\\p{\(name)`") }
      i += 1
    } else if let d = peek() {
      name.unicodeScalars.append(d); i += 1
    }
    guard CELRE2Parser.knownProperties.contains(name) else { throw CELRE2Error("invalid character class range: `\\p{\(name)}`") }
    return name
  }

  package static let knownProperties: Set<String> = ["L", "Lu", "Ll", "Lt", "Lm", "Lo", "N", "Nd", "Nl", "No", "P", "S", "Z", "Zs",
                                             "Latin", "Greek", "Cyrillic", "Han"]

  package static func hasProperty(_ c: Unicode.Scalar, _ name: String) -> Bool {
    let category = c.properties.generalCategory
    switch name {
    case "L": return [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter].contains(category)
    case "Lu": return category == .uppercaseLetter
    case "Ll": return category == .lowercaseLetter
    case "Lt": return category == .titlecaseLetter
    case "Lm": return category == .modifierLetter
    case "Lo": return category == .otherLetter
    case "N": return [.decimalNumber, .letterNumber, .otherNumber].contains(category)
    case "Nd": return category == .decimalNumber
    case "Nl": return category == .letterNumber
    case "No": return category == .otherNumber
    case "P": return [.connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                      .finalPunctuation, .otherPunctuation].contains(category)
    case "S": return [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol].contains(category)
    case "Z": return [.spaceSeparator, .lineSeparator, .paragraphSeparator].contains(category)
    case "Zs": return category == .spaceSeparator
    case "Latin": return (0x41...0x24F).contains(c.value) && c.properties.isAlphabetic
    case "Greek": return (0x370...0x3FF).contains(c.value)
    case "Cyrillic": return (0x400...0x4FF).contains(c.value)
    case "Han": return (0x4E00...0x9FFF).contains(c.value) || (0x3400...0x4DBF).contains(c.value)
    default: return false
    }
  }

  private static let posix: [String: [ClosedRange<UInt32>]] = [
    "alnum": [48...57, 65...90, 97...122], "alpha": [65...90, 97...122], "ascii": [0...127], "blank": [9...9, 32...32],
    "cntrl": [0...31, 127...127], "digit": [48...57], "graph": [33...126], "lower": [97...122], "print": [32...126],
    "punct": [33...47, 58...64, 91...96, 123...126], "space": [9...13, 32...32], "upper": [65...90],
    "word": [48...57, 65...90, 95...95, 97...122], "xdigit": [48...57, 65...70, 97...102],
  ]

  private mutating func charClass() throws(CELRE2Error) -> CELRE2Node {
    let start = i
    i += 1
    var negated = false
    if peek() == "^" { negated = true; i += 1 }
    var ranges: [ClosedRange<UInt32>] = []
    var first = true
    while true {
      guard let c = peek() else { throw CELRE2Error("missing closing ]: `\(String(String.UnicodeScalarView(s[start...])))`") }
      if c == "]" && !first { i += 1; break }
      first = false
      if c == "[" && peek(1) == ":" {
        var j = i + 2, name = ""
        var negatedPosix = false
        if j < s.count, s[j] == "^" { negatedPosix = true; j += 1 }
        while j < s.count, s[j] != ":" { name.unicodeScalars.append(s[j]); j += 1 }
        guard j + 1 < s.count, s[j + 1] == "]", let r = CELRE2Parser.posix[name], !negatedPosix else {
          throw CELRE2Error("invalid character class range: `[:\(name):]`")
        }
        ranges += r
        i = j + 2
        continue
      }
      var lo: Unicode.Scalar
      if c == "\\" {
        i += 1
        if let p = peek(), let set = CELRE2Parser.perlClass(p) {
          i += 1
          if set.negated {
            // complement of the ranges, within the scalar space
            var previous: UInt32 = 0
            for r in set.ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
              if r.lowerBound > previous { ranges.append(previous...(r.lowerBound - 1)) }
              previous = r.upperBound + 1
            }
            ranges.append(previous...0x10FFFF)
          } else {
            ranges += set.ranges
          }
          continue
        }
        lo = try escapedScalar()
      } else {
        lo = c
        i += 1
      }
      if peek() == "-", let after = peek(1), after != "]" {
        i += 1
        var hi: Unicode.Scalar
        if after == "\\" { i += 1; hi = try escapedScalar() } else { hi = after; i += 1 }
        guard lo.value <= hi.value else { throw CELRE2Error("invalid character class range: `\(lo)-\(hi)`") }
        ranges.append(lo.value...hi.value)
      } else {
        ranges.append(lo.value...lo.value)
      }
    }
    return .char(CELRE2.CharSet(ranges: ranges, negated: negated), caseInsensitive: caseInsensitive)
  }
}

/// Turns a `CELRE2Node` into Pike VM instructions (Go `regexp/syntax/compile.go` shapes).
package struct CELRE2Compiler {
  private(set) var program: [CELRE2.Inst] = []

  package mutating func emit(_ inst: CELRE2.Inst) { program.append(inst) }

  package mutating func compile(_ node: CELRE2Node) throws(CELRE2Error) {
    guard program.count <= CELRE2.maxInstructions else { throw CELRE2Error("expression too large") }
    switch node {
    case .empty: break
    case .char(let set, let ci): emit(.char(set, caseInsensitive: ci))
    case .property(let name, let negated): emit(.property(name, negated: negated))
    case .assertion(let a): emit(.assertion(a))
    case .capture(let inner): try compile(inner)
    case .concat(let items): for item in items { try compile(item) }
    case .alternate(let branches):
      var jumpsToEnd: [Int] = []
      for (k, branch) in branches.enumerated() {
        if k < branches.count - 1 {
          let split = program.count
          emit(.split(split + 1, -1))
          try compile(branch)
          jumpsToEnd.append(program.count)
          emit(.jump(-1))
          program[split] = .split(split + 1, program.count)
        } else {
          try compile(branch)
        }
      }
      for j in jumpsToEnd { program[j] = .jump(program.count) }
    case .repeat(let inner, let minCount, let maxCount, let greedy):
      for _ in 0..<minCount { try compile(inner) }
      if let maxCount {
        // up to (max - min) optional copies: each split skips to the end
        var splits: [Int] = []
        for _ in minCount..<maxCount {
          splits.append(program.count)
          emit(.split(-1, -1))
          try compile(inner)
        }
        let end = program.count
        for sIndex in splits { program[sIndex] = greedy ? .split(sIndex + 1, end) : .split(end, sIndex + 1) }
      } else {
        let loop = program.count
        emit(.split(-1, -1))
        try compile(inner)
        emit(.jump(loop))
        let end = program.count
        program[loop] = greedy ? .split(loop + 1, end) : .split(end, loop + 1)
      }
    }
  }
}
