import KubeCore
import Testing

@testable import KubeEmulator

/// The schema of upstream's test type `MergeItem` (patch_test.go), written as the OpenAPI v2 definitions
/// its struct tags would publish (upstream runs the same cases against its `fakeMergeItemSchema` too).
/// `mergeItemPtr` is a `*MergeItem` in Go, but the cases patch it as a list of items, which upstream's
/// struct lookup allows; here it is declared as that list.
private let mergeItemSchema: PatchSchema? = {
  let item = ##"{"$ref":"#/definitions/mergeItem"}"##
  let definitions = #"""
    {"mergeItem":{"properties":{
      "mergingList":{"type":"array","items":\#(item),"x-kubernetes-patch-strategy":"merge","x-kubernetes-patch-merge-key":"name"},
      "nonMergingList":{"type":"array","items":\#(item)},
      "mergingIntList":{"type":"array","items":{"type":"integer"},"x-kubernetes-patch-strategy":"merge"},
      "nonMergingIntList":{"type":"array","items":{"type":"integer"}},
      "mergeItemPtr":{"type":"array","items":\#(item),"x-kubernetes-patch-strategy":"merge","x-kubernetes-patch-merge-key":"name"},
      "simpleMap":{"type":"object","additionalProperties":{"type":"string"}},
      "replacingItem":{"type":"object","x-kubernetes-patch-strategy":"replace"},
      "retainKeysMap":{"$ref":"#/definitions/retainKeysMergeItem","x-kubernetes-patch-strategy":"retainKeys"},
      "retainKeysMergingList":{"type":"array","items":\#(item),"x-kubernetes-patch-strategy":"merge,retainKeys","x-kubernetes-patch-merge-key":"name"}}},
     "retainKeysMergeItem":{"properties":{
      "simpleMap":{"type":"object","additionalProperties":{"type":"string"}},
      "mergingIntList":{"type":"array","items":{"type":"integer"},"x-kubernetes-patch-strategy":"merge"},
      "mergingList":{"type":"array","items":\#(item),"x-kubernetes-patch-strategy":"merge","x-kubernetes-patch-merge-key":"name"},
      "nonMergingList":{"type":"array","items":\#(item)}}}}
    """#
  return (try? JSONValue(parsing: definitions)).flatMap { PatchSchemaRegistry(swaggerDefinitions: $0).schema(forDefinition: "mergeItem") }
}()

@Test("strategic merge patches give apimachinery's own expected results, list order included", arguments: upstreamStrategicCases)
func upstreamStrategicCase(_ c: PatchCase) throws {
  let schema = try #require(mergeItemSchema)
  let original = try JSONValue(parsing: c.original)
  let patch = try JSONValue(parsing: c.patch)
  if let expectedError = c.expectedError {
    let error = #expect(throws: PatchError.self) { try StrategicMergePatch.apply(patch, to: original, schema: schema) }
    #expect(error?.detail.contains(expectedError) == true, "\(String(describing: error))")
    return
  }
  let expected = try JSONValue(parsing: try #require(c.result))
  let result = try StrategicMergePatch.apply(patch, to: original, schema: schema)
  #expect(result == expected, "got \(result.serializedString())")
}

/// `value` with every merge list sorted (maps by merge key, primitives by value, deduplicated), as
/// upstream's `sortMergeListsByName` prepares results before comparing them. `schema` is the schema
/// of `value` itself: an object's, or a list field's.
private func sortingMergeLists(_ value: JSONValue, schema: PatchSchema?) -> JSONValue {
  switch value {
  case .object(let object):
    var sorted = JSONObject()
    for (key, member) in object { sorted.appendUnchecked(key, sortingMergeLists(member, schema: schema?.field(key))) }
    return .object(sorted)
  case .array(let elements):
    let items = elements.map { sortingMergeLists($0, schema: schema?.items) }
    guard schema?.patchStrategy.merges == true else { return .array(items) }
    let sortKey = { (element: JSONValue) -> String in
      (schema?.mergeKey.flatMap { element.objectValue?[$0] } ?? element).serializedString()
    }
    var unique: [JSONValue] = []
    for item in items where item.objectValue != nil || !unique.contains(item) { unique.append(item) }
    return .array(unique.sorted { sortKey($0) < sortKey($1) })
  case .null, .bool, .number, .string:
    return value
  }
}

@Test("strategic merge patches give apimachinery's expected results for its YAML test tables", arguments: upstreamStrategicUnorderedCases)
func upstreamStrategicUnorderedCase(_ c: PatchCase) throws {
  let schema = try #require(mergeItemSchema)
  let result = try StrategicMergePatch.apply(try JSONValue(parsing: c.patch), to: try JSONValue(parsing: c.original), schema: schema)
  let expected = try JSONValue(parsing: try #require(c.result))
  #expect(sortingMergeLists(result, schema: schema) == sortingMergeLists(expected, schema: schema), "got \(result.serializedString())")
}
