import Testing
@testable import CEL

/// Property names as CEL expressions spell them (the escaping rules `CELEscaping` follows): the plain
/// ones as they are, the rest escaped or unreachable.
@Suite("CEL property-name escaping")
struct CELEscapingTests {
  @Test("a property name is reached by its escaped spelling, plain names as they are", arguments: [
    ("replicas", "replicas"), ("_private", "_private"), ("a_b_c9", "a_b_c9"), ("X", "X"),
    ("in", "__in__"), ("namespace", "__namespace__"), ("true", "__true__"),
    ("a__b", "a__underscores__b"), ("__x", "__underscores__x"), ("x-prop", "x__dash__prop"),
    ("a.b", "a__dot__b"), ("a/b", "a__slash__b"), (".dot", "__dot__dot"),
  ])
  func escapes(_ name: String, _ escaped: String) {
    #expect(CELEscaping.escape(name) == escaped)
  }

  @Test("a name CEL cannot spell is unreachable", arguments: ["", "1a", "a b", "naïve", "a:b"])
  func unreachable(_ name: String) {
    #expect(CELEscaping.escape(name) == nil)
  }
}
