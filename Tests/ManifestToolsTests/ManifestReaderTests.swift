import Foundation
import KubeCore
import Testing
@testable import ManifestTools

@Suite("Reading manifests")
struct ManifestReaderTests {
  @Test("each document of a file keeps its index and the line it starts on, and fields their lines")
  func documentsAndLines() throws {
    let text = """
      # a comment
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: a}
      ---
      apiVersion: edgeml.io/v1alpha1
      kind: EdgeModel
      metadata:
        name: b
      spec:
        engine:
          precision: fp8
        shapes:
        - min
        - opt
      """
    let (documents, problem) = ManifestReader.parse(text, file: "m.yaml")
    #expect(problem == nil)
    try #require(documents.count == 2)
    #expect(documents.map(\.index) == [0, 1])
    #expect(documents.map(\.line) == [2, 6])
    #expect(documents[1].line(ofField: "spec.engine.precision") == 12)
    #expect(documents[1].line(ofField: "spec.shapes[1]") == 15)
    // A field the file does not spell (a default, a CEL rule on the object) points at its nearest parent.
    #expect(documents[1].line(ofField: "spec.engine.cache.hostPath") == 11)
    #expect(documents[1].line(ofField: "status") == 6)
  }

  @Test("a kind: List gives its items, each with its own line")
  func listItems() throws {
    let text = """
      apiVersion: v1
      kind: List
      items:
      - apiVersion: edgeml.io/v1alpha1
        kind: Rollout
        metadata: {name: a}
      - apiVersion: edgeml.io/v1alpha1
        kind: Rollout
        metadata:
          name: b
      """
    let (documents, problem) = ManifestReader.parse(text, file: "list.yaml")
    #expect(problem == nil)
    #expect(documents.map(\.item) == [0, 1])
    #expect(documents.map(\.line) == [4, 7])
    #expect(documents[1].line(ofField: "metadata.name") == 10)
  }

  @Test("text that is not YAML, a document that is not an object, or one without kind is a problem with its line", arguments: [
    ("a: [1, 2\nb: 3\n", 2, "not YAML"),
    ("just some words\n", 1, "is not a Kubernetes object but a string"),
    ("apiVersion: v1\nkind: ConfigMap\n---\n- 1\n- 2\n", 4, "document 2 is not a Kubernetes object but a list"),
    ("metadata: {name: x}\n", 1, "apiVersion not set, kind not set"),
  ])
  func problems(text: String, line: Int, message: String) throws {
    let (documents, problem) = ManifestReader.parse(text, file: "bad.yaml")
    #expect(documents.isEmpty)
    let p = try #require(problem)
    #expect(p.line == line)
    #expect(p.message.contains(message), "\(p.message)")
  }

  @Test("a directory gives its .yaml, .yml and .json files in name order; a missing path is a problem")
  func directories() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-reader-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for (name, kind) in [("b.yml", "B"), ("a.yaml", "A"), ("c.json", "C"), ("notes.txt", "X"), (".hidden.yaml", "H")] {
      let body = name.hasSuffix(".json") ? "{\"apiVersion\": \"v1\", \"kind\": \"\(kind)\"}" : "apiVersion: v1\nkind: \(kind)\n"
      try body.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }
    let missing = dir.appendingPathComponent("nope.yaml").path
    let (documents, problems) = ManifestReader.read(paths: [dir.path, missing, "-"]) { "apiVersion: v1\nkind: S\n" }
    #expect(documents.map { $0.object["kind"]?.stringValue ?? "" } == ["A", "B", "C", "S"])
    #expect(documents.last?.file == "STDIN")
    #expect(problems == [ManifestInputProblem(file: missing, line: nil, message: "no such file or directory")])
  }

  @Test("input with no object at all (an empty file, only comments) is a problem, as kubectl's apply refuses it")
  func noObjects() {
    let (documents, problems) = ManifestReader.read(paths: ["-"]) { "# nothing here\n---\n" }
    #expect(documents.isEmpty)
    #expect(problems == [ManifestInputProblem(file: "STDIN", line: nil, message: "no objects in the input")])
  }
}
