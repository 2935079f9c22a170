import KubeCore
import Testing

@testable import KubeEmulator

/// The recorded exchanges of `wire/k8s-openapi-test-replays/v1-36/patch-deployment.json`: a Deployment
/// created on a real v1.36 kube-apiserver, then patched with a JSON patch, a merge patch and a strategic
/// merge patch; each response is the object after the patch.
private struct DeploymentReplay {
  var created: JSONValue
  var exchanges: [(contentType: String, body: JSONValue, response: JSONValue)]

  init() throws {
    let recorded = try #require(try PatchFixtures.replay("patch-deployment.json").arrayValue)
    try #require(recorded.count >= 4, "patch-deployment.json should hold the create and three patches")
    created = try JSONValue(parsing: try #require(recorded[0]["response_body"]?.stringValue))
    exchanges = try recorded[1...3].map { exchange in
      #expect(exchange["request_method"] == "PATCH")
      #expect(exchange["response_status_code"] == 200)
      return (
        try #require(exchange["request_content_type"]?.stringValue),
        try JSONValue(parsing: try #require(exchange["request_body"]?.stringValue)),
        try JSONValue(parsing: try #require(exchange["response_body"]?.stringValue))
      )
    }
  }

  /// Recorded patch number `index` (0: JSON patch, 1: merge patch, 2: strategic merge patch): the object
  /// it was applied to, its body and the server's answer.
  func patch(_ index: Int, contentType: String) -> (before: JSONValue, body: JSONValue, response: JSONValue) {
    let exchange = exchanges[index]
    #expect(exchange.contentType == contentType)
    return (index == 0 ? created : exchanges[index - 1].response, exchange.body, exchange.response)
  }
}

/// The object without what the server's storage layer changes on every write.
private func withoutBookkeeping(_ object: JSONValue) -> JSONValue {
  var object = object
  for key in ["resourceVersion", "generation", "managedFields"] { object[path: ["metadata", key]] = nil }
  return object
}

@Test("a recorded JSON patch (test, then replace the image) gives the object the real server returned")
func replayJSONPatch() throws {
  let (before, body, response) = try DeploymentReplay().patch(0, contentType: "application/json-patch+json")
  let patched = try JSONPatch.apply(body, to: before)
  #expect(withoutBookkeeping(patched) == withoutBookkeeping(response))
}

@Test("a recorded merge patch replaces the container list, leaving the server's defaults to fill in")
func replayMergePatch() throws {
  let (before, body, response) = try DeploymentReplay().patch(1, contentType: "application/merge-patch+json")
  let patched = JSONMergePatch.apply(body, to: before)
  let containersPath = ["spec", "template", "spec", "containers"]
  // A merge patch replaces lists: only what the patch says is left of the container ...
  #expect(patched[path: containersPath] == [["image": "alpine:3.8", "name": "k8s-openapi-tests-patch-deployment"]])
  // ... and the real server's answer is that plus its container defaults.
  let served = try #require(response[path: containersPath]?.arrayValue?.first?.objectValue)
  let defaulted: Set<String> = ["resources", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy"]
  #expect(Set(served.keys).subtracting(["image", "name"]) == defaulted)
  var withDefaults = patched
  withDefaults[path: containersPath] = response[path: containersPath]
  #expect(withoutBookkeeping(withDefaults) == withoutBookkeeping(response))
}

@Test("a recorded strategic merge patch merges the container by name and keeps its defaulted fields")
func replayStrategicMergePatch() throws {
  let (before, body, response) = try DeploymentReplay().patch(2, contentType: "application/strategic-merge-patch+json")
  let schema = try PatchFixtures.schema("io.k8s.api.apps.v1.Deployment")
  let patched = try StrategicMergePatch.apply(body, to: before, schema: schema)
  #expect(withoutBookkeeping(patched) == withoutBookkeeping(response))
  // The same body as a merge patch would have dropped the defaulted container fields.
  #expect(withoutBookkeeping(JSONMergePatch.apply(body, to: before)) != withoutBookkeeping(response))
}
