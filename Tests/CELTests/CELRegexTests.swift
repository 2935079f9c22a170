import Testing
@testable import CEL

/// Pattern, input, whether RE2 finds a match (unanchored), and the leftmost-first match text.
/// Rows follow Go's `regexp` semantics (`regexp/find_test.go` shapes).
let re2Cases: [(String, String, String?)] = [
  ("abc", "xabcx", "abc"),
  ("^abc$", "abc", "abc"),
  ("^abc$", "abcd", nil),
  ("a.c", "abc", "abc"),
  ("a.c", "a\nc", nil),
  ("(?s)a.c", "a\nc", "a\nc"),
  ("a*", "baaa", ""),
  ("a+", "baaa", "aaa"),
  ("a+?", "baaa", "a"),
  ("a{2}", "aaaa", "aa"),
  ("a{2,3}", "aaaa", "aaa"),
  ("a{2,}", "aaaaa", "aaaaa"),
  ("ab|cd", "xcdx", "cd"),
  ("(a|ab)(c|bcd)", "abcd", "abcd"),
  ("[a-c]+", "xxbcaz", "bca"),
  ("[^a-c]+", "abcxyz", "xyz"),
  ("[[:digit:]]+", "ab123", "123"),
  ("\\d+\\.\\d+", "v1.25", "1.25"),
  ("\\w+", "  hi_there ", "hi_there"),
  ("\\s", "a b", " "),
  ("(?i)hello", "HeLLo", "HeLLo"),
  ("\\bfoo\\b", "a foo b", "foo"),
  ("\\bfoo\\b", "afoob", nil),
  ("^sha256:[a-f0-9]{64}$", "sha256:" + String(repeating: "a", count: 64), "sha256:" + String(repeating: "a", count: 64)),
  ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "orin-nx-01", "orin-nx-01"),
  ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "Orin", nil),
  ("^(\\d+(\\.\\d+)?)(ms|s|m|h)$", "1.5h", "1.5h"),
  ("\\p{L}+", "123héllo", "héllo"),
  ("x*", "", ""),
]

@Suite("RE2 regular expressions")
struct CELRegexTests {
  @Test("Patterns match as Go's regexp matches them", arguments: re2Cases)
  func matches(_ pattern: String, _ input: String, _ expected: String?) throws {
    let re = try CELRegex.compile(pattern)
    #expect(re.matches(input) == (expected != nil))
    #expect(re.find(input) == expected)
  }

  @Test("Patterns RE2 refuses are refused with Go's message", arguments: [
    ("[a", "error parsing regexp: missing closing ]: `[a`"),
    ("(a", "error parsing regexp: missing closing ): `(a`"),
    ("a)", "error parsing regexp: unexpected ): `a)`"),
    ("*a", "error parsing regexp: missing argument to repetition operator: `*`"),
    ("a**", "error parsing regexp: invalid nested repetition operator: `**`"),
    ("(?=a)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
    ("(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"),
    ("a{1001}", "error parsing regexp: invalid repeat count: `{1001}`"),
  ])
  func refuses(_ pattern: String, _ message: String) {
    #expect(throws: CELEvalError.error(message)) { try CELRegex.compile(pattern) }
  }

  @Test("A pattern that makes backtracking engines explode is answered at once", arguments: ["^(a+)+$", "^(a|aa)*$", "(x+x+)+y"])
  func noCatastrophicBacktracking(_ pattern: String) throws {
    let re = try CELRegex.compile(pattern)
    #expect(re.matches(String(repeating: "a", count: 5000) + "!") == false)
    #expect(re.matches(String(repeating: "x", count: 5000)) == false)
  }

  @Test("matches() over a long string with a large pattern is charged by both sizes and hits the cost limit")
  func regexCost() throws {
    let program = try CELProgram.compile("self.matches('^(a{1000}){10}$')", variables: ["self": .string])
    let long = CELValue.string(String(repeating: "a", count: 2_000_000))
    #expect(throws: CELEvalError.costLimitExceeded) { try program.evaluate(["self": long]) }
  }

  @Test("findAll returns every non-overlapping match")
  func findAll() throws {
    #expect(try CELRegex.compile("[0-9]+").findAll("a1b22c333", limit: -1) == ["1", "22", "333"])
    #expect(try CELRegex.compile("[0-9]+").findAll("a1b22c333", limit: 2) == ["1", "22"])
  }
}
