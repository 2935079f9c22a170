import KubeCore
import Testing

@testable import KubeEmulator

/// RFC 6902 appendix A: a document, a patch, and the result (nil when the patch must fail).
@Test("JSON patch gives the RFC 6902 appendix A results", arguments: [
  PatchCase(name: "A.1 adding an object member", original: #"{"foo":"bar"}"#,
                   patch: #"[{"op":"add","path":"/baz","value":"qux"}]"#, result: #"{"baz":"qux","foo":"bar"}"#),
  PatchCase(name: "A.2 adding an array element", original: #"{"foo":["bar","baz"]}"#,
                   patch: #"[{"op":"add","path":"/foo/1","value":"qux"}]"#, result: #"{"foo":["bar","qux","baz"]}"#),
  PatchCase(name: "A.3 removing an object member", original: #"{"baz":"qux","foo":"bar"}"#,
                   patch: #"[{"op":"remove","path":"/baz"}]"#, result: #"{"foo":"bar"}"#),
  PatchCase(name: "A.4 removing an array element", original: #"{"foo":["bar","qux","baz"]}"#,
                   patch: #"[{"op":"remove","path":"/foo/1"}]"#, result: #"{"foo":["bar","baz"]}"#),
  PatchCase(name: "A.5 replacing a value", original: #"{"baz":"qux","foo":"bar"}"#,
                   patch: #"[{"op":"replace","path":"/baz","value":"boo"}]"#, result: #"{"baz":"boo","foo":"bar"}"#),
  PatchCase(name: "A.6 moving a value", original: #"{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}"#,
                   patch: #"[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]"#,
                   result: #"{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}"#),
  PatchCase(name: "A.7 moving an array element", original: #"{"foo":["all","grass","cows","eat"]}"#,
                   patch: #"[{"op":"move","from":"/foo/1","path":"/foo/3"}]"#, result: #"{"foo":["all","cows","eat","grass"]}"#),
  PatchCase(name: "A.8 testing a value: success", original: #"{"baz":"qux","foo":["a",2,"c"]}"#,
                   patch: #"[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]"#,
                   result: #"{"baz":"qux","foo":["a",2,"c"]}"#),
  PatchCase(name: "A.9 testing a value: error", original: #"{"baz":"qux"}"#,
                   patch: #"[{"op":"test","path":"/baz","value":"bar"}]"#, result: nil),
  PatchCase(name: "A.10 adding a nested member object", original: #"{"foo":"bar"}"#,
                   patch: #"[{"op":"add","path":"/child","value":{"grandchild":{}}}]"#, result: #"{"foo":"bar","child":{"grandchild":{}}}"#),
  PatchCase(name: "A.11 ignoring unrecognized elements", original: #"{"foo":"bar"}"#,
                   patch: #"[{"op":"add","path":"/baz","value":"qux","xyz":123}]"#, result: #"{"foo":"bar","baz":"qux"}"#),
  PatchCase(name: "A.12 adding to a nonexistent target", original: #"{"foo":"bar"}"#,
                   patch: #"[{"op":"add","path":"/baz/bat","value":"qux"}]"#, result: nil),
  PatchCase(name: "A.14 ~ escape ordering", original: #"{"/":9,"~1":10}"#,
                   patch: #"[{"op":"test","path":"/~01","value":10}]"#, result: #"{"/":9,"~1":10}"#),
  PatchCase(name: "A.15 comparing strings and numbers", original: #"{"/":9,"~1":10}"#,
                   patch: #"[{"op":"test","path":"/~01","value":"10"}]"#, result: nil),
  PatchCase(name: "A.16 adding an array value", original: #"{"foo":["bar"]}"#,
                   patch: #"[{"op":"add","path":"/foo/-","value":["abc","def"]}]"#, result: #"{"foo":["bar",["abc","def"]]}"#),
])
func jsonPatchAppendixA(_ example: PatchCase) throws {
  let document = try PatchFixtures.json(example.original)
  let patch = try PatchFixtures.json(example.patch)
  if let expected = example.result {
    #expect(try JSONPatch.apply(patch, to: document) == (try PatchFixtures.json(expected)))
  } else {
    let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: document) }
    #expect(error?.statusCode == 422)
    #expect(error?.reason == "Invalid")
  }
}

@Test("a failed JSON patch test answers 422 Invalid with the API server's generic message, not 409")
func failedTestIs422() throws {
  let patch = try PatchFixtures.json(#"[{"op":"test","path":"/spec/replicas","value":99},{"op":"replace","path":"/spec/replicas","value":1}]"#)
  let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: try PatchFixtures.json(#"{"spec":{"replicas":8}}"#)) }
  #expect(error == .testFailed(index: 0, path: "/spec/replicas"))
  #expect(error?.statusCode == 422)
  #expect(error?.message == "the server rejected our request due to an error in our request")
  #expect(error?.detail == "testing value /spec/replicas failed: test failed")
  let status = try #require(error?.status)
  #expect(status.serializedString() == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server rejected our request due to an error in our request","reason":"Invalid","details":{},"code":422}"#)
}

@Test("a JSON patch is all or nothing: a later failing operation leaves no earlier change behind")
func jsonPatchIsAtomic() throws {
  let document = try PatchFixtures.json(#"{"a":1,"list":[1,2]}"#)
  let patch = try PatchFixtures.json(#"[{"op":"replace","path":"/a","value":2},{"op":"remove","path":"/list/5"}]"#)
  let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: document) }
  #expect(error == .operationFailed(index: 1, detail: "error in remove for path: '/list/5': Unable to access invalid index: 5: invalid index referenced"))
  #expect(document == (try PatchFixtures.json(#"{"a":1,"list":[1,2]}"#)))
}

@Test("JSON patch copy, move and escaped pointers work on Kubernetes-shaped objects")
func jsonPatchOnKubernetesPaths() throws {
  let document = try PatchFixtures.json(#"{"metadata":{"labels":{"app":"web"},"annotations":{}}}"#)
  let patch = try PatchFixtures.json(#"""
    [{"op":"add","path":"/metadata/annotations/example.com~1team","value":"ml"},
     {"op":"copy","from":"/metadata/labels/app","path":"/metadata/labels/app.kubernetes.io~1name"},
     {"op":"move","from":"/metadata/labels/app","path":"/metadata/annotations/old-app"},
     {"op":"add","path":"/metadata/finalizers","value":[]},
     {"op":"add","path":"/metadata/finalizers/-","value":"edgeml.io/cleanup"},
     {"op":"add","path":"/metadata/finalizers/0","value":"first"}]
    """#)
  let expected = try PatchFixtures.json(#"""
    {"metadata":{"labels":{"app.kubernetes.io/name":"web"},
     "annotations":{"example.com/team":"ml","old-app":"web"},"finalizers":["first","edgeml.io/cleanup"]}}
    """#)
  #expect(try JSONPatch.apply(patch, to: document) == expected)
}

/// A JSON patch the API server must refuse, and the status it refuses it with.
struct BadJSONPatch: CustomTestStringConvertible, Sendable {
  var name: String
  var patch: String
  var statusCode: Int
  var testDescription: String { name }
}

@Test("malformed JSON patches give an error with the API server's status code, never a crash", arguments: [
  BadJSONPatch(name: "an object instead of an array", patch: #"{"op":"add"}"#, statusCode: 400),
  BadJSONPatch(name: "a string operation", patch: #"["add"]"#, statusCode: 400),
  BadJSONPatch(name: "a null operation", patch: #"[null]"#, statusCode: 422),
  BadJSONPatch(name: "an unknown op", patch: #"[{"op":"frobnicate","path":"/a"}]"#, statusCode: 422),
  BadJSONPatch(name: "no op", patch: #"[{"path":"/a"}]"#, statusCode: 422),
  BadJSONPatch(name: "a numeric op", patch: #"[{"op":1,"path":"/a"}]"#, statusCode: 422),
  BadJSONPatch(name: "no path", patch: #"[{"op":"remove"}]"#, statusCode: 422),
  BadJSONPatch(name: "a numeric path", patch: #"[{"op":"remove","path":5}]"#, statusCode: 422),
  BadJSONPatch(name: "a pointer without a leading slash", patch: #"[{"op":"remove","path":"a"}]"#, statusCode: 422),
  BadJSONPatch(name: "an index past the end for add", patch: #"[{"op":"add","path":"/list/3","value":1}]"#, statusCode: 422),
  BadJSONPatch(name: "- for remove", patch: #"[{"op":"remove","path":"/list/-"}]"#, statusCode: 422),
  BadJSONPatch(name: "remove of a missing member", patch: #"[{"op":"remove","path":"/missing"}]"#, statusCode: 422),
  BadJSONPatch(name: "a path through a string", patch: #"[{"op":"add","path":"/a/b","value":1}]"#, statusCode: 422),
  BadJSONPatch(name: "move into its own child", patch: #"[{"op":"move","from":"/obj","path":"/obj/inner"}]"#, statusCode: 422),
  BadJSONPatch(name: "test of a missing path", patch: #"[{"op":"test","path":"/nope/deeper","value":1}]"#, statusCode: 422),
  BadJSONPatch(name: "remove of the whole document", patch: #"[{"op":"remove","path":""}]"#, statusCode: 422),
  BadJSONPatch(name: "replace past the end of an array", patch: #"[{"op":"replace","path":"/list/2","value":1}]"#, statusCode: 422),
  BadJSONPatch(name: "a non-numeric array index", patch: #"[{"op":"remove","path":"/list/x"}]"#, statusCode: 422),
  BadJSONPatch(name: "copy from a missing array element", patch: #"[{"op":"copy","from":"/list/9","path":"/x"}]"#, statusCode: 422),
  BadJSONPatch(name: "copy from under a missing member", patch: #"[{"op":"copy","from":"/nope/deeper","path":"/x"}]"#, statusCode: 422),
  BadJSONPatch(name: "move from a missing member", patch: #"[{"op":"move","from":"/nope","path":"/x"}]"#, statusCode: 422),
  BadJSONPatch(name: "replace of the whole document with a string", patch: #"[{"op":"replace","path":"","value":"x"}]"#, statusCode: 422),
  BadJSONPatch(name: "add to the whole document", patch: #"[{"op":"add","path":"","value":{}}]"#, statusCode: 422),
  BadJSONPatch(name: "test of a number written differently", patch: #"[{"op":"test","path":"/list/0","value":1.0}]"#, statusCode: 422),
  BadJSONPatch(name: "test of an object with an extra member", patch: #"[{"op":"test","path":"/obj","value":{"inner":{},"x":1}}]"#, statusCode: 422),
])
func malformedJSONPatch(_ bad: BadJSONPatch) throws {
  let document = try PatchFixtures.json(#"{"a":"text","list":[1,2],"obj":{"inner":{}}}"#)
  let error = #expect(throws: PatchError.self) { try JSONPatch.apply(try PatchFixtures.json(bad.patch), to: document) }
  #expect(error?.statusCode == bad.statusCode)
}

@Test("a JSON patch with more than 10 000 operations is refused with 413")
func tooManyOperations() throws {
  let operation: JSONValue = ["op": "test", "path": "", "value": [:]]
  let patch = JSONValue.array(Array(repeating: operation, count: 10_001))
  let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: [:]) }
  #expect(error?.statusCode == 413)
  #expect(error?.message == "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001")
}

@Test("testing a missing member against null succeeds, as evanphx/json-patch does")
func testMissingAgainstNull() throws {
  let patch = try PatchFixtures.json(#"[{"op":"test","path":"/absent","value":null}]"#)
  #expect(try JSONPatch.apply(patch, to: ["a": 1]) == ["a": 1])
}

@Test("where kube-apiserver's JSON patch departs from RFC 6902, the emulator answers as kube-apiserver does", arguments: [
  PatchCase(name: "replace of a missing object member adds it", original: #"{"a":1}"#,
                   patch: #"[{"op":"replace","path":"/b","value":2}]"#, result: #"{"a":1,"b":2}"#),
  PatchCase(name: "an absent value is null", original: #"{"a":1}"#,
                   patch: #"[{"op":"add","path":"/b"}]"#, result: #"{"a":1,"b":null}"#),
  PatchCase(name: "an unknown escape is kept literally", original: #"{}"#,
                   patch: #"[{"op":"add","path":"/a~2","value":1}]"#, result: #"{"a~2":1}"#),
  PatchCase(name: "indices with leading zeros and negative indices", original: #"{"l":[1,2,3]}"#,
                   patch: #"[{"op":"replace","path":"/l/01","value":20},{"op":"remove","path":"/l/-1"},{"op":"add","path":"/l/-1","value":9}]"#,
                   result: #"{"l":[1,20,9]}"#),
  PatchCase(name: "copy from a missing member copies null", original: #"{"a":1}"#,
                   patch: #"[{"op":"copy","from":"/nope","path":"/x"}]"#, result: #"{"a":1,"x":null}"#),
  PatchCase(name: "replace of the whole document", original: #"{"a":1}"#,
                   patch: #"[{"op":"replace","path":"","value":{"b":2}}]"#, result: #"{"b":2}"#),
  PatchCase(name: "test of the whole document", original: #"{"a":[1]}"#,
                   patch: #"[{"op":"test","path":"","value":{"a":[1]}}]"#, result: #"{"a":[1]}"#),
])
func jsonPatchLikeKubeAPIServer(_ example: PatchCase) throws {
  let result = try JSONPatch.apply(try PatchFixtures.json(example.patch), to: try PatchFixtures.json(example.original))
  #expect(result == (try PatchFixtures.json(try #require(example.result))))
}

@Test("a null JSON patch body patches nothing, as kube-apiserver decodes it into an empty patch")
func nullJSONPatch() throws {
  #expect(try JSONPatch.apply(.null, to: ["a": 1]) == ["a": 1])
}
