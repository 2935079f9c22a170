/// A regular expression in RE2 syntax, matched in linear time.
///
/// CEL's `matches()` is RE2 (langdef.md "Regular Expressions"), whose guarantee is that matching takes
/// time linear in the input: a rule like `self.matches('^(a+)+$')` cannot stall the API server the way a
/// backtracking engine (Swift's `Regex`, PCRE) can on `"aaaa…!"`. This is a Pike VM (Russ Cox, "Regular
/// Expression Matching: the Virtual Machine Approach", the design RE2 and Go's `regexp` use) over
/// unicode scalars: every thread advances in lock step, so the work is O(pattern × input).
///
/// Supported: literals, `.`, `^`, `$`, `\A`, `\z`, `\b`, `\B`, classes (`[a-z]`, `[^…]`, `[[:alpha:]]`,
/// `\d \w \s` and negations, `\pL`/`\p{Lu}`), groups (`(…)`, `(?:…)`, `(?P<name>…)`), alternation, the
/// quantifiers `* + ? {n} {n,} {n,m}` and their lazy forms, and the flags `i`, `m`, `s`, `U`. Refused
/// with RE2's messages: lookaround, backreferences, repeat counts over 1000.
package struct CELRE2: Sendable {
  // MARK: program

  package struct CharSet: Sendable {
    var ranges: [ClosedRange<UInt32>]
    var negated: Bool

    func contains(_ c: Unicode.Scalar, caseInsensitive: Bool) -> Bool {
      var hit = ranges.contains { $0.contains(c.value) }
      if !hit && caseInsensitive {
        let other = CharSet.swapCase(c)
        if other != c { hit = ranges.contains { $0.contains(other.value) } }
      }
      return hit != negated
    }

    static func swapCase(_ c: Unicode.Scalar) -> Unicode.Scalar {
      let lower = String(c).lowercased().unicodeScalars, upper = String(c).uppercased().unicodeScalars
      if lower.count == 1, let l = lower.first, l != c { return l }
      if upper.count == 1, let u = upper.first, u != c { return u }
      return c
    }
  }

  package enum Inst: Sendable {
    case char(CharSet, caseInsensitive: Bool)
    /// A property class (`\pL`): matched through Unicode properties.
    case property(String, negated: Bool)
    case split(Int, Int)      // prefer the first
    case jump(Int)
    case assertion(Assertion)
    case save(Int)
    case match
  }

  package enum Assertion: Sendable { case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary }

  package let program: [Inst]

  /// The largest program accepted (RE2 refuses "expression too large" in the same spirit).
  package static let maxInstructions = 20_000

  /// Compiles `pattern`.
  /// - Throws: the RE2 parse error text (without the `error parsing regexp: ` prefix).
  package init(_ pattern: String) throws(CELRE2Error) {
    var parser = CELRE2Parser(pattern)
    let node = try parser.parseAll()
    var compiler = CELRE2Compiler()
    compiler.emit(.save(0))
    try compiler.compile(node)
    compiler.emit(.save(1))
    compiler.emit(.match)
    guard compiler.program.count <= CELRE2.maxInstructions else { throw CELRE2Error("expression too large") }
    program = compiler.program
  }

  // MARK: matching

  /// The first (leftmost, then by priority) match in `text`, as scalar offsets, or nil.
  package func firstMatch(in text: [Unicode.Scalar], from start: Int = 0) -> Range<Int>? {
    var current: [(pc: Int, caps: [Int])] = []
    var next: [(pc: Int, caps: [Int])] = []
    var onList = [Int](repeating: -1, count: program.count)
    var best: Range<Int>?
    var generation = 0

    func add(_ list: inout [(pc: Int, caps: [Int])], _ pc: Int, _ caps: [Int], at pos: Int) {
      // explicit stack instead of recursion: a pattern's epsilon closure can be long
      var stack: [(Int, [Int])] = [(pc, caps)]
      while let (pc, caps) = stack.popLast() {
        if onList[pc] == generation { continue }
        onList[pc] = generation
        switch program[pc] {
        case .jump(let t): stack.append((t, caps))
        case .split(let a, let b):
          stack.append((b, caps))
          stack.append((a, caps))
        case .save(let slot):
          var c = caps
          c[slot] = pos
          stack.append((pc + 1, c))
        case .assertion(let a):
          if holds(a, text, pos) { stack.append((pc + 1, caps)) }
        default:
          list.append((pc, caps))
        }
      }
    }

    var pos = start
    while true {
      generation += 1
      if best == nil {
        // a new thread starting here, lowest priority (unanchored search)
        var seeded = current
        add(&seeded, 0, [-1, -1], at: pos)
        current = seeded
      }
      generation += 1
      next.removeAll(keepingCapacity: true)
      let c: Unicode.Scalar? = pos < text.count ? text[pos] : nil
      threads: for (pc, caps) in current {
        switch program[pc] {
        case .match:
          best = caps[0]..<caps[1]
          break threads   // lower-priority threads are cut
        case .char(let set, let ci):
          if let c, set.contains(c, caseInsensitive: ci) { add(&next, pc + 1, caps, at: pos + 1) }
        case .property(let name, let negated):
          if let c, CELRE2Parser.hasProperty(c, name) != negated { add(&next, pc + 1, caps, at: pos + 1) }
        default:
          break
        }
      }
      swap(&current, &next)
      if current.isEmpty && (best != nil || pos >= text.count) { return best }
      if pos >= text.count { return best }
      pos += 1
    }
  }

  private func holds(_ a: Assertion, _ text: [Unicode.Scalar], _ pos: Int) -> Bool {
    func isWord(_ i: Int) -> Bool {
      guard i >= 0, i < text.count else { return false }
      let c = text[i]
      return c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9")
    }
    switch a {
    case .beginText: return pos == 0
    case .endText: return pos == text.count
    case .beginLine: return pos == 0 || text[pos - 1] == "\n"
    case .endLine: return pos == text.count || text[pos] == "\n"
    case .wordBoundary: return isWord(pos - 1) != isWord(pos)
    case .notWordBoundary: return isWord(pos - 1) == isWord(pos)
    }
  }
}

/// An RE2 syntax error, worded as Go's `regexp/syntax` words it.
package struct CELRE2Error: Error, Sendable, CustomStringConvertible {
  package var description: String
  package init(_ description: String) { self.description = description }
}
