import KubeCore
import Testing
@testable import CEL
@testable import KubeEmulator  // SplitMix64

/// The emulator's seeded generator (FaultInjector.swift), so a failing input can be replayed.
extension SplitMix64: RandomNumberGenerator {}

@Suite("CEL on hostile input")
struct CELFuzzTests {
  static let tokens = ["self", "oldSelf", ".", "(", ")", "[", "]", "{", "}", ",", ":", "?", "1", "0", "-1", "0u", "1.5", "'a'",
    "'ab'", "''", "b'x'", "+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||", "!", "in", "x", "y", "true", "null",
    "all", "exists", "exists_one", "map", "filter", "has", "size", "matches", "startsWith", "indexOf", "lastIndexOf",
    "substring", "split", "replace", "charAt", "join", "sum", "min", "max", "isSorted", "int", "uint", "double", "string",
    "duration", "timestamp", "quantity", "'1h'", "'1Gi'", "-9223372036854775808", "9223372036854775807", "items", "name",
    "'(a+)+$'", "'['"]

  @Test("Random token soup never crashes the parser, checker or evaluator")
  func tokenSoup() {
    var rng = SplitMix64(seed: 4)
    let selfValue = CELValue(json: ["name": "orin", "items": [1, 2, 3], "x": ["y": "z"]])
    var evaluated = 0
    for _ in 0..<20_000 {
      let count = Int.random(in: 1...14, using: &rng)
      let source = (0..<count).map { _ in CELFuzzTests.tokens.randomElement(using: &rng) ?? "" }.joined(separator: " ")
      guard let program = try? CELProgram.compile(source, variables: ["self": .dyn, "oldSelf": .dyn]) else { continue }
      evaluated += 1
      _ = try? program.evaluate(["self": selfValue, "oldSelf": selfValue], costLimit: 10_000)
    }
    #expect(evaluated > 100)
  }

  static let regexAtoms = ["a", "b", ".", "^", "$", "*", "+", "?", "{2}", "{1,3}", "(", ")", "(?:", "|", "[a-c]", "[^b]",
                           "\\d", "\\w", "\\b", "[", "]", "\\", "(?i)", "{", "}", "-", "\\pL", "[[:alpha:]]"]

  @Test("Random patterns never crash the RE2 engine, and matching stays within the input")
  func regexSoup() {
    var rng = SplitMix64(seed: 7)
    let inputs = ["", "a", "ab", "aaab", "abcabc", "A-b_9", "ééa"]
    for _ in 0..<5_000 {
      let count = Int.random(in: 1...10, using: &rng)
      let pattern = (0..<count).map { _ in CELFuzzTests.regexAtoms.randomElement(using: &rng) ?? "" }.joined()
      guard let re = try? CELRegex.compile(pattern) else { continue }
      for input in inputs {
        if let found = re.find(input) { #expect(input.contains(found) || found.isEmpty) }
        _ = re.findAll(input, limit: -1)
      }
    }
  }
}
