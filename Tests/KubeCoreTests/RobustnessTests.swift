import Testing
@testable import KubeCore

/// Every truncation of a valid input and every one-character replacement from an alphabet of
/// troublemakers: each parser must return or throw, never crash or hang.
private func mutations(of seed: String) -> [String] {
  let characters = Array(seed)
  var results: [String] = []
  for end in 0...characters.count { results.append(String(characters[..<end])) }
  let alphabet: [Character] = ["(", ")", ",", "=", "!", "\\", ".", "-", "e", "i", "K", "\"", "{", "[", "0", " ", "é", "\u{0}"]
  for index in characters.indices {
    for replacement in alphabet {
      var copy = characters
      copy[index] = replacement
      results.append(String(copy))
    }
  }
  return results
}

@Test("Selector, quantity, duration, timestamp and JSON parsers never crash on mangled input")
func parsersSurviveMutations() {
  var outcomes = 0
  for text in mutations(of: "app in (web,api),!legacy,tier!=db,x>1") {
    outcomes += (try? LabelSelector.parse(text)) == nil ? 0 : 1
  }
  for text in mutations(of: #"metadata.name=a\,b,status.phase!=Running"#) {
    outcomes += (try? FieldSelector.parse(text)) == nil ? 0 : 1
  }
  for text in mutations(of: "-1.5e3") + mutations(of: "1.5Gi") + mutations(of: "100m") {
    outcomes += (try? Quantity(parsing: text)) == nil ? 0 : 1
  }
  for text in mutations(of: "-1h30m0.5s") + mutations(of: "1.5µs") {
    outcomes += (try? GoDuration(parsing: text)) == nil ? 0 : 1
  }
  for text in mutations(of: "2026-11-25T12:00:00.123+01:00") {
    outcomes += (try? Timestamp(rfc3339: text)) == nil ? 0 : 1
  }
  for text in mutations(of: #"{"a":[1,-2.5e3,"\u00e9\ud83d\ude00",true,null],"b":{}}"#) {
    outcomes += (try? JSONValue(parsing: text)) == nil ? 0 : 1
  }
  #expect(outcomes > 0)
}
