import KubeCore
import Testing
@testable import CEL

/// One expression and what evaluating it must give.
///
/// Expected values and error texts are cel-go's (google/cel-spec `tests/simple/testdata/*.textproto`
/// conformance rows and cel-go `interpreter` tests were the reference for the semantics).
struct CELCase: Sendable, CustomTestStringConvertible {
  enum Outcome: Sendable { case value(CELValue), error(String), compileError(String) }
  var expression: String
  var outcome: Outcome
  var testDescription: String { expression }

  static func ok(_ e: String, _ v: CELValue) -> CELCase { CELCase(expression: e, outcome: .value(v)) }
  static func fails(_ e: String, _ m: String) -> CELCase { CELCase(expression: e, outcome: .error(m)) }
  static func refused(_ e: String, _ m: String) -> CELCase { CELCase(expression: e, outcome: .compileError(m)) }
}

/// Variables the table rows can read.
let celTestVariables: [String: CELValue] = [
  "self": CELValue(json: ["name": "orin-a", "replicas": 3, "weights": [10, 20, 70], "labels": ["tier": "edge"],
                          "steps": [["setWeight": 10], ["setWeight": 50]], "empty": [], "ratio": 0.5]),
  "n": .int(5),
]

let celExpressionCases: [CELCase] = [
  // literals and arithmetic
  .ok("1 + 2 * 3", .int(7)),
  .ok("(1 + 2) * 3", .int(9)),
  .ok("7 / 2", .int(3)),
  .ok("-7 / 2", .int(-3)),
  .ok("7 % 3", .int(1)),
  .ok("-7 % 3", .int(-1)),
  .ok("7u / 2u", .uint(3)),
  .ok("0x10", .int(16)),
  .ok("1.5 + 2.25", .double(3.75)),
  .ok("7.0 / 2.0", .double(3.5)),
  .ok("1.0 / 0.0", .double(.infinity)),
  .ok("-9223372036854775808", .int(Int64.min)),
  .ok("--5", .int(5)),
  .ok("'ab' + 'cd'", .string("abcd")),
  .ok("[1, 2] + [3]", .list([.int(1), .int(2), .int(3)])),
  .ok("b'ab' + b'c'", .bytes(Array("abc".utf8))),
  .ok("'\\u00e9\\x41\\101\\n'", .string("éAA\n")),
  .ok("r'\\d+'", .string("\\d+")),
  .ok("'''a'b'''", .string("a'b")),
  .fails("1 / 0", "division by zero"),
  .fails("1 % 0", "modulus by zero"),
  .fails("9223372036854775807 + 1", "integer overflow"),
  .fails("-9223372036854775808 - 1", "integer overflow"),
  .fails("9223372036854775807 * 2", "integer overflow"),
  .fails("-(-9223372036854775808)", "integer overflow"),
  .fails("0u - 1u", "unsigned integer overflow"),
  .fails("18446744073709551615u + 1u", "unsigned integer overflow"),
  .refused("1 + 1.0", "found no matching overload for '_+_' applied to '(int, double)'"),
  .refused("'a' + 1", "found no matching overload for '_+_' applied to '(string, int)'"),
  .refused("9223372036854775808", "invalid int literal"),
  // comparison, including heterogeneous numbers as cel-go
  .ok("1 < 2", .bool(true)),
  .ok("2 <= 2", .bool(true)),
  .ok("1 < 1.5", .bool(true)),
  .ok("2u > 1", .bool(true)),
  .ok("-1 < 0u", .bool(true)),
  .ok("'a' < 'b'", .bool(true)),
  .ok("'abc' >= 'abd'", .bool(false)),
  .ok("false < true", .bool(true)),
  .ok("dyn(1) == 1.0", .bool(true)),
  .ok("dyn(1u) == 1", .bool(true)),
  .ok("dyn('1') == 1", .bool(false)),
  .ok("[1, 2] == [1, 2]", .bool(true)),
  .ok("{'a': 1} == {'a': 1}", .bool(true)),
  .ok("{'a': 1} != {'a': 2}", .bool(true)),
  .ok("null == null", .bool(true)),
  .ok("0.0/0.0 == 0.0/0.0", .bool(false)),
  .refused("1 == true", "found no matching overload for '_==_' applied to '(int, bool)'"),
  .refused("'a' < 1", "found no matching overload for '_<_' applied to '(string, int)'"),
  // logic with commutative error absorption
  .ok("true && false", .bool(false)),
  .ok("false || true", .bool(true)),
  .ok("!true", .bool(false)),
  .ok("1 / 0 == 1 && false", .bool(false)),
  .ok("false && 1 / 0 == 1", .bool(false)),
  .ok("1 / 0 == 1 || true", .bool(true)),
  .ok("true || self.missing", .bool(true)),
  .fails("1 / 0 == 1 && true", "division by zero"),
  .fails("false || 1 / 0 == 1", "division by zero"),
  .ok("n > 3 ? 'big' : 'small'", .string("big")),
  .ok("n > 9 ? 1 / 0 : 2", .int(2)),
  // in, indexing, selection
  .ok("2 in [1, 2, 3]", .bool(true)),
  .ok("'tier' in self.labels", .bool(true)),
  .ok("'zone' in self.labels", .bool(false)),
  .ok("self.weights[2]", .int(70)),
  .ok("self.labels['tier']", .string("edge")),
  .ok("self.labels.tier", .string("edge")),
  .ok("self.steps[1].setWeight", .int(50)),
  .ok("{1: 'a'}[1u]", .string("a")),
  .ok("{'k': {'j': 2}}.k.j", .int(2)),
  .fails("self.weights[3]", "index out of bounds: 3"),
  .fails("self.missing", "no such key: missing"),
  .fails("self.labels['zone']", "no such key: zone"),
  .refused("1.foo", "type 'int' does not support field selection"),
  // has and macros
  .ok("has(self.name)", .bool(true)),
  .ok("has(self.missing)", .bool(false)),
  .ok("has(self.labels.tier)", .bool(true)),
  .ok("self.weights.all(w, w > 0)", .bool(true)),
  .ok("self.weights.all(w, w > 10)", .bool(false)),
  .ok("self.weights.exists(w, w == 20)", .bool(true)),
  .ok("self.weights.exists_one(w, w > 15)", .bool(false)),
  .ok("self.weights.exists_one(w, w > 50)", .bool(true)),
  .ok("self.weights.map(w, w * 2)", .list([.int(20), .int(40), .int(140)])),
  .ok("self.weights.map(w, w > 15, w - 15)", .list([.int(5), .int(55)])),
  .ok("self.weights.filter(w, w < 50)", .list([.int(10), .int(20)])),
  .ok("self.labels.all(k, k == 'tier')", .bool(true)),
  .ok("self.empty.all(x, false)", .bool(true)),
  .ok("self.empty.exists(x, true)", .bool(false)),
  .ok("[0, 1].exists(x, 1 / x == 1)", .bool(true)),
  .ok("[0, 1].all(x, 1 / x == 2)", .bool(false)),
  .fails("[0, 1].all(x, 1 / x == 1)", "division by zero"),
  .ok("self.steps.all(s, s.setWeight >= 0 && s.setWeight <= 100)", .bool(true)),
  .ok("self.weights.map(w, w).sum() == 100", .bool(true)),
  .ok("[[1, 2], [3]].all(l, l.all(x, x > 0))", .bool(true)),
  .ok("self.weights.all(i, w, i == 0 || w >= self.weights[i - 1])", .bool(true)),
  .ok("[3, 1].all(i, w, i == 0 || w >= [3, 1][i - 1])", .bool(false)),
  .ok("self.labels.exists(k, v, k == 'tier' && v == 'edge')", .bool(true)),
  .ok("[1, 2, 3].exists_one(i, v, i == v)", .bool(false)),
  .ok("[0, 2, 3].exists_one(i, v, i == v)", .bool(true)),
  .refused("has(self)", "invalid argument to has() macro"),
  .refused("[1].all(1, true)", "argument must be a simple name"),
  // functions
  .ok("size('héllo')", .int(5)),
  .ok("self.name.size()", .int(6)),
  .ok("size(self.weights)", .int(3)),
  .ok("size(self.labels)", .int(1)),
  .ok("self.name.startsWith('orin')", .bool(true)),
  .ok("self.name.endsWith('-a')", .bool(true)),
  .ok("self.name.contains('n-')", .bool(true)),
  .ok("self.name.matches('^orin-[a-z]$')", .bool(true)),
  .ok("'xyz'.matches('y')", .bool(true)),
  .ok("matches('abc', '^b')", .bool(false)),
  .ok("'sha256:' + 'ab'.lowerAscii()", .string("sha256:ab")),
  .ok("'MiXed'.upperAscii()", .string("MIXED")),
  .ok("'  pad \\t'.trim()", .string("pad")),
  .ok("'a,b,c'.split(',')", .list([.string("a"), .string("b"), .string("c")])),
  .ok("'a,b,c'.split(',', 2)", .list([.string("a"), .string("b,c")])),
  .ok("['a', 'b'].join('-')", .string("a-b")),
  .ok("'hello'.indexOf('l')", .int(2)),
  .ok("'hello'.lastIndexOf('l')", .int(3)),
  .ok("'abc'.indexOf('bc', 3)", .int(-1)),
  .ok("'abc'.indexOf('', 3)", .int(3)),
  .ok("'abcabc'.lastIndexOf('bc', 3)", .int(1)),
  .ok("'abc'.indexOf('abcd')", .int(-1)),
  .fails("'abc'.indexOf('a', 4)", "index out of range: 4"),
  .ok("'hello'.replace('l', 'L')", .string("heLLo")),
  .ok("'hello'.replace('l', 'L', 1)", .string("heLlo")),
  .ok("'hello'.substring(1, 3)", .string("el")),
  .ok("'hello'.charAt(1)", .string("e")),
  .fails("'hello'.substring(2, 9)", "index out of range: 9"),
  .ok("[1, 2, 2, 5].isSorted()", .bool(true)),
  .ok("[3, 1].isSorted()", .bool(false)),
  .ok("[1, 2, 3].sum()", .int(6)),
  .ok("[1.5, 2.5].sum()", .double(4)),
  .ok("[3, 1, 2].min()", .int(1)),
  .ok("[3, 1, 2].max()", .int(3)),
  .ok("[1, 2, 3].indexOf(2)", .int(1)),
  .fails("[].min()", "min called on empty list"),
  .refused("'abc'.matches('(?=a)')", "error parsing regexp: invalid or unsupported Perl syntax"),
  .fails("'abc'.matches('(' + '?=a)')", "error parsing regexp: invalid or unsupported Perl syntax"),
  .refused("'abc'.matches('[')", "invalid matches argument"),
  .refused("nosuch(1)", "undeclared reference to 'nosuch' (in container '')"),
  .refused("'a'.nosuch()", "undeclared reference to 'nosuch' (in container '')"),
  .refused("size(1, 2)", "found no matching overload for 'size' applied to '(int, int)'"),
  .refused("'abc'.startsWith()", "found no matching overload for 'startsWith' applied to 'string.()'"),
  .refused("nobody > 1", "undeclared reference to 'nobody' (in container '')"),
  .ok("'%s has %d replicas'.format([self.name, self.replicas])", .string("orin-a has 3 replicas")),
  .ok("'%.2f%%'.format([12.3456])", .string("12.35%")),
  .ok("'%.1f'.format([0.25])", .string("0.2")),
  .ok("'%x/%X/%o/%b'.format([255, 255, 8, 5])", .string("ff/FF/10/101")),
  .ok("'%e'.format([1234.5])", .string("1.234500e+03")),
  .ok("'%s'.format([[1, 'a']])", .string("list")),
  .fails("'%d'.format(['x'])", "decimal clause can only be used on integers"),
  .fails("'%s %s'.format(['x'])", "index 1 out of range"),
  // conversions
  .ok("int('42')", .int(42)),
  .ok("int(3.9)", .int(3)),
  .ok("uint(3)", .uint(3)),
  .ok("double(2)", .double(2)),
  .ok("string(42)", .string("42")),
  .ok("string(1.5)", .string("1.5")),
  .ok("string(1e6)", .string("1e+06")),
  .ok("string(true)", .string("true")),
  .ok("'replicas: ' + string(self.replicas)", .string("replicas: 3")),
  .fails("int('x')", "cannot convert string 'x' to int"),
  .fails("int(1e19)", "integer overflow"),
  .fails("uint(-1)", "unsigned integer overflow"),
  .ok("type(1) == int", .bool(true)),
  .ok("type(self.name) == string", .bool(true)),
  // durations, timestamps and quantities
  .ok("duration('1h30m') == duration('90m')", .bool(true)),
  .ok("duration('1m') > duration('59s')", .bool(true)),
  .ok("string(duration('1m30s'))", .string("90s")),
  .ok("duration('1h').getMinutes()", .int(60)),
  .ok("timestamp('2024-01-01T00:00:00Z') + duration('24h') == timestamp('2024-01-02T00:00:00Z')", .bool(true)),
  .ok("timestamp('2024-01-02T00:00:00Z') - timestamp('2024-01-01T00:00:00Z') == duration('24h')", .bool(true)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getFullYear()", .int(2024)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getMonth()", .int(2)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getDate()", .int(1)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getDayOfYear()", .int(60)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getDayOfWeek()", .int(5)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getHours()", .int(13)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getMinutes('UTC')", .int(45)),
  .ok("timestamp('2024-03-01T13:45:30.250Z').getMilliseconds()", .int(250)),
  .ok("timestamp('1969-12-31T23:00:00Z').getDayOfWeek()", .int(3)),
  .fails("duration('forever')", "type conversion error from 'string' to 'google.protobuf.Duration'"),
  .ok("quantity('1Gi').isGreaterThan(quantity('1G'))", .bool(true)),
  .ok("quantity('500m').compareTo(quantity('0.5'))", .int(0)),
  .ok("quantity('2k').asInteger()", .int(2000)),
  .ok("quantity('1.5').asApproximateFloat()", .double(1.5)),
  .ok("isQuantity('12Mi')", .bool(true)),
  .ok("isQuantity('12 apples')", .bool(false)),
  // syntax
  .refused("1 +", "Syntax error"),
  .refused("(1", "Syntax error"),
  .refused("'unterminated", "Syntax error"),
  .refused("if", "reserved identifier: if"),
  .refused("1 = 1", "Syntax error"),
]

@Suite("CEL expressions")
struct CELExpressionTests {
  @Test("Each expression evaluates to cel-go's value or error", arguments: celExpressionCases)
  func evaluates(_ c: CELCase) throws {
    let declarations = celTestVariables.mapValues { _ in CELType.dyn }
    switch c.outcome {
    case .compileError(let message):
      do {
        _ = try CELProgram.compile(c.expression, variables: declarations)
        Issue.record("compiled, expected: \(message)")
      } catch {
        #expect(error.message.contains(message), "got: \(error.message)")
      }
    case .value(let expected):
      let program = try CELProgram.compile(c.expression, variables: declarations)
      let value = try program.evaluate(celTestVariables).value
      #expect(value.typeName == expected.typeName && CELValue.equals(value, expected), "got \(value)")
    case .error(let message):
      let program = try CELProgram.compile(c.expression, variables: declarations)
      do {
        let value = try program.evaluate(celTestVariables).value
        Issue.record("evaluated to \(value), expected error: \(message)")
      } catch {
        #expect(error.description.contains(message), "got: \(error)")
      }
    }
  }

  @Test("A parse error is shown as cel-go shows it, with the column and a caret")
  func rendersCompileErrors() {
    do {
      _ = try CELProgram.compile("self == true", variables: ["self": .int])
      Issue.record("compiled")
    } catch {
      #expect(error.render(source: "self == true") == "ERROR: <input>:1:6: found no matching overload for '_==_' applied to '(int, bool)'\n | self == true\n | .....^")
    }
  }

  @Test("Deeply nested input is refused, not a stack overflow", arguments: [
    String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000),
    String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000),
    String(repeating: "!", count: 5000) + "true",
    Array(repeating: "1", count: 5000).joined(separator: " + "),
    "x" + String(repeating: ".y", count: 5000),
  ])
  func boundsNesting(_ source: String) {
    do {
      _ = try CELProgram.compile(source, variables: ["x": .dyn])
      Issue.record("compiled")
    } catch {
      #expect(error.message.contains("recursion limit"))
    }
  }
}
