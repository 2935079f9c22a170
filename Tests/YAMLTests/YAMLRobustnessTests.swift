import KubeCore
import Testing
@testable import YAML

@Test("The YAML parser never crashes on mangled documents, and what it emits always parses")
func yamlSurvivesMutations() throws {
  let seed = "a: &x {b: [1, 'two', \"3\"]}\nc:\n  <<: *x\n  d: |\n    text\n---\n- !!int 7\n- ~\n"
  let characters = Array(seed)
  let alphabet: [Character] = [":", "-", "&", "*", "!", "<", "'", "\"", "{", "[", "\t", " ", "\n", "|", ">", "%", "#", "é"]
  var parsed = 0
  for end in 0...characters.count {
    if let documents = try? YAML.parseDocuments(String(characters[..<end])) { parsed += documents.count }
  }
  for index in characters.indices {
    for replacement in alphabet {
      var copy = characters
      copy[index] = replacement
      guard let documents = try? YAML.parseDocuments(String(copy)) else { continue }
      parsed += documents.count
      for document in documents {
        #expect(throws: Never.self) { try YAML.parse(YAML.emit(document)) }
      }
    }
  }
  #expect(parsed > 0)
}
