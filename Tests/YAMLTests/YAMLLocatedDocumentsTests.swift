import KubeCore
import Testing
import YAML

@Test("Located documents give the same values as parseDocuments, with each document's first line and its fields' lines")
func yamlLocatedDocuments() throws {
  let text = """
    # leading comment
    first: 1
    ---
    base: &base {image: a}
    spec:
      containers:
      - name: c
        <<: *base
        ports: [{containerPort: 80}]
      copy: *base
    ---

    """
  let located = try YAML.parseLocatedDocuments(text)
  #expect(located.map(\.value) == (try YAML.parseDocuments(text)))
  #expect(located.map(\.line) == [2, 4])
  #expect(located[0].fieldLines == ["first": 2])
  #expect(located[1].fieldLines["base"] == 4)
  #expect(located[1].fieldLines["spec.containers[0].name"] == 7)
  #expect(located[1].fieldLines["spec.containers[0].ports[0].containerPort"] == 9)
  #expect(located[1].fieldLines["spec.copy"] == 10)
  // What an alias or a merge brings has no line of its own.
  #expect(located[1].fieldLines["spec.containers[0].image"] == nil)
  #expect(located[1].fieldLines["spec.copy.image"] == nil)
  // A document's lines are its own: the first document's keys are not in the second's.
  #expect(located[1].fieldLines["first"] == nil)
}

@Test("A JSON stream is one located document on line 1, without field lines")
func yamlLocatedJSON() throws {
  let located = try YAML.parseLocatedDocuments(#"{"kind": "List", "items": []}"#)
  #expect(located.map(\.line) == [1])
  #expect(located.first?.fieldLines.isEmpty == true)
}
