import KubeCore
import Testing

@testable import KubeEmulator

@Test("JSON patches apply and fail exactly where kube-apiserver's JSON patch library does", arguments: evanphxJSONPatchCases)
func evanphxJSONPatchCase(_ c: PatchCase) throws {
  let document = try JSONValue(parsing: c.original)
  let patch = try JSONValue(parsing: c.patch)
  guard let result = c.result else {
    let error = #expect(throws: PatchError.self) { try JSONPatch.apply(patch, to: document) }
    #expect(error?.statusCode == 422)
    return
  }
  #expect(try JSONPatch.apply(patch, to: document) == (try JSONValue(parsing: result)))
}

@Test("copy operations may add only so many bytes, as kube-apiserver's JSONPatchMaxCopyBytes allows")
func jsonPatchCopyLimit() throws {
  // evanphx/json-patch's two `AccumulatedCopySizeLimit` cases, run with its limit of 100 bytes.
  let copyTwice = try JSONValue(parsing: #"[{"op":"copy","path":"/foo/-","from":"/foo/1"},{"op":"copy","path":"/foo/-","from":"/foo/1"}]"#)
  let fits = String(repeating: "A", count: 48)  // each copy adds 50 bytes: "A…A" with its quotes
  let patched = try JSONPatch.apply(copyTwice, to: ["foo": ["A", .string(fits)]], maximumCopyBytes: 100)
  #expect(patched == ["foo": ["A", .string(fits), .string(fits), .string(fits)]])
  let tooBig = String(repeating: "A", count: 49)
  let error = #expect(throws: PatchError.self) { try JSONPatch.apply(copyTwice, to: ["foo": ["A", .string(tooBig)]], maximumCopyBytes: 100) }
  #expect(error?.statusCode == 422)
  #expect(error?.detail == "Unable to complete the copy, the accumulated size increase of copy is 102, exceeding the limit 100")
  #expect(JSONPatch.defaultMaximumCopyBytes == 3_145_728)
}
