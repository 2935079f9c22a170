import Foundation
import KubeCore
import Testing

@testable import KubeEmulator

private let deployments = "/apis/apps/v1/namespaces/default/deployments"

/// A Deployment configuration as a user would apply it.
private func deployment(_ name: String = "web", replicas: Int? = nil, containers: [(String, String)] = [("app", "nginx:1")],
                        labels: JSONValue? = nil) -> JSONValue {
  var spec: JSONValue = [
    "selector": ["matchLabels": ["app": .string(name)]],
    "template": ["metadata": ["labels": ["app": .string(name)]],
                 "spec": ["containers": .array(containers.map { ["name": .string($0.0), "image": .string($0.1)] })]],
  ]
  if let replicas { spec["replicas"] = JSONValue(replicas) }
  var meta: JSONValue = ["name": .string(name)]
  if let labels { meta["labels"] = labels }
  return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec]
}

extension APIServer {
  /// A server-side apply, as `kubectl apply --server-side` sends it.
  @discardableResult
  func apply(_ uri: String, _ config: JSONValue, manager: String?, force: Bool = false, extra: String = "") -> (Int, JSONValue) {
    var query: [String] = []
    if let manager { query.append("fieldManager=\(manager)") }
    if force { query.append("force=true") }
    if !extra.isEmpty { query.append(extra) }
    return call("PATCH", uri + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), config, contentType: "application/apply-patch+yaml")
  }
}

/// The managedFields entry of `manager` with `operation`, if any.
private func entry(_ object: JSONValue, _ manager: String, _ operation: String = "Apply") -> JSONValue? {
  object[path: ["metadata", "managedFields"]]?.arrayValue?.first {
    $0["manager"]?.stringValue == manager && $0["operation"]?.stringValue == operation
  }
}

/// A ConfigMap with only a name and data.
private func configMap(_ name: String, data: JSONValue) -> JSONValue {
  ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name)], "data": data]
}

private func fields(_ text: String) -> JSONValue { (try? JSONValue(parsing: Array(text.utf8))) ?? .null }

@Suite("managedFields on writes")
struct ManagedFieldsWriteTests {
  @Test("a create is recorded for its fieldManager, else the User-Agent's product, else unknown")
  func createManagers() {
    let s = makeServer()
    let (c1, a) = s.call("POST", cmPath + "?fieldManager=my-tool", configMap("a", data: ["k": "v"]))
    let (_, b) = s.call("POST", cmPath, configMap("b", data: ["k": "v"]), headers: [("User-Agent", "kubectl/v1.36.0 (linux/amd64) kubernetes/abcdef")])
    let (_, c) = s.call("POST", cmPath, configMap("c", data: ["k": "v"]))
    #expect(c1 == 201)
    for (object, manager) in [(a, "my-tool"), (b, "kubectl"), (c, "unknown")] {
      let e = entry(object, manager, "Update")
      #expect(e?["apiVersion"] == "v1")
      #expect(e?["fieldsType"] == "FieldsV1")
      #expect(e?["fieldsV1"] == fields(#"{"f:data":{".":{},"f:k":{}}}"#))
      #expect(e?["time"]?.stringValue?.count == 20)   // 2026-06-15T04:15:57Z
    }
    #expect(s.call("GET", cmPath + "/a").1[path: ["metadata", "managedFields"]] == a[path: ["metadata", "managedFields"]])
  }

  @Test("an update's manager owns what it changed; the creator keeps the rest; owners of removed fields lose them")
  func updateTakesChangedFields() {
    let s = makeServer()
    var (_, cm) = s.call("POST", cmPath + "?fieldManager=creator", configMap("x", data: ["a": "1", "b": "2", "c": "3"]))
    cm["data"] = ["a": "1", "b": "changed"]
    let (code, updated) = s.call("PUT", cmPath + "/x?fieldManager=editor", cm)
    #expect(code == 200)
    #expect(entry(updated, "creator", "Update")?["fieldsV1"] == fields(#"{"f:data":{".":{},"f:a":{}}}"#))
    #expect(entry(updated, "editor", "Update")?["fieldsV1"] == fields(#"{"f:data":{"f:b":{}}}"#))
  }

  @Test("a write that changes nothing adds no manager and keeps the resourceVersion")
  func noOpWrite() {
    let s = makeServer()
    let (_, cm) = s.call("POST", cmPath + "?fieldManager=creator", configMap("n", data: ["a": "1"]))
    let (_, same) = s.call("PUT", cmPath + "/n?fieldManager=other", cm)
    #expect(same[path: ["metadata", "managedFields"]]?.arrayValue?.count == 1)
    #expect(same[path: ["metadata", "resourceVersion"]] == cm[path: ["metadata", "resourceVersion"]])
  }

  @Test("a client cannot garble managedFields, but may replace them with a valid list or clear them with [{}]")
  func clientManagedFields() {
    let s = makeServer()
    var (_, cm) = s.call("POST", cmPath + "?fieldManager=creator", configMap("m", data: ["a": "1"]))
    let original = cm[path: ["metadata", "managedFields"]]
    cm[path: ["metadata", "managedFields"]] = [["manager": "evil", "operation": "Delete"]]
    cm["data"] = ["a": "1", "b": "2"]
    let (_, kept) = s.call("PUT", cmPath + "/m?fieldManager=creator", cm)
    #expect(entry(kept, "evil", "Delete") == nil)
    #expect(entry(kept, "creator", "Update")?["fieldsV1"] == fields(#"{"f:data":{".":{},"f:a":{},"f:b":{}}}"#))
    #expect(original != nil)

    var reset = kept
    reset[path: ["metadata", "managedFields"]] = [[:]]
    reset["data"] = ["a": "1", "b": "2", "c": "3"]
    let (_, after) = s.call("PUT", cmPath + "/m?fieldManager=resetter", reset)
    #expect(after[path: ["metadata", "managedFields"]]?.arrayValue?.count == 1)
    #expect(entry(after, "resetter", "Update")?["fieldsV1"] == fields(#"{"f:data":{"f:c":{}}}"#))
  }

  @Test("status writes are recorded with subresource status, separately from spec writers")
  func statusSubresource() {
    let s = makeServer()
    var (_, d) = s.call("POST", deployments + "?fieldManager=creator", deployment())
    d["status"] = ["observedGeneration": 1, "replicas": 1]
    let (code, updated) = s.call("PUT", deployments + "/web/status?fieldManager=controller", d)
    #expect(code == 200)
    let e = entry(updated, "controller", "Update")
    #expect(e?["subresource"] == "status")
    #expect(e?["fieldsV1"] == fields(#"{"f:status":{"f:observedGeneration":{},"f:replicas":{}}}"#))
    #expect(entry(updated, "creator", "Update")?["fieldsV1"]?["f:status"] == nil)
  }
}

@Suite("Server-side apply")
struct ServerSideApplyTests {
  @Test("apply without fieldManager is refused with upstream's message")
  func fieldManagerRequired() {
    let (code, status) = makeServer().apply(deployments + "/web", deployment(), manager: nil)
    #expect(code == 422)
    #expect(status["message"] == "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
  }

  @Test("apply creates the object, and the applier owns exactly the fields it sent")
  func applyCreates() {
    let s = makeServer()
    let (code, created) = s.apply(deployments + "/web", deployment(replicas: 2), manager: "alice")
    #expect(code == 201)
    #expect(created[path: ["spec", "replicas"]] == 2)
    #expect(created[path: ["spec", "strategy", "type"]] == "RollingUpdate")   // defaulted, owned by nobody
    let e = entry(created, "alice")
    #expect(e?["apiVersion"] == "apps/v1")
    #expect(e?["fieldsV1"] == fields(#"{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#))
    #expect(s.call("GET", deployments + "/web").0 == 200)
    // The same configuration again changes nothing.
    let (again, same) = s.apply(deployments + "/web", deployment(replicas: 2), manager: "alice")
    #expect(again == 200)
    #expect(same[path: ["metadata", "resourceVersion"]] == created[path: ["metadata", "resourceVersion"]])
  }

  @Test("a field the applier stops sending is removed from the object")
  func applyRemovesDroppedFields() {
    let s = makeServer()
    s.apply(deployments + "/web", deployment(replicas: 2, labels: ["team": "a", "tier": "web"]), manager: "alice")
    let (code, updated) = s.apply(deployments + "/web", deployment(labels: ["team": "a"]), manager: "alice")
    #expect(code == 200)
    #expect(updated[path: ["metadata", "labels"]] == ["team": "a"])
    #expect(updated[path: ["spec", "replicas"]] == 1)   // gone, then defaulted again
    #expect(entry(updated, "alice")?["fieldsV1"]?["f:spec"]?["f:replicas"] == nil)
  }

  @Test("a built-in kind's map emptied by apply disappears, as Go's omitempty drops it")
  func emptiedMapGoes() {
    let s = makeServer()
    s.apply(deployments + "/web", deployment(labels: ["team": "a"]), manager: "alice")
    let (_, updated) = s.apply(deployments + "/web", deployment(), manager: "alice")
    #expect(updated[path: ["metadata", "labels"]] == nil)
  }

  @Test("a field another applier also owns stays when one applier stops sending it")
  func sharedFieldsStay() {
    let s = makeServer()
    s.apply(deployments + "/web", deployment(replicas: 3), manager: "alice")
    s.apply(deployments + "/web", deployment(replicas: 3), manager: "bob")   // same value: shared, no conflict
    let (_, updated) = s.apply(deployments + "/web", deployment(), manager: "alice")
    #expect(updated[path: ["spec", "replicas"]] == 3)
    #expect(entry(updated, "bob")?["fieldsV1"]?["f:spec"]?["f:replicas"] != nil)
  }

  @Test("a field only an update manager shares is removed when the applier stops sending it")
  func updatersDoNotKeepFields() {
    let s = makeServer()
    s.call("POST", deployments + "?fieldManager=creator", deployment(replicas: 3))
    s.apply(deployments + "/web", deployment(replicas: 3), manager: "alice")   // same value: shared with creator
    let (_, updated) = s.apply(deployments + "/web", deployment(), manager: "alice")
    #expect(updated[path: ["spec", "replicas"]] == 1)   // removed, then defaulted
  }

  @Test("two appliers setting different values conflict with 409 and upstream's message")
  func conflict() {
    let s = makeServer()
    s.apply(deployments + "/web", deployment(replicas: 2), manager: "alice")
    let (code, status) = s.apply(deployments + "/web", deployment(replicas: 3), manager: "bob")
    #expect(code == 409)
    #expect(status["reason"] == "Conflict")
    #expect(status["message"] == "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas")
    #expect(status[path: ["details", "causes"]] == [["reason": "FieldManagerConflict", "message": "conflict with \"alice\"", "field": ".spec.replicas"]])
    #expect(s.call("GET", deployments + "/web").1[path: ["spec", "replicas"]] == 2)
  }

  @Test("a conflict with an update manager names its apiVersion, and several conflicts are listed per manager")
  func conflictWithUpdater() {
    let s = makeServer()
    s.call("POST", deployments, deployment(replicas: 2), headers: [("User-Agent", "kubectl/v1.36.0 (linux/amd64)")])
    let (code, status) = s.apply(deployments + "/web", deployment(replicas: 3, containers: [("app", "nginx:2")]), manager: "bob")
    #expect(code == 409)
    #expect(status["message"] == """
      Apply failed with 2 conflicts: conflicts with "kubectl" using apps/v1:
      - .spec.replicas
      - .spec.template.spec.containers[name="app"].image
      """)
    #expect(status[path: ["details", "causes"]]?.arrayValue?.first?["message"] == "conflict with \"kubectl\" using apps/v1")
  }

  @Test("force=true takes the conflicting fields from their owner")
  func forceTakesOwnership() {
    let s = makeServer()
    s.apply(deployments + "/web", deployment(replicas: 2), manager: "alice")
    let (code, updated) = s.apply(deployments + "/web", deployment(replicas: 3), manager: "bob", force: true)
    #expect(code == 200)
    #expect(updated[path: ["spec", "replicas"]] == 3)
    #expect(entry(updated, "bob")?["fieldsV1"]?["f:spec"]?["f:replicas"] == [:])
    #expect(entry(updated, "alice")?["fieldsV1"]?["f:spec"]?["f:replicas"] == nil)
    #expect(entry(updated, "alice")?["fieldsV1"]?["f:spec"]?["f:selector"] != nil)
  }

  @Test("containers merge by name: two appliers own one container each, and neither removes the other's")
  func keyedListItems() {
    let s = makeServer()
    s.apply(deployments + "/web", deployment(containers: [("app", "nginx:1")]), manager: "alice")
    let sidecar: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"],
                              "spec": ["template": ["spec": ["containers": [["name": "proxy", "image": "envoy:1"]]]]]]
    let (code, both) = s.apply(deployments + "/web", sidecar, manager: "bob")
    #expect(code == 200)
    #expect(both[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["app", "proxy"])
    #expect(entry(both, "bob")?["fieldsV1"] == fields(#"{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"proxy\"}":{".":{},"f:image":{},"f:name":{}}}}}}}"#))
    let (_, again) = s.apply(deployments + "/web", deployment(containers: [("app", "nginx:2")]), manager: "alice")
    #expect(again[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.compactMap { $0["image"]?.stringValue } == ["nginx:2", "envoy:1"])
    let (_, dropped) = s.apply(deployments + "/web", ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "web"]], manager: "bob")
    #expect(dropped[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["app"])
  }

  @Test("dryRun=All answers the applied object without storing it")
  func dryRun() {
    let s = makeServer()
    let (code, answer) = s.apply(deployments + "/web", deployment(replicas: 4), manager: "alice", extra: "dryRun=All")
    #expect(code == 201)
    #expect(answer[path: ["spec", "replicas"]] == 4)
    #expect(s.call("GET", deployments + "/web").0 == 404)
  }

  @Test("an apply body may be YAML")
  func yamlBody() {
    let s = makeServer()
    let yaml = """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: from-yaml
      data:
        k: v
      """
    let response = s.handle(APIRequest(method: "PATCH", uri: cmPath + "/from-yaml?fieldManager=yaml-user",
                                       headers: [("Content-Type", "application/apply-patch+yaml")], body: Array(yaml.utf8), user: admin))
    #expect(response.status == 201, "\(response.body)")
    #expect(s.call("GET", cmPath + "/from-yaml").1["data"] == ["k": "v"])
  }
}

/// A CRD whose schema declares a keyed list (`stages` by `name`), a set (`tags`) and an atomic list.
private let widgetCRD: JSONValue = [
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": ["name": "widgets.ssa.example.com"],
  "spec": [
    "group": "ssa.example.com", "scope": "Namespaced",
    "names": ["plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"],
    "versions": [[
      "name": "v1", "served": true, "storage": true, "subresources": ["status": [:]],
      "schema": ["openAPIV3Schema": [
        "type": "object",
        "properties": [
          "spec": ["type": "object", "properties": [
            "size": ["type": "integer"],
            "stages": ["type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                       "items": ["type": "object", "required": ["name"],
                                 "properties": ["name": ["type": "string"], "weight": ["type": "integer"]]]],
            "tags": ["type": "array", "x-kubernetes-list-type": "set", "items": ["type": "string"]],
            "args": ["type": "array", "items": ["type": "string"]],
          ]],
          "status": ["type": "object", "properties": ["phase": ["type": "string"]]],
        ],
      ]],
    ]],
  ],
]

private let widgets = "/apis/ssa.example.com/v1/namespaces/default/widgets"

private func widget(_ spec: JSONValue) -> JSONValue {
  ["apiVersion": "ssa.example.com/v1", "kind": "Widget", "metadata": ["name": "w"], "spec": spec]
}

@Suite("Server-side apply of custom resources")
struct CustomResourceApplyTests {
  func server() throws -> APIServer {
    let s = makeServer()
    let (code, _) = s.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", widgetCRD)
    try #require(code == 201)
    return s
  }

  @Test("list-type map items and set values from the CRD schema are owned one by one")
  func keyedAndSetLists() throws {
    let s = try server()
    let (c1, first) = s.apply(widgets + "/w", widget(["stages": [["name": "a", "weight": 10]], "tags": ["x"], "args": ["1"]]), manager: "alice")
    #expect(c1 == 201)
    #expect(entry(first, "alice")?["fieldsV1"] == fields(#"{"f:spec":{"f:args":{},"f:stages":{"k:{\"name\":\"a\"}":{".":{},"f:name":{},"f:weight":{}}},"f:tags":{"v:\"x\"":{}}}}"#))
    // Custom resources are unstructured upstream: entry members come sorted by name.
    #expect(first[path: ["metadata", "managedFields"]]?.arrayValue?.first?.objectValue?.keys == ["apiVersion", "fieldsType", "fieldsV1", "manager", "operation", "time"])
    let (c2, both) = s.apply(widgets + "/w", widget(["stages": [["name": "b", "weight": 90]], "tags": ["y"]]), manager: "bob")
    #expect(c2 == 200)
    #expect(both[path: ["spec", "stages"]] == [["name": "a", "weight": 10], ["name": "b", "weight": 90]])
    #expect(both[path: ["spec", "tags"]] == ["x", "y"])
    let (c3, conflict) = s.apply(widgets + "/w", widget(["stages": [["name": "a", "weight": 50]]]), manager: "bob")
    #expect(c3 == 409)
    #expect(conflict["message"] == #"Apply failed with 1 conflict: conflict with "alice": .spec.stages[name="a"].weight"#)
  }

  @Test("apply to the status subresource owns status only, under subresource status")
  func statusApply() throws {
    let s = try server()
    s.apply(widgets + "/w", widget(["size": 1]), manager: "alice")
    var config = widget([:])
    config["spec"] = nil
    config["status"] = ["phase": "Ready"]
    let (code, object) = s.apply(widgets + "/w/status", config, manager: "controller")
    #expect(code == 200)
    #expect(object[path: ["status", "phase"]] == "Ready")
    let e = object[path: ["metadata", "managedFields"]]?.arrayValue?.first { $0["manager"] == "controller" }
    #expect(e?["subresource"] == "status")
    #expect(e?["fieldsV1"] == fields(#"{"f:status":{"f:phase":{}}}"#))
    // The main endpoint ignores status, so alice's apply does not fight the controller.
    let (again, after) = s.apply(widgets + "/w", widget(["size": 2]), manager: "alice")
    #expect(again == 200)
    #expect(after[path: ["status", "phase"]] == "Ready")
  }
}

@Suite("Server-side apply input checks")
struct ApplyInputTests {
  @Test("the applied apiVersion must be the endpoint's")
  func versionMismatch() {
    var config = deployment()
    config["apiVersion"] = "apps/v1beta1"
    let (code, status) = makeServer().apply(deployments + "/web", config, manager: "alice")
    #expect(code == 400)
    #expect(status["message"] == "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1")
  }

  @Test("an applied configuration may not carry managedFields")
  func managedFieldsRefused() {
    var config = deployment()
    config[path: ["metadata", "managedFields"]] = [[:]]
    let (code, status) = makeServer().apply(deployments + "/web", config, manager: "alice")
    #expect(code == 400)
    #expect(status["message"] == "metadata.managedFields must be nil")
  }

  @Test("an update sending managedFields: [] clears the list")
  func emptyListResets() {
    let s = makeServer()
    var (_, cm) = s.call("POST", cmPath + "?fieldManager=creator", configMap("r", data: ["a": "1"]))
    cm[path: ["metadata", "managedFields"]] = []
    cm["data"] = ["a": "1", "b": "2"]
    let (_, after) = s.call("PUT", cmPath + "/r?fieldManager=editor", cm)
    #expect(after[path: ["metadata", "managedFields"]]?.arrayValue?.map { $0["manager"] } == ["editor"])
  }
}

@Suite("Patch options")
struct PatchOptionsTests {
  @Test("force is refused on a non-apply patch, and a fieldManager must be short and printable")
  func patchOptions() {
    let s = makeServer()
    s.call("POST", cmPath, configMap("p", data: ["a": "1"]))
    let (c1, forced) = s.call("PATCH", cmPath + "/p?force=true", ["data": ["a": "2"]], contentType: "application/merge-patch+json")
    #expect(c1 == 422)
    #expect(forced["message"] == "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch")
    let long = String(repeating: "m", count: 129)
    let (c2, tooLong) = s.call("PATCH", cmPath + "/p?fieldManager=\(long)", ["data": ["a": "2"]], contentType: "application/merge-patch+json")
    #expect(c2 == 422)
    #expect(tooLong["message"]?.stringValue?.hasSuffix("fieldManager: Too long: may not be more than 128 bytes") == true)
    let (c3, _) = s.call("PATCH", cmPath + "/p?fieldManager=ok-tool", ["data": ["a": "2"]], contentType: "application/merge-patch+json")
    #expect(c3 == 200)
  }
}

@Suite("Client-side apply annotation")
struct LastAppliedTests {
  @Test("kubectl's server-side apply rewrites an existing last-applied annotation; other managers leave it")
  func lastAppliedFollowsKubectl() {
    let s = makeServer()
    let key = "kubectl.kubernetes.io/last-applied-configuration"
    var cm = configMap("csa", data: ["a": "1"])
    cm[path: ["metadata", "annotations"]] = [.init(stringLiteral: key): "{\"old\":true}"]
    s.call("POST", cmPath + "?fieldManager=kubectl-client-side-apply", cm)
    let config = configMap("csa", data: ["a": "1", "b": "2"])
    let (_, byOther) = s.apply(cmPath + "/csa", config, manager: "flux")
    #expect(byOther[path: ["metadata", "annotations", key]] == "{\"old\":true}")
    let (_, byKubectl) = s.apply(cmPath + "/csa", config, manager: "kubectl", force: true)
    #expect(byKubectl[path: ["metadata", "annotations", key]] == #"{"apiVersion":"v1","data":{"a":"1","b":"2"},"kind":"ConfigMap","metadata":{"name":"csa"}}"#)
  }
}

@Suite("Upgrading from client-side apply")
struct ClientSideApplyUpgradeTests {
  @Test("kubectl may take over fields its client-side apply set, but not fields others changed since")
  func kubectlTakesOverItsOwnFields() {
    let s = makeServer()
    let key = "kubectl.kubernetes.io/last-applied-configuration"
    var cm = configMap("up", data: ["a": "1", "b": "1"])
    cm[path: ["metadata", "annotations"]] = [.init(stringLiteral: key): .string(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"up"},"data":{"a":"1","b":"1"}}"#)]
    s.call("POST", cmPath + "?fieldManager=kubectl-client-side-apply", cm)
    let (code, upgraded) = s.apply(cmPath + "/up", configMap("up", data: ["a": "2", "b": "1"]), manager: "kubectl")
    #expect(code == 200)
    #expect(upgraded["data"] == ["a": "2", "b": "1"])
    // Someone else changes b; kubectl's annotation no longer matches it, so that conflict stands.
    s.call("PATCH", cmPath + "/up?fieldManager=editor", ["data": ["b": "9"]], contentType: "application/merge-patch+json")
    let (conflict, status) = s.apply(cmPath + "/up", configMap("up", data: ["a": "2", "b": "3"]), manager: "kubectl")
    #expect(conflict == 409)
    #expect(status["message"] == #"Apply failed with 1 conflict: conflict with "editor" using v1: .data.b"#)
    // Another manager gets no such allowance.
    let (other, _) = s.apply(cmPath + "/up", configMap("up", data: ["a": "5"]), manager: "flux")
    #expect(other == 409)
  }
}

@Suite("Applied field sets")
struct AppliedFieldSetTests {
  @Test("an empty struct in the configuration owns nothing; label keys are owned one by one")
  func emptyStructsAndMapKeys() throws {
    let registry = try PatchFixtures.registry.get()
    let schema = ApplySchema(builtin: try #require(registry.schema(forDefinition: "io.k8s.api.apps.v1.Deployment")))
    let config: JSONValue = ["metadata": ["labels": ["app": "web"]], "spec": ["template": ["spec": ["securityContext": [:]]]]]
    #expect(FieldSet(fieldsOf: config, schema: schema).fieldsV1 == fields(#"{"f:metadata":{"f:labels":{"f:app":{}}}}"#))
  }
}

@Suite("Scale writes")
struct ScaleManagedFieldsTests {
  @Test("a write through /scale is recorded with subresource scale and owns spec.replicas")
  func scaleSubresource() {
    let s = makeServer()
    s.call("POST", deployments + "?fieldManager=creator", deployment(replicas: 1))
    let (code, _) = s.call("PATCH", deployments + "/web/scale?fieldManager=autoscaler", ["spec": ["replicas": 4]],
                           contentType: "application/merge-patch+json")
    #expect(code == 200)
    let (_, d) = s.call("GET", deployments + "/web")
    let e = d[path: ["metadata", "managedFields"]]?.arrayValue?.first { $0["manager"] == "autoscaler" }
    #expect(e?["subresource"] == "scale")
    #expect(e?["fieldsV1"] == fields(#"{"f:spec":{"f:replicas":{}}}"#))
    #expect(entry(d, "creator", "Update")?["fieldsV1"]?["f:spec"]?["f:replicas"] == nil)
  }
}

@Suite("Update entries")
struct UpdateEntryTests {
  @Test("a writer changing only values it owns keeps its set and moves its time; a new field or a removed one changes the set")
  func ownedValueChanges() throws {
    let registry = try PatchFixtures.registry.get()
    let schema = ApplySchema(builtin: try #require(registry.schema(forDefinition: "io.k8s.api.apps.v1.Deployment")))
    let manager = FieldManager(schema: schema, apiVersion: "apps/v1", subresource: "status", ignoresStatus: false)
    let base: JSONValue = ["spec": ["replicas": 1]]
    var v1 = base
    v1["status"] = ["replicas": 1, "updatedReplicas": 1]
    let first = manager.update(old: base, new: v1, managed: [], manager: "kube-controller-manager", now: "2026-01-01T00:00:00Z")
    // Read back as a stored list (lazily decoded), as the server does at the next write.
    let stored = try ManagedFieldsEntry.decodeList(ManagedFieldsEntry.encodeList(first, sortedMembers: false), stored: true)
    var v2 = v1
    v2[path: ["status", "replicas"]] = 2
    let second = manager.update(old: v1, new: v2, managed: stored, manager: "kube-controller-manager", now: "2026-01-01T00:00:05Z")
    #expect(second.count == 1 && second[0].time == "2026-01-01T00:00:05Z")
    #expect(second[0].fields == first[0].fields)
    var v3 = v2
    v3["status"] = ["replicas": 2, "readyReplicas": 1]
    let third = manager.update(old: v2, new: v3, managed: second, manager: "kube-controller-manager", now: "2026-01-01T00:00:09Z")
    // (status was added whole by the first write, so it is a member itself: ".")
    #expect(third[0].fields.fieldsV1 == fields(#"{"f:status":{".":{},"f:readyReplicas":{},"f:replicas":{}}}"#))
    // Another writer taking an owned value takes the field from the first.
    let fourth = manager.update(old: v3, new: ["spec": ["replicas": 1], "status": ["replicas": 3, "readyReplicas": 1]], managed: third,
                                manager: "other", now: "2026-01-01T00:00:10Z")
    #expect(fourth.first { $0.manager == "kube-controller-manager" }?.fields.fieldsV1 == fields(#"{"f:status":{".":{},"f:readyReplicas":{}}}"#))
    #expect(fourth.first { $0.manager == "other" }?.fields.fieldsV1 == fields(#"{"f:status":{"f:replicas":{}}}"#))
  }
}

@Suite("Server-side apply of defaulted list keys")
struct ApplyDefaultedKeyTests {
  @Test("re-applying container ports without protocol changes nothing: the default TCP is part of their key")
  func portsWithoutProtocol() throws {
    let s = makeServer()
    let uri = "/apis/apps/v1/namespaces/default/deployments"
    let config: JSONValue = [
      "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "ports"],
      "spec": ["selector": ["matchLabels": ["app": "ports"]],
               "template": ["metadata": ["labels": ["app": "ports"]],
                            "spec": ["containers": [["name": "triton", "image": "tritonserver", "ports": [["containerPort": 8000], ["containerPort": 8002]]]]]]],
    ]
    let (c1, first) = s.apply(uri + "/ports", config, manager: "edge-team")
    let (c2, second) = s.apply(uri + "/ports", config, manager: "edge-team")
    #expect(c1 == 201 && c2 == 200)
    #expect(second[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["ports"] ==
            [["containerPort": 8000, "protocol": "TCP"], ["containerPort": 8002, "protocol": "TCP"]])
    #expect(second[path: ["metadata", "resourceVersion"]] == first[path: ["metadata", "resourceVersion"]])
    #expect(second[path: ["metadata", "generation"]] == 1)
  }
}
