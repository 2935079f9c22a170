import Foundation
import KubeCore
import Testing
import Synchronization
@testable import KubeEmulator

/// The upstream documents, parsed once for all tests.
let sharedDocuments: UpstreamDocuments = {
  do { return try UpstreamDocuments.load() } catch { fatalError("bundled documents missing: \(error)") }
}()

let admin = UserInfo(name: "admin", groups: ["system:masters"])

func makeServer(historyLimit: Int = 1000) -> APIServer {
  APIServer(documents: sharedDocuments, historyLimit: historyLimit)
}

extension APIServer {
  @discardableResult
  func call(_ method: String, _ uri: String, _ body: JSONValue? = nil, contentType: String = "application/json",
            headers: [(String, String)] = []) -> (Int, JSONValue) {
    var h = headers
    if body != nil { h.append(("Content-Type", contentType)) }
    let response = handle(APIRequest(method: method, uri: uri, headers: h, body: body?.serialized() ?? [], user: admin))
    switch response.body {
    case .json(let v): return (response.status, v)
    case .bytes(let b): return (response.status, (try? JSONValue(parsing: b)) ?? .string(String(decoding: b, as: UTF8.self)))
    case .watch: return (response.status, .null)
    case .stream(let s): return (response.status, .string(String(decoding: s.collected().bytes, as: UTF8.self)))
    }
  }
}

func configMap(_ name: String, data: JSONValue = [:], labels: JSONValue = [:], owners: [JSONValue] = []) -> JSONValue {
  var meta: JSONValue = ["name": .string(name), "labels": labels]
  if !owners.isEmpty { meta["ownerReferences"] = .array(owners) }
  return ["apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data]
}

let cmPath = "/api/v1/namespaces/default/configmaps"

@Suite("API server rules")
struct APIServerTests {
  @Test("every write gets a larger resourceVersion and reads return the stored one")
  func resourceVersionsGrow() {
    let s = makeServer()
    let (c1, a) = s.call("POST", cmPath, configMap("a"))
    let (c2, b) = s.call("POST", cmPath, configMap("b"))
    #expect(c1 == 201 && c2 == 201)
    let rvA = Int(a[path: ["metadata", "resourceVersion"]]?.stringValue ?? "") ?? 0
    let rvB = Int(b[path: ["metadata", "resourceVersion"]]?.stringValue ?? "") ?? 0
    #expect(rvB > rvA && rvA > 0)
    let (_, got) = s.call("GET", cmPath + "/a")
    #expect(got[path: ["metadata", "resourceVersion"]] == a[path: ["metadata", "resourceVersion"]])
  }

  @Test("an update carrying an old resourceVersion is a 409 Conflict with a Status body")
  func staleUpdateConflicts() {
    let s = makeServer()
    let (_, created) = s.call("POST", cmPath, configMap("c", data: ["k": "1"]))
    var first = created
    first["data"] = ["k": "2"]
    #expect(s.call("PUT", cmPath + "/c", first).0 == 200)
    var stale = created
    stale["data"] = ["k": "3"]
    let (code, status) = s.call("PUT", cmPath + "/c", stale)
    #expect(code == 409)
    #expect(status["reason"] == "Conflict")
    #expect(status["message"]?.stringValue == "Operation cannot be fulfilled on configmaps \"c\": the object has been modified; please apply your changes to the latest version and try again")
  }

  @Test("creating an existing name is 409 AlreadyExists, reading a missing one 404 NotFound")
  func existsAndMissing() {
    let s = makeServer()
    s.call("POST", cmPath, configMap("dup"))
    let (code, status) = s.call("POST", cmPath, configMap("dup"))
    #expect(code == 409 && status["reason"] == "AlreadyExists")
    let (code404, missing) = s.call("GET", cmPath + "/nope")
    #expect(code404 == 404 && missing["message"] == "configmaps \"nope\" not found")
    #expect(s.call("GET", "/apis/apps/v1/namespaces/default/deployments/x").1["message"] == "deployments.apps \"x\" not found")
  }

  @Test("generation moves on spec changes only, and the main resource never writes status")
  func generationAndStatus() {
    let s = makeServer()
    let deploy: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "d", "labels": ["app": "d"]],
                             "spec": ["selector": ["matchLabels": ["app": "d"]],
                                      "template": ["metadata": ["labels": ["app": "d"]], "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
    let path = "/apis/apps/v1/namespaces/default/deployments"
    let (code, created) = s.call("POST", path, deploy)
    #expect(code == 201)
    #expect(created[path: ["metadata", "generation"]] == 1)
    var relabelled = created
    relabelled[path: ["metadata", "labels", "extra"]] = "yes"
    relabelled["status"] = ["replicas": 7]
    let (_, afterLabel) = s.call("PUT", path + "/d", relabelled)
    #expect(afterLabel[path: ["metadata", "generation"]] == 1)
    #expect(afterLabel[path: ["status", "replicas"]] == nil)
    var scaled = afterLabel
    scaled[path: ["spec", "replicas"]] = 3
    let (_, afterScale) = s.call("PUT", path + "/d", scaled)
    #expect(afterScale[path: ["metadata", "generation"]] == 2)
    var status = afterScale
    status["status"] = ["replicas": 3, "readyReplicas": 3]
    status[path: ["spec", "replicas"]] = 9
    let (_, afterStatus) = s.call("PUT", path + "/d/status", status)
    #expect(afterStatus[path: ["status", "readyReplicas"]] == 3)
    #expect(afterStatus[path: ["spec", "replicas"]] == 3)
    #expect(afterStatus[path: ["metadata", "generation"]] == 2)
  }

  @Test("a no-op update writes nothing and keeps the resourceVersion")
  func noOpUpdate() {
    let s = makeServer()
    let (_, created) = s.call("POST", cmPath, configMap("same", data: ["a": "1"]))
    let before = s.store.currentResourceVersion
    let (_, again) = s.call("PUT", cmPath + "/same", created)
    #expect(again[path: ["metadata", "resourceVersion"]] == created[path: ["metadata", "resourceVersion"]])
    #expect(s.store.currentResourceVersion == before)
  }

  @Test("generateName gets five random characters from upstream's alphabet")
  func generateName() {
    let s = makeServer()
    let (_, o) = s.call("POST", cmPath, ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["generateName": "job-"]])
    let name = o[path: ["metadata", "name"]]?.stringValue ?? ""
    #expect(name.hasPrefix("job-") && name.count == 9)
    #expect(name.dropFirst(4).allSatisfy { "bcdfghjklmnpqrstvwxz2456789".contains($0) })
  }

  @Test("an invalid name is a 422 with the upstream message and a cause")
  func invalidName() {
    let s = makeServer()
    let (code, status) = s.call("POST", cmPath, configMap("Not_Valid"))
    #expect(code == 422)
    #expect(status["message"]?.stringValue?.hasPrefix("ConfigMap \"Not_Valid\" is invalid: metadata.name: Invalid value: \"Not_Valid\": a lowercase RFC 1123 subdomain") == true)
    #expect(status[path: ["details", "causes"]]?.arrayValue?.first?["field"] == "metadata.name")
  }

  @Test("bad bodies get 400 or 415 and never change stored objects", arguments: [
    ("{not json", "application/json", 400),
    ("[1,2]", "application/json", 400),
    ("{\"metadata\":{\"name\":\"x\"}}", "text/plain", 415),
  ])
  func badBodies(body: String, contentType: String, expected: Int) {
    let s = makeServer()
    let before = s.store.currentResourceVersion
    let r = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", contentType)], body: Array(body.utf8), user: admin))
    #expect(r.status == expected)
    #expect(s.store.currentResourceVersion == before)
  }

  @Test("bodies over 3 MiB are refused with 413")
  func tooLarge() {
    let s = makeServer()
    let big = [UInt8](repeating: UInt8(ascii: "a"), count: APIServer.maxRequestBodyBytes + 1)
    #expect(s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/json")], body: big, user: admin)).status == 413)
  }

  @Test("anonymous requests get 401 except version and health")
  func anonymous() {
    let s = makeServer()
    #expect(s.handle(APIRequest(method: "GET", uri: "/api/v1/namespaces")).status == 401)
    #expect(s.handle(APIRequest(method: "GET", uri: "/version")).status == 200)
    #expect(s.handle(APIRequest(method: "GET", uri: "/healthz")).status == 200)
  }

  @Test("strict field validation names every unknown field; Warn drops them with a warning")
  func fieldValidation() {
    let s = makeServer()
    var bad = configMap("fv")
    bad["bogus"] = 1
    bad[path: ["metadata", "alsoBogus"]] = "x"
    let (code, status) = s.call("POST", cmPath + "?fieldValidation=Strict", bad)
    #expect(code == 400)
    #expect(status["message"] == "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.alsoBogus\", unknown field \"bogus\"")
    let r = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/json")], body: bad.serialized(), user: admin))
    #expect(r.status == 201)
    #expect(r.headers.contains { $0.0 == "Warning" && $0.1.contains("unknown field \\\"bogus\\\"") })
  }

  @Test("A patch prunes what it adds: unknown fields deep in the result are warned and dropped, mistyped ones refused")
  func patchPrunesChangedParts() {
    let s = makeServer()
    let path = "/apis/apps/v1/namespaces/default/deployments"
    let deploy: JSONValue = ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "p", "labels": ["app": "p"]],
                             "spec": ["selector": ["matchLabels": ["app": "p"]],
                                      "template": ["metadata": ["labels": ["app": "p"]], "spec": ["containers": [["name": "c", "image": "nginx"]]]]]]
    #expect(s.call("POST", path, deploy).0 == 201)
    let patch: JSONValue = ["spec": ["template": ["spec": ["containers": [["name": "c", "image": "nginx:2", "imagePullPolcy": "Always"]]]]]]
    let r = s.handle(APIRequest(method: "PATCH", uri: path + "/p", headers: [("Content-Type", "application/strategic-merge-patch+json")],
                                body: patch.serialized(), user: admin))
    #expect(r.status == 200)
    #expect(r.headers.contains { $0.0 == "Warning" && $0.1.contains("unknown field \\\"spec.template.spec.containers[0].imagePullPolcy\\\"") })
    let stored = s.call("GET", path + "/p").1
    #expect(stored[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["image"] == "nginx:2")
    #expect(stored[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.first?["imagePullPolcy"] == nil)
    #expect(stored[path: ["spec", "selector", "matchLabels", "app"]] == "p")
    let mistyped: JSONValue = ["spec": ["replicas": "three"]]
    let (code, status) = s.call("PATCH", path + "/p", mistyped, contentType: "application/merge-patch+json")
    #expect(code == 400)
    #expect(status["message"]?.stringValue?.contains("cannot unmarshal string into Go struct field") == true)
    #expect(status["message"]?.stringValue?.contains("spec.replicas of type int32") == true)
  }

  @Test("An in-process request with a decoded body is the same request as its bytes: create, patch, delete options")
  func decodedBodies() {
    let s = makeServer()
    func send(_ method: String, _ uri: String, _ body: JSONValue, type: String = "application/json", decoded: Bool) -> (Int, JSONValue) {
      let headers = [("Content-Type", type)]
      let request = decoded ? APIRequest(method: method, uri: uri, headers: headers, json: body, user: admin)
                            : APIRequest(method: method, uri: uri, headers: headers, body: body.serialized(), user: admin)
      let r = s.handleInProcess(request)
      guard case .json(let v) = r.body else { return (r.status, .null) }
      return (r.status, v)
    }
    for decoded in [false, true] {
      let name = decoded ? "decoded" : "bytes"
      var cm = configMap(name)
      cm["bogus"] = 1
      #expect(send("POST", cmPath, cm, decoded: decoded).0 == 201)
      let (code, patched) = send("PATCH", cmPath + "/" + name, ["data": ["k": "v"]], type: "application/merge-patch+json", decoded: decoded)
      #expect(code == 200 && patched[path: ["data", "k"]] == "v" && patched["bogus"] == nil)
      let stale: JSONValue = ["kind": "DeleteOptions", "apiVersion": "v1", "preconditions": ["resourceVersion": "1"]]
      #expect(send("DELETE", cmPath + "/" + name, stale, decoded: decoded).0 == 409)
      #expect(send("POST", cmPath, [1, 2], decoded: decoded).0 == 400)
    }
  }

  @Test("list pages through every object with continue tokens")
  func pagination() {
    let s = makeServer()
    for i in 0..<7 { s.call("POST", cmPath, configMap("p\(i)")) }
    var names: [String] = []
    var token = ""
    repeat {
      let (_, page) = s.call("GET", cmPath + "?limit=3" + (token.isEmpty ? "" : "&continue=\(token)"))
      names += (page["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue }
      token = page[path: ["metadata", "continue"]]?.stringValue ?? ""
    } while !token.isEmpty
    // Every namespace also holds the root CA publisher's `kube-root-ca.crt`, as on a real server.
    #expect(names == ["kube-root-ca.crt"] + (0..<7).map { "p\($0)" })
  }

  @Test("a continue token older than the history window is 410 Expired")
  func expiredContinue() {
    let s = makeServer(historyLimit: 5)
    for i in 0..<4 { s.call("POST", cmPath, configMap("e\(i)")) }
    let (_, page) = s.call("GET", cmPath + "?limit=2")
    for i in 0..<10 { s.call("POST", cmPath, configMap("later\(i)")) }
    let token = page[path: ["metadata", "continue"]]?.stringValue ?? ""
    let (code, status) = s.call("GET", cmPath + "?limit=2&continue=\(token)")
    #expect(code == 410 && status["reason"] == "Expired")
  }

  @Test("Background, Foreground and Orphan deletion treat dependents as the garbage collector does", arguments: [
    ("Background", false), ("Foreground", false), ("Orphan", true),
  ])
  func cascade(policy: String, survive: Bool) {
    let s = makeServer()
    let (_, owner) = s.call("POST", cmPath, configMap("owner"))
    let uid = owner[path: ["metadata", "uid"]] ?? ""
    let ref: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid, "blockOwnerDeletion": true]
    s.call("POST", cmPath, configMap("dep1", owners: [ref]))
    s.call("POST", cmPath, configMap("dep2", owners: [ref]))
    let (code, _) = s.call("DELETE", cmPath + "/owner?propagationPolicy=\(policy)")
    #expect(code == 200)
    #expect(s.call("GET", cmPath + "/owner").0 == 404)
    #expect((s.call("GET", cmPath + "/dep1").0 == 200) == survive)
    if survive { #expect(s.call("GET", cmPath + "/dep1").1[path: ["metadata", "ownerReferences"]] == nil) }
  }

  @Test("an object written naming only owners that no longer exist is collected; one with a live owner stays")
  func danglingOwners() {
    let s = makeServer()
    let (_, owner) = s.call("POST", cmPath, configMap("owner"))
    let live: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner[path: ["metadata", "uid"]] ?? ""]
    let gone: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "name": "deleted", "uid": "0b5e7c1d-0000-4000-8000-000000000000",
                           "controller": true]
    #expect(s.call("POST", cmPath, configMap("stale", owners: [gone])).0 == 201)
    #expect(s.call("GET", cmPath + "/stale").0 == 404)
    #expect(s.call("POST", cmPath, configMap("shared", owners: [gone, live])).0 == 201)
    #expect(s.call("GET", cmPath + "/shared").0 == 200)
    // An update that leaves only dangling owners makes it garbage too.
    var shared = s.call("GET", cmPath + "/shared").1
    shared[path: ["metadata", "ownerReferences"]] = [gone]
    #expect(s.call("PUT", cmPath + "/shared", shared).0 == 200)
    #expect(s.call("GET", cmPath + "/shared").0 == 404)
    #expect(s.call("GET", cmPath + "/owner").0 == 200)
  }

  @Test("a finalizer holds deletion until it is removed")
  func finalizers() {
    let s = makeServer()
    var cm = configMap("held")
    cm[path: ["metadata", "finalizers"]] = ["example.com/hold"]
    s.call("POST", cmPath, cm)
    let (_, marked) = s.call("DELETE", cmPath + "/held")
    #expect(marked[path: ["metadata", "deletionTimestamp"]] != nil)
    var current = s.call("GET", cmPath + "/held").1
    #expect(current[path: ["metadata", "deletionTimestamp"]] != nil)
    current[path: ["metadata", "finalizers"]] = nil
    #expect(s.call("PUT", cmPath + "/held", current).0 == 200)
    #expect(s.call("GET", cmPath + "/held").0 == 404)
  }

  @Test("deleting a namespace removes what is in it, then the namespace")
  func namespaceDeletion() {
    let s = makeServer()
    s.call("POST", "/api/v1/namespaces", ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "gone"]])
    s.call("POST", "/api/v1/namespaces/gone/configmaps", configMap("x"))
    let (_, ns) = s.call("DELETE", "/api/v1/namespaces/gone")
    #expect(ns[path: ["status", "phase"]] == "Terminating")
    #expect(s.call("GET", "/api/v1/namespaces/gone/configmaps/x").0 == 404)
    #expect(s.call("GET", "/api/v1/namespaces/gone").0 == 404)
  }

  @Test("creating in a missing namespace is 404 for the namespace")
  func missingNamespace() {
    let s = makeServer()
    let (code, status) = s.call("POST", "/api/v1/namespaces/nowhere/configmaps", configMap("x"))
    #expect(code == 404 && status["message"] == "namespaces \"nowhere\" not found")
  }

  @Test("discovery lists only default-enabled group versions, as a real v1.36 server")
  func discovery() {
    let s = makeServer()
    let (_, groups) = s.call("GET", "/apis")
    let recorded = sharedDocuments.apiGroupList["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    #expect(groups["groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == recorded)
    let (_, apps) = s.call("GET", "/apis/apps/v1")
    let deployments = apps["resources"]?.arrayValue?.first { $0["name"] == "deployments" }
    #expect(deployments?["shortNames"] == ["deploy"])
    #expect(deployments?["categories"] == ["all"])
    #expect(apps["resources"]?.arrayValue?.contains { $0["name"] == "deployments/scale" && $0["kind"] == "Scale" } == true)
  }
}

@Suite("Watch")
struct WatchTests {
  func frames(_ stream: WatchStream) -> [JSONValue] {
    stream.initialFrames.compactMap { try? JSONValue(parsing: Array($0.dropLast())) }
  }

  @Test("a watch from a resourceVersion replays later events in order, then streams live ones")
  func resume() throws {
    let s = makeServer()
    let (_, a) = s.call("POST", cmPath, configMap("a"))
    let rv = a[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
    s.call("POST", cmPath, configMap("b"))
    s.call("DELETE", cmPath + "/a")
    let r = s.handle(APIRequest(method: "GET", uri: cmPath + "?watch=true&resourceVersion=\(rv)", user: admin))
    guard case .watch(let stream) = r.body else { Issue.record("not a watch"); return }
    let events = frames(stream).map { "\($0["type"]?.stringValue ?? "") \($0[path: ["object", "metadata", "name"]]?.stringValue ?? "")" }
    #expect(events == ["ADDED b", "DELETED a"])
    let live = Locked<[String]>([])
    stream.attach { event in
      if let f = stream.encode(event), let v = try? JSONValue(parsing: Array(f.dropLast())) {
        live.value = live.value + ["\(v["type"]?.stringValue ?? "") \(v[path: ["object", "metadata", "name"]]?.stringValue ?? "")"]
      }
    }
    s.call("POST", cmPath, configMap("c"))
    #expect(live.value == ["ADDED c"])
    stream.cancel()
    s.call("POST", cmPath, configMap("d"))
    #expect(live.value == ["ADDED c"])
    #expect(s.store.transaction { $0.subscriberCount } == 0)
  }

  @Test("a watch from a version older than the history window gets a 410 ERROR event")
  func gone() {
    let s = makeServer(historyLimit: 3)
    for i in 0..<10 { s.call("POST", cmPath, configMap("g\(i)")) }
    let r = s.handle(APIRequest(method: "GET", uri: cmPath + "?watch=true&resourceVersion=2", user: admin))
    guard case .watch(let stream) = r.body else { Issue.record("not a watch"); return }
    let f = frames(stream)
    #expect(f.first?["type"] == "ERROR")
    #expect(f.first?[path: ["object", "code"]] == 410)
    #expect(f.first?[path: ["object", "reason"]] == "Expired")
  }

  @Test("with a label selector, an update that leaves the selection arrives as DELETED")
  func selectorTransitions() {
    let s = makeServer()
    s.call("POST", cmPath, configMap("t", labels: ["tier": "fe"]))
    let r = s.handle(APIRequest(method: "GET", uri: cmPath + "?watch=true&labelSelector=tier%3Dfe", user: admin))
    guard case .watch(let stream) = r.body else { Issue.record("not a watch"); return }
    #expect(frames(stream).map { $0["type"] } == ["ADDED"])
    let live = Locked<[String]>([])
    stream.attach { event in
      if let f = stream.encode(event), let v = try? JSONValue(parsing: Array(f.dropLast())) { live.value = live.value + [v["type"]?.stringValue ?? ""] }
    }
    s.call("PATCH", cmPath + "/t", ["metadata": ["labels": ["tier": "be"]]], contentType: "application/merge-patch+json")
    s.call("PATCH", cmPath + "/t", ["metadata": ["labels": ["tier": "fe"]]], contentType: "application/merge-patch+json")
    #expect(live.value == ["DELETED", "ADDED"])
    stream.cancel()
  }

  @Test("sendInitialEvents ends the initial state with an initial-events-end bookmark")
  func initialEvents() {
    let s = makeServer()
    s.call("POST", cmPath, configMap("i1"))
    let r = s.handle(APIRequest(method: "GET", uri: cmPath + "?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", user: admin))
    guard case .watch(let stream) = r.body else { Issue.record("not a watch"); return }
    let f = frames(stream)
    // The initial state: the namespace's `kube-root-ca.crt` and `i1`, then the bookmark.
    #expect(f.map { $0["type"] } == ["ADDED", "ADDED", "BOOKMARK"])
    #expect(Set(f.dropLast().compactMap { $0[path: ["object", "metadata", "name"]]?.stringValue }) == ["kube-root-ca.crt", "i1"])
    #expect(f.last?[path: ["object", "metadata", "annotations", "k8s.io/initial-events-end"]] == "true")
    stream.cancel()
  }
}

@Suite("Request paths")
struct RequestPathTests {
  @Test("paths parse into group, version, namespace, resource, name and subresource", arguments: [
    ("/api/v1/namespaces/default/pods/p/status", RequestTarget.resource(ResourcePath(group: "", version: "v1", namespace: "default", resource: "pods", name: "p", subresource: "status"))),
    ("/api/v1/namespaces/default", .resource(ResourcePath(group: "", version: "v1", namespace: nil, resource: "namespaces", name: "default", subresource: nil))),
    ("/api/v1/namespaces/default/status", .resource(ResourcePath(group: "", version: "v1", namespace: nil, resource: "namespaces", name: "default", subresource: "status"))),
    ("/apis/apps/v1/deployments", .resource(ResourcePath(group: "apps", version: "v1", namespace: nil, resource: "deployments", name: nil, subresource: nil))),
    ("/apis/apps/v1", .apiResourceList(group: "apps", version: "v1")),
    ("/apis/apps", .apiGroup("apps")),
    ("/openapi/v3/apis/apps/v1", .openAPIV3("apis/apps/v1")),
  ])
  func parse(path: String, expected: RequestTarget) {
    #expect(RequestPathParser.parse(path) == expected)
  }

  @Test("continue tokens round-trip in kube-apiserver's format")
  func continueToken() {
    let token = ContinueToken.encode(resourceVersion: 42, startKey: "default/x")
    #expect(ContinueToken.decode(token)?.resourceVersion == 42)
    #expect(ContinueToken.decode(token)?.startKey == "default/x")
    #expect(ContinueToken.decode("garbage") == nil)
  }

  @Test("ages print like kubectl's", arguments: [(5.0, "5s"), (119.0, "119s"), (150.0, "2m30s"), (600.0, "10m"), (7200.0, "120m"), (14460.0, "4h1m"), (108000.0, "30h"), (259200.0, "3d"), (34560000.0, "400d")] as [(Double, String)])
  func ages(seconds: Double, text: String) {
    #expect(TableConverter.humanDuration(seconds) == text)
  }
}

@Suite("A pod's STATUS column, as kubectl's printPod words it")
struct PodStatusColumnTests {
  static func pod(phase: String, initSpec: Int = 0, initStatuses: [JSONValue] = [], statuses: [JSONValue] = [],
                  conditions: [(String, String)] = [], deleting: Bool = false) -> JSONValue {
    var pod: JSONValue = ["metadata": ["name": "p"],
                          "spec": ["initContainers": .array((0..<initSpec).map { ["name": .string("i\($0)")] })],
                          "status": ["phase": .string(phase), "initContainerStatuses": .array(initStatuses), "containerStatuses": .array(statuses),
                                     "conditions": .array(conditions.map { ["type": .string($0.0), "status": .string($0.1)] })]]
    if deleting { pod["metadata"]?["deletionTimestamp"] = "2026-12-07T00:00:00Z" }
    return pod
  }
  static func state(_ s: JSONValue, ready: Bool = false) -> JSONValue { ["ready": .bool(ready), "state": s] }
  static let running: JSONValue = ["running": ["startedAt": "2026-12-07T00:00:00Z"]]
  static let completed: JSONValue = ["terminated": ["exitCode": 0, "reason": "Completed"]]

  @Test("init containers, waiting and terminated reasons, a finished sidecar beside a running container, and deletion")
  func statuses() {
    let s = PodStatusColumnTests.self
    let cases: [(JSONValue, String)] = [
      (s.pod(phase: "Pending"), "Pending"),
      (s.pod(phase: "Pending", initSpec: 2, initStatuses: [s.state(s.completed), s.state(s.running)]), "Init:1/2"),
      (s.pod(phase: "Pending", initSpec: 1, initStatuses: [s.state(["waiting": ["reason": "PodInitializing"]])]), "Init:0/1"),
      (s.pod(phase: "Pending", initSpec: 1, initStatuses: [s.state(["waiting": ["reason": "CrashLoopBackOff"]])]), "Init:CrashLoopBackOff"),
      (s.pod(phase: "Failed", initSpec: 1, initStatuses: [s.state(["terminated": ["exitCode": 3]])]), "Init:ExitCode:3"),
      (s.pod(phase: "Pending", statuses: [s.state(["waiting": ["reason": "ContainerCreating"]])]), "ContainerCreating"),
      (s.pod(phase: "Running", statuses: [s.state(s.running, ready: true)], conditions: [("Ready", "True")]), "Running"),
      (s.pod(phase: "Running", statuses: [s.state(["waiting": ["reason": "CrashLoopBackOff"]])]), "CrashLoopBackOff"),
      (s.pod(phase: "Succeeded", statuses: [s.state(s.completed)]), "Completed"),
      (s.pod(phase: "Failed", statuses: [s.state(["terminated": ["exitCode": 137, "signal": 9]])]), "Signal:9"),
      (s.pod(phase: "Running", statuses: [s.state(s.running, ready: true), s.state(s.completed)], conditions: [("Ready", "True")]), "Running"),
      (s.pod(phase: "Running", statuses: [s.state(s.running, ready: true), s.state(s.completed)]), "NotReady"),
      (s.pod(phase: "Running", statuses: [s.state(s.running, ready: true)], deleting: true), "Terminating"),
      (s.pod(phase: "Succeeded", statuses: [s.state(s.completed)], deleting: true), "Completed"),
    ]
    for (pod, expected) in cases {
      #expect(PodStrategy.printedStatus(pod) == expected, "\(pod)")
    }
  }
}

@Suite("Bodies, dry runs and verbs")
struct BodyAndVerbTests {
  @Test("a YAML body creates the same object a JSON body would, and malformed YAML is a 400 with its line")
  func yamlBodies() {
    let s = makeServer()
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  port: \"8080\"\n  mode: fast\n"
    let r = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/yaml")], body: Array(yaml.utf8), user: admin))
    #expect(r.status == 201)
    let (_, got) = s.call("GET", cmPath + "/from-yaml")
    #expect(got["data"] == ["port": "8080", "mode": "fast"])
    // YAML 1.1 as kube-apiserver reads it: `yes` is a boolean, and ConfigMap data must be strings.
    let boolValue = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bool-yaml\ndata:\n  enabled: yes\n"
    let rejected = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/yaml")], body: Array(boolValue.utf8), user: admin))
    #expect(rejected.status == 400)
    let bad = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/yaml")],
                                  body: Array("metadata:\n  name: [unclosed\n".utf8), user: admin))
    #expect(bad.status == 400)
  }

  @Test("dryRun=All validates and answers without storing anything")
  func dryRun() {
    let s = makeServer()
    let before = s.store.currentResourceVersion
    let (code, obj) = s.call("POST", cmPath + "?dryRun=All", configMap("dry"))
    #expect(code == 201 && obj[path: ["metadata", "name"]] == "dry")
    #expect(s.call("GET", cmPath + "/dry").0 == 404)
    #expect(s.store.currentResourceVersion == before)
    #expect(s.call("POST", cmPath + "?dryRun=All", configMap("Bad_Name")).0 == 422)
  }

  @Test("unknown resources are 404 and verbs a resource lacks are 405")
  func unknownAndNotAllowed() {
    let s = makeServer()
    #expect(s.call("GET", "/api/v1/namespaces/default/widgets").0 == 404)
    #expect(s.call("GET", "/apis/nope.example.com/v1").0 == 404)
    #expect(s.call("POST", cmPath + "/named", configMap("named")).0 == 405)
    #expect(s.call("PUT", cmPath, configMap("x")).0 == 405)
  }
}

@Suite("Concurrent writes")
struct ConcurrentWriteTests {
  @Test("patches racing on one object all land (none lost, one resourceVersion each); a stale precondition is still 409")
  func racingPatches() throws {
    let s = makeServer()
    let path = "/api/v1/namespaces/default/configmaps"
    let (created, cm) = s.call("POST", path, ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "race"], "data": ["seed": "0"]])
    #expect(created == 201)
    let firstRV = try #require(cm[path: ["metadata", "resourceVersion"]]?.stringValue.flatMap { Int($0) })
    let codes = Mutex<[Int]>([])
    DispatchQueue.concurrentPerform(iterations: 400) { i in
      let patch: JSONValue = i.isMultiple(of: 2)
        ? [["op": "add", "path": .string("/data/k\(i)"), "value": "v"]]
        : ["data": [.init(stringLiteral: "k\(i)"): "v"]]
      let (code, _) = s.call("PATCH", path + "/race", patch,
                             contentType: i.isMultiple(of: 2) ? "application/json-patch+json" : "application/merge-patch+json")
      codes.withLock { $0.append(code) }
    }
    #expect(codes.withLock { $0.allSatisfy { $0 == 200 } })
    let (_, after) = s.call("GET", path + "/race")
    #expect(after["data"]?.objectValue?.count == 401)
    #expect(after[path: ["metadata", "resourceVersion"]]?.stringValue.flatMap { Int($0) } == firstRV + 400)
    let (stale, _) = s.call("PATCH", path + "/race", ["metadata": ["resourceVersion": .string(String(firstRV))], "data": ["late": "v"]],
                            contentType: "application/merge-patch+json")
    #expect(stale == 409)
  }

  @Test("Services created at once get distinct cluster IPs (creates are prepared outside the store lock)")
  func racingServiceCreates() {
    let s = makeServer()
    DispatchQueue.concurrentPerform(iterations: 200) { i in
      s.call("POST", "/api/v1/namespaces/default/services", ["apiVersion": "v1", "kind": "Service",
                                                             "metadata": ["name": .string("svc\(i)")], "spec": ["ports": [["port": 80]]]])
    }
    let (_, list) = s.call("GET", "/api/v1/namespaces/default/services")
    // (the list also holds the `kubernetes` Service, 10.43.0.1)
    let ips = (list["items"]?.arrayValue ?? []).filter { $0[path: ["metadata", "name"]]?.stringValue?.hasPrefix("svc") == true }
      .compactMap { $0[path: ["spec", "clusterIP"]]?.stringValue }
    #expect(ips.count == 200 && Set(ips).count == 200 && !ips.contains("10.43.0.1"))
  }

  @Test("server-side applies racing to create and change one object: one creates it, every manager's field lands")
  func racingApplies() {
    let s = makeServer()
    let path = "/api/v1/namespaces/default/configmaps/applied"
    let codes = Mutex<[Int]>([])
    DispatchQueue.concurrentPerform(iterations: 64) { i in
      let config: JSONValue = ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "applied"],
                               "data": [.init(stringLiteral: "k\(i)"): "v"]]
      let response = s.handle(APIRequest(method: "PATCH", uri: path + "?fieldManager=m\(i)",
                                         headers: [("Content-Type", "application/apply-patch+yaml")], body: config.serialized(), user: admin))
      codes.withLock { $0.append(response.status) }
    }
    let all = codes.withLock { $0 }
    #expect(all.filter { $0 == 201 }.count == 1 && all.filter { $0 == 200 }.count == 63)
    let (_, after) = s.call("GET", path)
    #expect(after["data"]?.objectValue?.count == 64)
    #expect(after[path: ["metadata", "managedFields"]]?.arrayValue?.count == 64)
  }
}
