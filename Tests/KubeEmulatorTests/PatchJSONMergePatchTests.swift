import KubeCore
import Testing

@testable import KubeEmulator

// RFC 7386 appendix A, row by row.
@Test("JSON merge patch gives the RFC 7386 appendix A results", arguments: [
  PatchCase(original: #"{"a":"b"}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
  PatchCase(original: #"{"a":"b"}"#, patch: #"{"b":"c"}"#, result: #"{"a":"b","b":"c"}"#),
  PatchCase(original: #"{"a":"b"}"#, patch: #"{"a":null}"#, result: #"{}"#),
  PatchCase(original: #"{"a":"b","b":"c"}"#, patch: #"{"a":null}"#, result: #"{"b":"c"}"#),
  PatchCase(original: #"{"a":["b"]}"#, patch: #"{"a":"c"}"#, result: #"{"a":"c"}"#),
  PatchCase(original: #"{"a":"c"}"#, patch: #"{"a":["b"]}"#, result: #"{"a":["b"]}"#),
  PatchCase(original: #"{"a":{"b":"c"}}"#, patch: #"{"a":{"b":"d","c":null}}"#, result: #"{"a":{"b":"d"}}"#),
  PatchCase(original: #"{"a":[{"b":"c"}]}"#, patch: #"{"a":[1]}"#, result: #"{"a":[1]}"#),
  PatchCase(original: #"["a","b"]"#, patch: #"["c","d"]"#, result: #"["c","d"]"#),
  PatchCase(original: #"{"a":"b"}"#, patch: #"["c"]"#, result: #"["c"]"#),
  PatchCase(original: #"{"a":"foo"}"#, patch: #"null"#, result: #"null"#),
  PatchCase(original: #"{"a":"foo"}"#, patch: #""bar""#, result: #""bar""#),
  PatchCase(original: #"{"e":null}"#, patch: #"{"a":1}"#, result: #"{"e":null,"a":1}"#),
  PatchCase(original: #"[1,2]"#, patch: #"{"a":"b","c":null}"#, result: #"{"a":"b"}"#),
  PatchCase(original: #"{}"#, patch: #"{"a":{"bb":{"ccc":null}}}"#, result: #"{"a":{"bb":{}}}"#),
])
func mergePatchAppendixA(_ example: PatchCase) throws {
  let result = JSONMergePatch.apply(try PatchFixtures.json(example.patch), to: try PatchFixtures.json(example.original))
  #expect(result == (try PatchFixtures.json(try #require(example.result))))
}

@Test("a merge patch keeps the object's member order and appends new members in patch order")
func mergePatchKeepsOrder() throws {
  let result = JSONMergePatch.apply(try PatchFixtures.json(#"{"z":1,"b":2}"#), to: try PatchFixtures.json(#"{"m":0,"b":1,"a":3}"#))
  #expect(result.serializedString() == #"{"m":0,"b":2,"a":3,"z":1}"#)
}

@Test("kube-apiserver refuses null and scalar merge patch bodies with 400 Invalid JSON Patch", arguments: ["null", "1", #""x""#, "true"])
func mergePatchRejectsScalars(_ body: String) throws {
  let error = #expect(throws: PatchError.self) { try JSONMergePatch.applyLikeAPIServer(try PatchFixtures.json(body), to: ["a": 1]) }
  #expect(error == .malformedPatch(detail: "Invalid JSON Patch"))
  #expect(error?.statusCode == 400)
  #expect(error?.reason == "BadRequest")
  #expect(error?.message == "Invalid JSON Patch")
}

@Test("like kube-apiserver, a merge patch prunes nulls inside added values, arrays included", arguments: [
  PatchCase(original: #"{"a":"b"}"#, patch: #"{"a":"c","n":null}"#, result: #"{"a":"c"}"#),
  PatchCase(original: #"{"spec":{}}"#, patch: #"{"spec":{"items":[{"x":1,"y":null},null]}}"#, result: #"{"spec":{"items":[{"x":1},null]}}"#),
  PatchCase(original: #"{"spec":{"items":[1]}}"#, patch: #"{"spec":{"items":[{"y":null}]}}"#, result: #"{"spec":{"items":[{}]}}"#),
  PatchCase(original: #"{"spec":{"obj":{"a":1}}}"#, patch: #"{"spec":{"obj":[{"y":null}]}}"#, result: #"{"spec":{"obj":[{"y":null}]}}"#),
  PatchCase(original: #"{"spec":{"obj":{"a":1,"b":2}}}"#, patch: #"{"spec":{"obj":{"a":null,"c":{"d":null}}}}"#, result: #"{"spec":{"obj":{"b":2,"c":{}}}}"#),
  PatchCase(original: #"{"a":1}"#, patch: #"[{"b":null}]"#, result: #"[{}]"#),
])
func mergePatchLikeAPIServer(_ example: PatchCase) throws {
  let result = try JSONMergePatch.applyLikeAPIServer(try PatchFixtures.json(example.patch), to: try PatchFixtures.json(example.original))
  #expect(result == (try PatchFixtures.json(try #require(example.result))))
}
