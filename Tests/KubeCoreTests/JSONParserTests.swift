import Testing
@testable import KubeCore

@Test("Numbers round-trip byte for byte, however large or precise", arguments: [
  "9223372036854775807", "-9223372036854775808", "18446744073709551616", "123456789012345678901234567890",
  "1.0000000000000000001", "-0", "1E+2", "1e-400", "0.1", "3.141592653589793238462643383279",
])
func jsonLosslessNumbers(_ literal: String) throws {
  let value = try JSONValue(parsing: literal)
  #expect(value.numberValue?.literal == literal)
  #expect(value.serializedString() == literal)
}

@Test("Escapes and surrogate pairs decode to the right characters")
func jsonEscapes() throws {
  let value = try JSONValue(parsing: #""\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r""#)
  #expect(value == .string("é😀\n\t\"\\/\u{8}\u{C}\r"))
  #expect(try JSONValue(parsing: #""😀""#) == .string("😀"))
}

@Test("Objects keep key order and duplicate keys keep the last value, as Go does")
func jsonObjectOrder() throws {
  let value = try JSONValue(parsing: #"{"z":1,"a":{"y":[true,false,null]},"m":"x"}"#)
  #expect(value.objectValue?.keys == ["z", "a", "m"])
  #expect(value.serializedString() == #"{"z":1,"a":{"y":[true,false,null]},"m":"x"}"#)
  #expect(try JSONValue(parsing: #"{"a":1,"a":2}"#) == ["a": 2])
}

@Test("Nesting up to the depth limit parses; deeper input is an error, not a crash")
func jsonDepth() throws {
  let limit = JSONParser.maximumDepth
  let ok = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
  #expect(try JSONValue(parsing: ok).arrayValue != nil)
  let tooDeep = String(repeating: "[", count: 100_000)
  #expect(throws: JSONParseError.self) { try JSONValue(parsing: tooDeep) }
  let deepObject = String(repeating: #"{"a":"#, count: limit + 1) + "1" + String(repeating: "}", count: limit + 1)
  #expect(throws: JSONParseError.self) { try JSONValue(parsing: deepObject) }
}

struct MalformedJSON: Sendable, CustomStringConvertible {
  var text: String
  var line: Int
  var column: Int
  var description: String { text }
}

@Test("Malformed JSON is rejected with Go-style messages and the line and column", arguments: [
  MalformedJSON(text: "[1,]", line: 1, column: 4),
  MalformedJSON(text: #"{"a":1,}"#, line: 1, column: 8),
  MalformedJSON(text: "01", line: 1, column: 2),
  MalformedJSON(text: "-", line: 1, column: 2),
  MalformedJSON(text: "1.", line: 1, column: 3),
  MalformedJSON(text: ".5", line: 1, column: 1),
  MalformedJSON(text: "1e", line: 1, column: 3),
  MalformedJSON(text: "+1", line: 1, column: 1),
  MalformedJSON(text: "[", line: 1, column: 2),
  MalformedJSON(text: #"{"a" 1}"#, line: 1, column: 6),
  MalformedJSON(text: #""\ud800""#, line: 1, column: 2),
  MalformedJSON(text: #""\x""#, line: 1, column: 3),
  MalformedJSON(text: #""\u00""#, line: 1, column: 6),
  MalformedJSON(text: "tru", line: 1, column: 4),
  MalformedJSON(text: "[1]x", line: 1, column: 4),
  MalformedJSON(text: "", line: 1, column: 1),
  MalformedJSON(text: "  ", line: 1, column: 3),
  MalformedJSON(text: "\"a\nb\"", line: 1, column: 3),
  MalformedJSON(text: "[1,\n 2,\n x]", line: 3, column: 2),
  MalformedJSON(text: "NaN", line: 1, column: 1),
  MalformedJSON(text: "Infinity", line: 1, column: 1),
  MalformedJSON(text: "{1:2}", line: 1, column: 2),
  MalformedJSON(text: "\u{FEFF}{}", line: 1, column: 1),
  MalformedJSON(text: "// comment\n{}", line: 1, column: 1),
  MalformedJSON(text: "{'a':1}", line: 1, column: 2),
])
func malformedJSON(_ c: MalformedJSON) {
  do {
    _ = try JSONValue(parsing: c.text)
    Issue.record("expected an error for \(c.text.debugDescription)")
  } catch {
    #expect(error.line == c.line)
    #expect(error.column == c.column)
    #expect(!error.message.isEmpty)
  }
}

@Test("JSON error messages read like encoding/json's")
func jsonErrorMessages() {
  #expect(throws: JSONParseError.self) { try JSONValue(parsing: "[1,]") }
  do { _ = try JSONValue(parsing: "[1,]") } catch {
    #expect(error.message == "invalid character ']' looking for beginning of value")
    #expect(error.description == "invalid character ']' looking for beginning of value (line 1, column 4)")
  }
  do { _ = try JSONValue(parsing: "") } catch { #expect(error.message == "unexpected end of JSON input") }
  do { _ = try JSONValue(parsing: "\"a\nb\"") } catch { #expect(error.message == #"invalid character '\n' in string literal"#) }
  do { _ = try JSONValue(parsing: "\u{FEFF}{}") } catch { #expect(error.message == "invalid character 'ï' looking for beginning of value") }
}
