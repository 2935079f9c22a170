import KubeCore
import Testing

@testable import KubeEmulator

/// One strategic merge patch applied to an object of a built-in type, and what kube-apiserver makes of it.
struct StrategicCase: CustomTestStringConvertible, Sendable {
  var name: String
  var definition = "io.k8s.api.core.v1.Pod"
  var original: String
  var patch: String
  var result: String
  var testDescription: String { name }
}

/// Applies a case, comparing the result and its list orders (object member order is not compared).
private func check(_ c: StrategicCase) throws {
  let schema = try PatchFixtures.schema(c.definition)
  let result = try StrategicMergePatch.apply(try PatchFixtures.json(c.patch), to: try PatchFixtures.json(c.original), schema: schema)
  let expected = try PatchFixtures.json(c.result)
  #expect(result == expected, "got \(result.serializedString())")
}

@Test("strategic merge patches merge the lists Kubernetes declares mergeable", arguments: [
  StrategicCase(
    name: "containers merge by name; untouched containers and fields stay",
    original: #"{"spec":{"containers":[{"name":"app","image":"app:1","ports":[{"containerPort":80}]},{"name":"sidecar","image":"proxy:1"}]}}"#,
    patch: #"{"spec":{"containers":[{"name":"app","image":"app:2"}]}}"#,
    result: #"{"spec":{"containers":[{"name":"app","image":"app:2","ports":[{"containerPort":80}]},{"name":"sidecar","image":"proxy:1"}]}}"#),
  StrategicCase(
    name: "a new container without $setElementOrder goes first, as upstream orders it",
    original: #"{"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}]}}"#,
    patch: #"{"spec":{"containers":[{"name":"log-tailer","image":"log-tailer-1.0"}]}}"#,
    result: #"{"spec":{"containers":[{"name":"log-tailer","image":"log-tailer-1.0"},{"name":"a","image":"a"},{"name":"b","image":"b"}]}}"#),
  StrategicCase(
    name: "$patch: delete removes the container with that name",
    original: #"{"spec":{"containers":[{"name":"nginx","image":"nginx-1.0"},{"name":"log-tailer","image":"lt"}]}}"#,
    patch: #"{"spec":{"containers":[{"name":"nginx","image":"nginx-1.0"},{"$patch":"delete","name":"log-tailer"}]}}"#,
    result: #"{"spec":{"containers":[{"name":"nginx","image":"nginx-1.0"}]}}"#),
  StrategicCase(
    name: "$patch: replace in a list replaces the whole container list",
    original: #"{"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"}]}}"#,
    patch: #"{"spec":{"containers":[{"name":"nginx","image":"nginx-1.0"},{"$patch":"replace"}]}}"#,
    result: #"{"spec":{"containers":[{"name":"nginx","image":"nginx-1.0"}]}}"#),
  StrategicCase(
    name: "env vars merge by name",
    original: #"{"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]}]}}"#,
    patch: #"{"spec":{"containers":[{"name":"c","env":[{"name":"B","value":"3"}]}]}}"#,
    result: #"{"spec":{"containers":[{"name":"c","env":[{"name":"A","value":"1"},{"name":"B","value":"3"}]}]}}"#),
  StrategicCase(
    name: "ports merge by containerPort",
    original: #"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"http"},{"containerPort":443}]}]}}"#,
    patch: #"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"web"},{"containerPort":8080}]}]}}"#,
    result: #"{"spec":{"containers":[{"name":"c","ports":[{"containerPort":80,"name":"web"},{"containerPort":8080},{"containerPort":443}]}]}}"#),
  StrategicCase(
    name: "volumes merge by name and $retainKeys clears the other volume source",
    original: #"{"spec":{"volumes":[{"name":"data","emptyDir":{}},{"name":"cfg","configMap":{"name":"a"}}]}}"#,
    patch: #"{"spec":{"volumes":[{"name":"data","$retainKeys":["name","hostPath"],"hostPath":{"path":"/data"}}]}}"#,
    result: #"{"spec":{"volumes":[{"name":"data","hostPath":{"path":"/data"}},{"name":"cfg","configMap":{"name":"a"}}]}}"#),
  StrategicCase(
    name: "tolerations are atomic: the patch list replaces them",
    original: #"{"spec":{"tolerations":[{"key":"a","operator":"Exists"},{"key":"b","operator":"Exists"}]}}"#,
    patch: #"{"spec":{"tolerations":[{"key":"c","operator":"Exists"}]}}"#,
    result: #"{"spec":{"tolerations":[{"key":"c","operator":"Exists"}]}}"#),
  StrategicCase(
    name: "finalizers are a set: union, the patch's new entries first",
    original: #"{"metadata":{"finalizers":["a","b"]}}"#,
    patch: #"{"metadata":{"finalizers":["b","c","c"]}}"#,
    result: #"{"metadata":{"finalizers":["a","b","c"]}}"#),
  StrategicCase(
    name: "a new finalizer alone is put first",
    original: #"{"metadata":{"finalizers":["a","b"]}}"#,
    patch: #"{"metadata":{"finalizers":["z"]}}"#,
    result: #"{"metadata":{"finalizers":["z","a","b"]}}"#),
  StrategicCase(
    name: "$deleteFromPrimitiveList removes finalizers",
    original: #"{"metadata":{"finalizers":["a","b","c","b"]}}"#,
    patch: #"{"metadata":{"$deleteFromPrimitiveList/finalizers":["b","c"]}}"#,
    result: #"{"metadata":{"finalizers":["a"]}}"#),
  StrategicCase(
    name: "$setElementOrder reorders a primitive list",
    original: #"{"metadata":{"finalizers":["a","b","c"]}}"#,
    patch: #"{"metadata":{"$setElementOrder/finalizers":["b","c","a"]}}"#,
    result: #"{"metadata":{"finalizers":["b","c","a"]}}"#),
  StrategicCase(
    name: "$setElementOrder reorders containers by merge key",
    original: #"{"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"},{"name":"c","image":"c"}]}}"#,
    patch: #"{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"c"},{"name":"a"}]}}"#,
    result: #"{"spec":{"containers":[{"name":"b","image":"b"},{"name":"c","image":"c"},{"name":"a","image":"a"}]}}"#),
  StrategicCase(
    name: "kubectl apply's $setElementOrder places a new container where the manifest has it",
    original: #"{"spec":{"containers":[{"name":"a","image":"a"},{"name":"c","image":"c"}]}}"#,
    patch: #"{"spec":{"$setElementOrder/containers":[{"name":"a"},{"name":"b"},{"name":"c"}],"containers":[{"name":"b","image":"b"}]}}"#,
    result: #"{"spec":{"containers":[{"name":"a","image":"a"},{"name":"b","image":"b"},{"name":"c","image":"c"}]}}"#),
  StrategicCase(
    name: "$setElementOrder with a deletion keeps the rest in the manifest's order",
    original: #"{"metadata":{"finalizers":["x","y","z"]}}"#,
    patch: #"{"metadata":{"$setElementOrder/finalizers":["z","x"],"$deleteFromPrimitiveList/finalizers":["y"]}}"#,
    result: #"{"metadata":{"finalizers":["z","x"]}}"#),
  StrategicCase(
    name: "$retainKeys on the Deployment strategy union clears rollingUpdate",
    definition: "io.k8s.api.apps.v1.Deployment",
    original: #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}}}}"#,
    patch: #"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}"#,
    result: #"{"spec":{"strategy":{"type":"Recreate"}}}"#),
  StrategicCase(
    name: "$patch: delete on a map leaves an empty map, as upstream",
    definition: "io.k8s.api.apps.v1.Deployment",
    original: #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1}}}}"#,
    patch: #"{"spec":{"strategy":{"rollingUpdate":{"$patch":"delete"}}}}"#,
    result: #"{"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{}}}}"#),
  StrategicCase(
    name: "$patch: replace on a map takes the patch's map literally",
    original: #"{"metadata":{"labels":{"a":"1","b":"2"}}}"#,
    patch: #"{"metadata":{"labels":{"$patch":"replace","c":"3"}}}"#,
    result: #"{"metadata":{"labels":{"c":"3"}}}"#),
  StrategicCase(
    name: "null deletes a member, and nulls inside new values are dropped",
    original: #"{"metadata":{"labels":{"a":"1","b":"2"}},"spec":{}}"#,
    patch: #"{"metadata":{"labels":{"a":null}},"spec":{"nodeSelector":{"x":"y","gone":null}}}"#,
    result: #"{"metadata":{"labels":{"b":"2"}},"spec":{"nodeSelector":{"x":"y"}}}"#),
  StrategicCase(
    name: "fields the schema does not know merge like JSON merge patch: lists are replaced",
    original: #"{"spec":{"unknownList":[{"name":"a"}],"unknownMap":{"a":1}}}"#,
    patch: #"{"spec":{"unknownList":[{"name":"b"}],"unknownMap":{"b":2}}}"#,
    result: #"{"spec":{"unknownList":[{"name":"b"}],"unknownMap":{"a":1,"b":2}}}"#),
  StrategicCase(
    name: "directives left in new elements are dropped, as decoding into the Go type drops them",
    original: #"{"spec":{"volumes":[{"name":"a","emptyDir":{}}]}}"#,
    patch: #"{"spec":{"$setElementOrder/volumes":[{"name":"a"},{"name":"b"}],"volumes":[{"name":"b","$retainKeys":["name","secret"],"secret":{"secretName":"s"}}]}}"#,
    result: #"{"spec":{"volumes":[{"name":"a","emptyDir":{}},{"name":"b","secret":{"secretName":"s"}}]}}"#),
  StrategicCase(
    name: "a kubectl apply patch: new annotation, replicas, env reordered and deleted, a sidecar swapped",
    definition: "io.k8s.api.apps.v1.Deployment",
    original: #"""
      {"metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"old"}},
       "spec":{"replicas":1,"template":{"spec":{"containers":[
         {"name":"app","image":"app:1","env":[{"name":"A","value":"1"},{"name":"B","value":"2"}]},
         {"name":"old-sidecar","image":"s:1"}]}}}}
      """#,
    patch: #"""
      {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"new"}},
       "spec":{"replicas":3,"template":{"spec":{
         "$setElementOrder/containers":[{"name":"app"},{"name":"new-sidecar"}],
         "containers":[
           {"$setElementOrder/env":[{"name":"C"},{"name":"A"}],"env":[{"name":"C","value":"3"},{"$patch":"delete","name":"B"}],"name":"app"},
           {"image":"n:1","name":"new-sidecar"},
           {"$patch":"delete","name":"old-sidecar"}]}}}}
      """#,
    result: #"""
      {"metadata":{"name":"web","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"new"}},
       "spec":{"replicas":3,"template":{"spec":{"containers":[
         {"name":"app","image":"app:1","env":[{"name":"C","value":"3"},{"name":"A","value":"1"}]},
         {"name":"new-sidecar","image":"n:1"}]}}}}
      """#),
  StrategicCase(
    name: "kubectl apply switching a Deployment to Recreate sends $retainKeys and a null rollingUpdate",
    definition: "io.k8s.api.apps.v1.Deployment",
    original: #"{"spec":{"replicas":2,"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%"}}}}"#,
    patch: #"{"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":null,"type":"Recreate"}}}"#,
    result: #"{"spec":{"replicas":2,"strategy":{"type":"Recreate"}}}"#),
])
func strategicMerges(_ c: StrategicCase) throws {
  try check(c)
}

@Test("without a schema a strategic merge patch replaces lists and still honours directives")
func strategicWithoutSchema() throws {
  let original = try PatchFixtures.json(#"{"spec":{"items":[1,2],"obj":{"a":1,"b":2}}}"#)
  let patch = try PatchFixtures.json(#"{"spec":{"items":[3],"obj":{"$patch":"replace","c":3}}}"#)
  let result = try StrategicMergePatch.apply(patch, to: original, schema: nil)
  #expect(result == (try PatchFixtures.json(#"{"spec":{"items":[3],"obj":{"c":3}}}"#)))
}

@Test("a null strategic merge patch changes nothing")
func strategicNullPatch() throws {
  let original = try PatchFixtures.json(#"{"metadata":{"name":"x"}}"#)
  #expect(try StrategicMergePatch.apply(.null, to: original, schema: nil) == original)
}

/// A strategic merge patch kube-apiserver refuses, with its status code.
struct BadStrategicPatch: CustomTestStringConvertible, Sendable {
  var name: String
  var original = #"{"metadata":{"finalizers":["a"]},"spec":{"containers":[{"name":"a"}]}}"#
  var patch: String
  var statusCode: Int
  var testDescription: String { name }
}

@Test("malformed strategic merge patches give the API server's status code, never a crash", arguments: [
  BadStrategicPatch(name: "an array body", patch: #"[1]"#, statusCode: 400),
  BadStrategicPatch(name: "a string body", patch: #""x""#, statusCode: 400),
  BadStrategicPatch(name: "$retainKeys that is not a list", patch: #"{"spec":{"$retainKeys":"containers"}}"#, statusCode: 400),
  BadStrategicPatch(name: "a patched key missing from $retainKeys", patch: #"{"spec":{"$retainKeys":["x"],"hostname":"h"}}"#, statusCode: 400),
  BadStrategicPatch(name: "a $deleteFromPrimitiveList without a list name", patch: #"{"metadata":{"$deleteFromPrimitiveListfinalizers":["a"]}}"#, statusCode: 400),
  BadStrategicPatch(name: "a $setElementOrder without a list name", patch: #"{"metadata":{"$setElementOrder":["a"]}}"#, statusCode: 400),
  BadStrategicPatch(name: "a $setElementOrder that is not a list", patch: #"{"metadata":{"$setElementOrder/finalizers":"a"}}"#, statusCode: 500),
  BadStrategicPatch(name: "a patch list out of $setElementOrder's order", patch: #"{"metadata":{"$setElementOrder/finalizers":["a","b"],"finalizers":["b","a"]}}"#, statusCode: 500),
  BadStrategicPatch(name: "a list of lists", original: #"{"metadata":{"finalizers":[]}}"#, patch: #"{"metadata":{"finalizers":[["b"]]}}"#, statusCode: 422),
  BadStrategicPatch(name: "mixed element types", patch: #"{"metadata":{"finalizers":[1]}}"#, statusCode: 500),
  BadStrategicPatch(name: "an unknown $patch value in a map", patch: #"{"spec":{"$patch":"explode"}}"#, statusCode: 500),
  BadStrategicPatch(name: "an unknown $patch value in a list", patch: #"{"spec":{"containers":[{"name":"a","$patch":"explode"}]}}"#, statusCode: 500),
  BadStrategicPatch(name: "$patch: merge in a list", patch: #"{"spec":{"containers":[{"$patch":"merge"}]}}"#, statusCode: 500),
  BadStrategicPatch(name: "a container without its merge key", patch: #"{"spec":{"containers":[{"image":"x"}]}}"#, statusCode: 500),
  BadStrategicPatch(name: "$patch: delete without the merge key", patch: #"{"spec":{"containers":[{"$patch":"delete"}]}}"#, statusCode: 500),
])
func malformedStrategicPatch(_ bad: BadStrategicPatch) throws {
  let schema = try PatchFixtures.schema("io.k8s.api.core.v1.Pod")
  let original = try PatchFixtures.json(bad.original)
  let error = #expect(throws: PatchError.self) {
    try StrategicMergePatch.apply(try PatchFixtures.json(bad.patch), to: original, schema: schema)
  }
  #expect(error?.statusCode == bad.statusCode)
  #expect(error?.status["code"] == JSONValue(bad.statusCode))
  #expect(error?.status["reason"]?.stringValue == (bad.statusCode == 500 ? nil : error?.reason))
}

@Test("a strategic merge patch that is not an object is a 400 BadRequest Status carrying the decoder's message")
func strategicBadRequestStatus() throws {
  let error = #expect(throws: PatchError.self) { try StrategicMergePatch.apply([1], to: [:], schema: nil) }
  #expect(error?.status.serializedString() == #"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"json: cannot unmarshal array into Go value of type map[string]interface {}","reason":"BadRequest","code":400}"#)
}

@Test("the schema registry resolves $refs lazily through recursive definitions")
func schemaRegistryResolvesRecursiveRefs() throws {
  let crd = try PatchFixtures.schema("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition")
  let props = crd.field("spec")?.field("versions")?.items?.field("schema")?.field("openAPIV3Schema")?.field("properties")?.field("x")?.field("properties")?.field("y")
  #expect(props != nil)
  let containers = try #require(try PatchFixtures.schema("io.k8s.api.apps.v1.Deployment").field("spec")?.field("template")?.field("spec")?.field("containers"))
  #expect(containers.mergeKey == "name")
  #expect(containers.patchStrategy == PatchStrategy(merges: true, replaces: false, retainsKeys: false))
  #expect(containers.listType == "map")
  let volumes = try #require(try PatchFixtures.schema("io.k8s.api.core.v1.PodSpec").field("volumes"))
  #expect(volumes.patchStrategy == PatchStrategy(parsing: "merge,retainKeys"))
  #expect(try PatchFixtures.schema("io.k8s.api.core.v1.PodSpec").field("tolerations")?.listType == "atomic")
  #expect(try PatchFixtures.registry.get().schema(forDefinition: "no.such.Type") == nil)
}

@Test("the schema of a built-in kind is found by group, version and kind")
func schemaByKind() throws {
  let registry = try PatchFixtures.registry.get()
  #expect(registry.schema(group: "apps", version: "v1", kind: "Deployment")?.field("spec")?.field("strategy")?.patchStrategy.retainsKeys == true)
  #expect(registry.schema(group: "", version: "v1", kind: "Pod")?.field("spec")?.field("containers")?.mergeKey == "name")
  #expect(registry.schema(group: "edgeml.io", version: "v1alpha1", kind: "EdgeModel") == nil)
}
