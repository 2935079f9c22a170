import KubeCore
import Testing

@testable import KubeEmulator

/// A value `depth` containers deep (objects, and every tenth level an array), built without recursion.
private func deeplyNested(_ depth: Int, leaf: JSONValue) -> JSONValue {
  var value = leaf
  for level in 1..<depth { value = level.isMultiple(of: 10) ? [value, ["$patch": "delete"]] : ["a": value] }
  return value
}

@Test("patches nested as deep as the guard allows apply, and deeper ones are a 400, never a crash")
func deepPatches() throws {
  let schema = try PatchFixtures.schema("io.k8s.api.core.v1.Pod")
  let deepest = deeplyNested(PatchDepth.maximum, leaf: ["x": nil, "y": 1])
  #expect(try JSONMergePatch.applyLikeAPIServer(deepest, to: [:]) != .null)
  #expect(try StrategicMergePatch.apply(deepest, to: [:], schema: schema) != .null)
  let operations = deeplyNested(PatchDepth.maximum - 2, leaf: ["y": 1])
  #expect(try JSONPatch.apply([["op": "add", "path": "/deep", "value": operations]], to: [:]) != .null)

  let tooDeep = deeplyNested(PatchDepth.maximum + 10, leaf: ["y": 1])
  let errors = [
    #expect(throws: PatchError.self) { try JSONMergePatch.applyLikeAPIServer(tooDeep, to: [:]) },
    #expect(throws: PatchError.self) { try StrategicMergePatch.apply(tooDeep, to: [:], schema: schema) },
    #expect(throws: PatchError.self) { try JSONPatch.apply([["op": "add", "path": "/deep", "value": tooDeep]], to: [:]) },
  ]
  #expect(errors.map { $0?.statusCode } == [400, 400, 400])
}
