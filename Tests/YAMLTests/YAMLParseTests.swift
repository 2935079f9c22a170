import KubeCore
import Testing
@testable import YAML

private func json(_ text: String) throws -> JSONValue { try JSONValue(parsing: text) }

private func parsed(_ yaml: String) throws -> String { try YAML.parse(yaml).serializedString() }

@Test("Null spellings ~, null, Null, NULL and empty values read as null", arguments: ["~", "null", "Null", "NULL", ""])
func yamlNulls(_ word: String) throws {
  #expect(try parsed("a: \(word)") == #"{"a":null}"#)
}

@Test("YAML 1.1 booleans read as go-yaml v2 reads them", arguments: [
  ("y", true), ("Y", true), ("yes", true), ("Yes", true), ("YES", true), ("true", true), ("True", true), ("TRUE", true),
  ("on", true), ("On", true), ("ON", true), ("n", false), ("N", false), ("no", false), ("No", false), ("NO", false),
  ("false", false), ("False", false), ("FALSE", false), ("off", false), ("Off", false), ("OFF", false),
])
func yamlBooleans(_ word: String, _ value: Bool) throws {
  #expect(try YAML.parse("a: \(word)")["a"] == .bool(value))
}

@Test("Words that only look boolean stay strings", arguments: ["yES", "tRUE", "Nope", "oN", "t", "f"])
func yamlNotBooleans(_ word: String) throws {
  #expect(try YAML.parse("a: \(word)")["a"] == .string(word))
}

@Test("Integers follow Go's ParseInt with base prefixes, signs and underscores", arguments: [
  ("0777", "511"), ("0o17", "15"), ("0x1F", "31"), ("0b101", "5"), ("+1", "1"), ("-1", "-1"), ("1_000", "1000"),
  ("-0x10", "-16"), ("9223372036854775807", "9223372036854775807"), ("18446744073709551615", "18446744073709551615"),
  ("0", "0"), ("007", "7"),
])
func yamlIntegers(_ text: String, _ literal: String) throws {
  #expect(try YAML.parse("a: \(text)")["a"] == .number(JSONNumber(unchecked: literal)))
}

@Test("Floats and out-of-range integers become JSON numbers as encoding/json prints them", arguments: [
  ("1e3", "1000"), ("1.5", "1.5"), (".5", "0.5"), ("1.", "1"), ("-.5e1", "-5"), ("08", "8"), ("1.0", "1"),
  ("123456789012345678901234567890", "1.2345678901234568e+29"), ("1e21", "1e+21"),
  ("-9223372036854775809", "-9223372036854776000"),
])
func yamlFloats(_ text: String, _ literal: String) throws {
  #expect(try YAML.parse("a: \(text)")["a"]?.numberValue?.literal == literal)
}

@Test("NaN and infinities have no JSON form and are rejected as sigs.k8s.io/yaml does", arguments: [
  (".nan", "NaN"), (".NaN", "NaN"), (".inf", "+Inf"), (".Inf", "+Inf"), ("+.INF", "+Inf"), ("-.inf", "-Inf"), ("-.Inf", "-Inf"),
])
func yamlNonFinite(_ text: String, _ shown: String) {
  #expect(throws: YAMLError(message: "json: unsupported value: \(shown)", line: 1, column: 4)) { try YAML.parse("a: \(text)") }
}

@Test("Things that are not numbers stay strings", arguments: ["1e400", "1.2.3", "0x", "12:30:00x", "1e", "2026-11-25", "+", ".", "1_000.5x"])
func yamlNotNumbers(_ text: String) throws {
  #expect(try YAML.parse("a: \(text)")["a"] == .string(text))
}

@Test("Quoted scalars are always strings")
func yamlQuoted() throws {
  #expect(try parsed(#"a: "true"\#nb: '123'\#nc: "null"\#nd: ''"#) == #"{"a":"true","b":"123","c":"null","d":""}"#)
}

@Test("Tags !!str, !!int, !!float and !!bool force or check the type")
func yamlTags() throws {
  #expect(try parsed("a: !!str 123\nb: !!int \"42\"\nc: !!float 1\nd: !!bool yes\ne: !custom 7") == #"{"a":"123","b":42,"c":1,"d":true,"e":"7"}"#)
  #expect(throws: YAMLError(message: "cannot decode !!str `abc` as a !!int", line: 1, column: 4)) { try YAML.parse("a: !!int abc") }
}

@Test("!!binary scalars are base64-decoded, as go-yaml v2 does")
func yamlBinary() throws {
  #expect(try YAML.parse("a: !!binary aGVsbG8=\nb: !!binary |\n  aGVs\n  bG8h\n")  == ["a": "hello", "b": "hello!"])
  #expect(throws: YAMLError(message: "!!binary value contains invalid base64 data", line: 1, column: 4)) { try YAML.parse("a: !!binary aGVsbG8") }
}

@Test("Anchors and aliases reuse a node")
func yamlAnchors() throws {
  #expect(try parsed("base: &b {x: 1}\ncopy: *b\nlist: [&s hi, *s]") == #"{"base":{"x":1},"copy":{"x":1},"list":["hi","hi"]}"#)
  #expect(throws: YAMLError(message: "unknown anchor 'nope' referenced", line: 1, column: 4)) { try YAML.parse("a: *nope") }
}

@Test("Merge keys << take a mapping, explicit keys after them win")
func yamlMergeSingle() throws {
  #expect(try parsed("base: &b {p: 1, q: 2}\nd:\n  <<: *b\n  q: 3") == #"{"base":{"p":1,"q":2},"d":{"p":1,"q":3}}"#)
}

@Test("Merge keys << take a list of mappings, earlier ones win")
func yamlMergeList() throws {
  let text = "a: &a {p: 1}\nb: &b {p: 2, q: 2}\nd:\n  <<: [*a, *b]\n  r: 3"
  #expect(try YAML.parse(text)["d"] == (try json(#"{"p":1,"q":2,"r":3}"#)))
  #expect(throws: YAMLError(message: "map merge requires map or sequence of maps as the value", line: 1, column: 9)) { try YAML.parse("a: {<<: 1}") }
}

@Test("Duplicate mapping keys are rejected naming the key and its line")
func yamlDuplicateKeys() {
  #expect(throws: YAMLError(message: #"key "a" already set in map"#, line: 3, column: 1)) { try YAML.parse("a: 1\nb: 2\na: 3") }
  #expect(throws: YAMLError(message: "key 1 already set in map", line: 2, column: 1)) { try YAML.parse("1: a\n1: b") }
}

@Test("Non-string keys become strings as sigs.k8s.io/yaml converts them")
func yamlNonStringKeys() throws {
  #expect(try parsed("1: a\ntrue: b\n1.5: c\n0x10: d\n1e7: e\n0.1: f") == #"{"1":"a","true":"b","1.5":"c","16":"d","1e+07":"e","0.1":"f"}"#)
}

@Test("A bare y or n key is a boolean key, as in go-yaml v2 (the Norway problem)")
func yamlNorwayKeys() throws {
  #expect(try parsed("y: 1\nn: 2") == #"{"true":1,"false":2}"#)
  #expect(throws: YAMLError(message: "key false already set in map", line: 2, column: 1)) { try YAML.parse("n: 1\nNO: 2") }
}

@Test("Null and collection keys are rejected")
func yamlBadKeys() {
  #expect(throws: YAMLError.self) { try YAML.parse("~: a") }
  #expect(throws: YAMLError.self) { try YAML.parse("? [a]\n: b") }
}

@Test("Multi-document streams split on --- and drop a trailing empty document")
func yamlDocuments() throws {
  #expect(try YAML.parseDocuments("a: 1\n---\nb: 2\n---\n") == [json(#"{"a":1}"#), json(#"{"b":2}"#)])
  #expect(try YAML.parseDocuments("") == [])
  #expect(try YAML.parseDocuments("--- 1\n--- ~\n") == [1, .null])
  #expect(try YAML.parse("") == .null)
  #expect(try YAML.parse("# only a comment\n") == .null)
  #expect(throws: YAMLError(message: "expected a single YAML document, found 2", line: 1, column: 1)) { try YAML.parse("a\n---\nb") }
}

@Test("A JSON object is read as JSON, keeping numbers exact as kubectl's JSON path does")
func yamlJSONInput() throws {
  #expect(try parsed(#"  {"n": 123456789012345678901234567890, "a": 1, "a": 2}"#) == #"{"n":123456789012345678901234567890,"a":2}"#)
  #expect(try parsed("{a: yes}") == #"{"a":true}"#)
}

@Test("Timestamps stay strings, as go-yaml v2 leaves them in interface{}")
func yamlTimestamps() throws {
  #expect(try parsed("t: 2026-11-25T12:00:00Z\nd: 2026-11-25") == #"{"t":"2026-11-25T12:00:00Z","d":"2026-11-25"}"#)
}

@Test("Block scalars keep their text")
func yamlBlockScalars() throws {
  #expect(try YAML.parse("a: |\n  line 1\n  line 2\nb: >\n  folded\n  text\n") == (try json(#"{"a":"line 1\nline 2\n","b":"folded text\n"}"#)))
}

@Test("Alias bombs are refused instead of expanding", arguments: [9, 10, 30])
func yamlAliasBomb(_ width: Int) {
  var text = "a0: &a0 [" + Array(repeating: "x", count: width).joined(separator: ", ") + "]\n"
  for i in 1...9 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: width).joined(separator: ", ") + "]\n" }
  do {
    _ = try YAML.parse(text)
    Issue.record("an alias bomb was accepted")
  } catch {
    #expect(error.message == "document contains excessive aliasing")
  }
}

struct MalformedYAML: Sendable, CustomStringConvertible {
  var text: String
  var message: String
  var line: Int
  var description: String { text }
}

@Test("Malformed YAML gives libyaml's problem with a 1-based line and column", arguments: [
  MalformedYAML(text: "a: b: c", message: "mapping values are not allowed in this context", line: 1),
  MalformedYAML(text: "a: [1, 2", message: "did not find expected ',' or ']'", line: 2),
  MalformedYAML(text: "a:\n  - 1\n - 2", message: "did not find expected key", line: 3),
  MalformedYAML(text: "a: \"unterminated", message: "found unexpected end of stream", line: 1),
  MalformedYAML(text: "\ta: 1", message: "found character that cannot start any token", line: 1),
  MalformedYAML(text: "a: @b", message: "found character that cannot start any token", line: 1),
  MalformedYAML(text: "{a: 1", message: "did not find expected ',' or '}'", line: 2),
  MalformedYAML(text: "- a\nb: c", message: "did not find expected '-' indicator", line: 2),
  MalformedYAML(text: "a: &x\nb: *y", message: "unknown anchor 'y' referenced", line: 2),
  MalformedYAML(text: "a: 'x'y", message: "did not find expected key", line: 1),
  MalformedYAML(text: "%YAML 9.9\n--- a", message: "found incompatible YAML document", line: 1),
])
func malformedYAML(_ c: MalformedYAML) {
  do {
    _ = try YAML.parseDocuments(c.text)
    Issue.record("expected an error for \(c.text)")
  } catch {
    #expect(error.message == c.message)
    #expect(error.line == c.line)
    #expect(error.column >= 1)
  }
}

