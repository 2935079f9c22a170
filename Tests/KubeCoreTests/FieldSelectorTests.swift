import Testing
@testable import KubeCore

@Test("Field selectors parse terms, operators and escapes like fields.ParseSelector", arguments: [
  ("", ""),
  ("metadata.name=web", "metadata.name=web"),
  ("status.phase==Running", "status.phase=Running"),
  ("spec.nodeName!=n1,metadata.name=a", "metadata.name=a,spec.nodeName!=n1"),
  (#"a=x\,y\=z\\"#, #"a=x\,y\=z\\"#),
  ("a=", "a="),
  ("=", ""),
  // TestSelectorParse's good strings (k8s.io/apimachinery/pkg/fields/selector_test.go) restring unchanged.
  ("x=a,y=b,z=c", "x=a,y=b,z=c"),
  ("x!=a,y=b", "x!=a,y=b"),
  (#"x=a||y\=b"#, #"x=a||y\=b"#),
  (#"x=a\=\=b"#, #"x=a\=\=b"#),
])
func fieldSelectorParse(_ text: String, _ canonical: String) throws {
  let selector = try FieldSelector.parse(text)
  #expect(selector.description == canonical)
}

@Test("Escaped field selector values are unescaped before matching")
func fieldSelectorUnescapes() throws {
  let selector = try FieldSelector.parse(#"metadata.name=a\,b"#)
  #expect(selector.requirements == [FieldRequirement(field: "metadata.name", op: .equals, value: "a,b")])
  #expect(selector.matches { $0 == "metadata.name" ? "a,b" : nil })
}

@Test("Field selectors match known fields and read unknown ones as empty")
func fieldSelectorMatching() throws {
  let fields = ["metadata.name": "web", "status.phase": "Running"]
  let lookup: (String) -> String? = { fields[$0] }
  #expect(try FieldSelector.parse("metadata.name=web,status.phase!=Failed").matches(lookup))
  #expect(try !FieldSelector.parse("metadata.name=api").matches(lookup))
  #expect(try FieldSelector.parse("spec.nodeName=").matches(lookup))
  #expect(try FieldSelector.parse("spec.nodeName!=n1").matches(lookup))
  #expect(try FieldSelector.parse("").matches(lookup))
}

@Test("Malformed field selectors are rejected with apimachinery's message", arguments: [
  ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
  ("a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
  ("a=b=c", "invalid field selector: unescaped character in value: 61"),
  ("x=a||y=b", "invalid field selector: unescaped character in value: 61"),
  ("x==a==b", "invalid field selector: unescaped character in value: 61"),
  ("x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'"),
  (#"a=b\q"#, #"invalid field selector: invalid escape sequence: \q"#),
  (#"a=b\"#, #"invalid field selector: invalid escape sequence: \"#),
])
func malformedFieldSelector(_ text: String, _ message: String) {
  #expect(throws: FieldSelectorError(message)) { try FieldSelector.parse(text) }
}
