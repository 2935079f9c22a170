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

@Test("A projection builds the kept members only, and the kept part equals the full parse's")
func projectedParse() throws {
  let event = #"""
  {"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","resourceVersion":"42",
   "managedFields":[{"manager":"kubelet","fieldsV1":{"f:status":{"f:phase":{},"k:{\"type\":\"Ready\"}":{".":{}}}}}],
   "labels":{"a":"1"}},"spec":{"nodeName":"n1","containers":[{"name":"c","args":["--x=\"q\"","\u00e9\ud83d\ude00",1e3,-0.5,true,null]}]},
   "status":{"phase":"Running","hostIP":"10.0.0.1","conditions":[{"type":"Ready","status":"True"}]}}}
  """#
  let projection = JSONProjection.keeping(members: ["object": .keeping(members: [
    "metadata": .keeping(dropping: ["managedFields"]),
    "spec": .keeping(["nodeName"]),
    "status": .keeping(["phase", "conditions"]),
  ])])
  let projected = try JSONParser.parse(Array(event.utf8), projection: projection)
  var expected = try JSONValue(parsing: event)
  expected[path: ["object", "metadata", "managedFields"]] = nil
  expected[path: ["object", "spec", "containers"]] = nil
  expected[path: ["object", "status", "hostIP"]] = nil
  #expect(projected == expected)
  // Member order is the document's.
  #expect(projected["object"]?.objectValue?.keys == ["kind", "apiVersion", "metadata", "spec", "status"])
  // An array's items each take the array's projection (a list response's items).
  let list = try JSONParser.parse(Array(#"{"items":[{"a":1,"b":2},{"a":3,"c":[4]}]}"#.utf8),
                                  projection: .keeping(members: ["items": .keeping(dropping: ["b", "c"])]))
  #expect(list == ["items": [["a": 1], ["a": 3]]])
  #expect(try JSONParser.parse(Array("[1,2]".utf8), projection: .keeping(["x"])) == [1, 2])
}

@Test("A member left out by a projection must still be well formed: the same error, at the same place", arguments: [
  "[1,]", #"{"a":1,}"#, "01", "-", "1.", ".5", "1e", "+1", "[", #"{"a" 1}"#, #""\ud800""#, #""\x""#, #""\u00""#,
  "tru", "[1]x", "", "\"a\nb\"", "NaN", "{1:2}", "\u{FEFF}{}", "{'a':1}", #""\udc00""#, #"{"a":[{"b":[1 2]}]}"#,
])
func projectedParseErrors(_ skipped: String) {
  let text = #"{"keep":1,"skip":"# + skipped + #","after":true}"#
  var full: JSONParseError?
  var projected: JSONParseError?
  do { _ = try JSONValue(parsing: text) } catch { full = error }
  do { _ = try JSONParser.parse(Array(text.utf8), projection: .keeping(dropping: ["skip"])) } catch { projected = error }
  #expect(full != nil)
  #expect(projected == full)
}
