import KubeCore
import Testing
@testable import KubeEmulator

/// A CRD served in two versions (`v1` stored, `v2` served too), with a status subresource.
private let gadgetCRD: JSONValue = [
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": ["name": "gadgets.enc.example.com"],
  "spec": [
    "group": "enc.example.com", "scope": "Namespaced",
    "names": ["plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"],
    "versions": [
      ["name": "v1", "served": true, "storage": true, "subresources": ["status": [:]],
       "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]]],
      ["name": "v2", "served": true, "storage": false, "subresources": ["status": [:]],
       "schema": ["openAPIV3Schema": ["type": "object", "x-kubernetes-preserve-unknown-fields": true]]],
    ],
  ],
]

private func gadgets(_ version: String) -> String { "/apis/enc.example.com/\(version)/namespaces/default/gadgets" }

private func gadget(_ name: String, size: Int, version: String = "v1") -> JSONValue {
  ["apiVersion": .string("enc.example.com/\(version)"), "kind": "Gadget", "metadata": ["name": .string(name)], "spec": ["size": JSONValue(size)]]
}

extension APIServer {
  /// A request's answer as the HTTP layer writes it, parsed back; and whether those bytes are
  /// exactly the serialisation of the document in-process callers read (`body`).
  func wire(_ method: String, _ uri: String, _ body: JSONValue? = nil,
            contentType: String = "application/json") throws -> (status: Int, value: JSONValue, sameBytes: Bool) {
    let headers = body == nil ? [] : [("Content-Type", contentType)]
    let response = handle(APIRequest(method: method, uri: uri, headers: headers, body: body?.serialized() ?? [], user: admin))
    let bytes = try #require(response.wireBytes)
    guard case .json(let document) = response.body else { Issue.record("not JSON"); return (response.status, .null, false) }
    return (response.status, try JSONValue(parsing: bytes), bytes == document.serialized())
  }

  /// Starts a watch and collects its events (type, object) as they would be sent.
  func watchFrames(_ uri: String) throws -> (stream: WatchStream, events: Locked<[JSONValue]>) {
    let response = handle(APIRequest(method: "GET", uri: uri, user: admin))
    guard case .watch(let stream) = response.body else { throw WatchStartError() }
    let events = Locked<[JSONValue]>(stream.initialFrames.compactMap { try? JSONValue(parsing: Array($0.dropLast())) })
    stream.attach { event in
      if let frame = stream.encode(event), let v = try? JSONValue(parsing: Array(frame.dropLast())) { events.value = events.value + [v] }
    }
    return (stream, events)
  }
}

private struct WatchStartError: Error {}

@Suite("Stored objects' shared encodings")
struct SharedEncodingTests {
  @Test("a GET, a LIST, a write's answer and a watch event are byte for byte what serialising the object gives")
  func sameBytes() throws {
    let s = makeServer()
    let (created, _, createdSame) = try s.wire("POST", cmPath, configMap("same", data: ["k": "<v&>"], labels: ["a": "b"]))
    #expect(created == 201 && createdSame)
    for uri in [cmPath + "/same", cmPath, cmPath + "?labelSelector=a%3Db", cmPath + "?limit=1", "/api/v1/configmaps"] {
      let (status, _, same) = try s.wire("GET", uri)
      #expect(status == 200 && same, "\(uri)")
    }
    let patched = try s.wire("PATCH", cmPath + "/same", ["data": ["k": "2"]], contentType: "application/merge-patch+json")
    #expect(patched.status == 200 && patched.sameBytes && patched.value[path: ["data", "k"]] == "2")
    try #require(s.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", gadgetCRD).0 == 201)
    #expect(try s.wire("POST", gadgets("v1"), gadget("g", size: 1)).sameBytes)
    for uri in [gadgets("v1"), gadgets("v2"), gadgets("v2") + "/g", gadgets("v1") + "/g/status"] {
      let (status, _, same) = try s.wire("GET", uri)
      #expect(status == 200 && same, "\(uri)")
    }
  }

  @Test("a patched, deleted or re-created custom resource is never served stale, in either version, in a LIST, a GET or a watch",
        arguments: ["v1", "v2"])
  func neverStale(version: String) throws {
    let s = makeServer()
    try #require(s.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", gadgetCRD).0 == 201)
    let other = version == "v1" ? "v2" : "v1"
    func listed(_ v: String) throws -> [JSONValue] { try s.wire("GET", gadgets(v)).value["items"]?.arrayValue ?? [] }
    func sizes(_ v: String) throws -> [String] {
      try listed(v).map { "\($0["apiVersion"]?.stringValue ?? "") \($0[path: ["spec", "size"]]?.intValue ?? -1)" }
    }
    try #require(s.wire("POST", gadgets(version), gadget("g", size: 1, version: version)).status == 201)
    // Both versions listed and read once, so each has been encoded before the changes below.
    #expect(try sizes(version) == ["enc.example.com/\(version) 1"])
    #expect(try sizes(other) == ["enc.example.com/\(other) 1"])
    let watch = try s.watchFrames(gadgets(version) + "?watch=true")
    let otherWatch = try s.watchFrames(gadgets(other) + "?watch=true")
    defer { watch.stream.cancel(); otherWatch.stream.cancel() }

    #expect(try s.wire("PATCH", gadgets(version) + "/g", ["spec": ["size": 2]], contentType: "application/merge-patch+json").status == 200)
    #expect(try sizes(version) == ["enc.example.com/\(version) 2"])
    #expect(try sizes(other) == ["enc.example.com/\(other) 2"])
    #expect(try s.wire("GET", gadgets(other) + "/g").value[path: ["spec", "size"]] == 2)
    // The status subresource: a new version of the object too.
    #expect(try s.wire("PATCH", gadgets(other) + "/g/status", ["status": ["phase": "Up"]], contentType: "application/merge-patch+json").status == 200)
    #expect(try listed(version).first?[path: ["status", "phase"]] == "Up")

    let firstUID = try s.wire("GET", gadgets(version) + "/g").value[path: ["metadata", "uid"]]
    #expect(try s.wire("DELETE", gadgets(version) + "/g").status == 200)
    #expect(try listed(version).isEmpty && listed(other).isEmpty)
    #expect(try s.wire("GET", gadgets(other) + "/g").status == 404)
    try #require(s.wire("POST", gadgets(other), gadget("g", size: 3, version: other)).status == 201)
    #expect(try sizes(version) == ["enc.example.com/\(version) 3"])
    #expect(try sizes(other) == ["enc.example.com/\(other) 3"])
    let again = try s.wire("GET", gadgets(version) + "/g").value
    #expect(again[path: ["metadata", "uid"]] != firstUID && again["apiVersion"]?.stringValue == "enc.example.com/\(version)")

    // Each watch saw every change, each in its own version.
    for (w, v) in [(watch, version), (otherWatch, other)] {
      let seen = w.events.value.map {
        "\($0["type"]?.stringValue ?? "") \($0[path: ["object", "apiVersion"]]?.stringValue ?? "") \($0[path: ["object", "spec", "size"]]?.intValue ?? -1) \($0[path: ["object", "status", "phase"]]?.stringValue ?? "-")"
      }
      let gv = "enc.example.com/\(v)"
      #expect(seen == ["ADDED \(gv) 1 -", "MODIFIED \(gv) 2 -", "MODIFIED \(gv) 2 Up", "DELETED \(gv) 2 Up", "ADDED \(gv) 3 -"])
    }
  }

  @Test("a LIST after writes of built-in objects shows each object's newest version, without kind or apiVersion in its items")
  func builtinRelist() throws {
    let s = makeServer()
    for i in 0..<4 { s.call("POST", cmPath, configMap("c\(i)", data: ["v": "1"])) }
    func listed() throws -> [String] {
      let list = try s.wire("GET", cmPath).value
      return (list["items"]?.arrayValue ?? []).compactMap { item in
        guard item["kind"] == nil, item["apiVersion"] == nil, let name = item[path: ["metadata", "name"]]?.stringValue,
              name.hasPrefix("c") else { return nil }
        return "\(name)=\(item[path: ["data", "v"]]?.stringValue ?? "")"
      }
    }
    #expect(try listed() == ["c0=1", "c1=1", "c2=1", "c3=1"])
    var replaced = s.call("GET", cmPath + "/c0").1
    replaced["data"] = ["v": "put"]
    #expect(s.call("PUT", cmPath + "/c0", replaced).0 == 200)
    s.call("PATCH", cmPath + "/c1", [["op": "replace", "path": "/data/v", "value": "json"]], contentType: "application/json-patch+json")
    s.call("PATCH", cmPath + "/c2", ["data": ["v": "smp"]], contentType: "application/strategic-merge-patch+json")
    s.call("DELETE", cmPath + "/c3")
    s.call("POST", cmPath, configMap("c3", data: ["v": "new"]))
    #expect(try listed() == ["c0=put", "c1=json", "c2=smp", "c3=new"])
    let applied = s.handle(APIRequest(method: "PATCH", uri: cmPath + "/c0?fieldManager=tester&force=true",
                                      headers: [("Content-Type", "application/apply-patch+yaml")],
                                      body: Array(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c0"},"data":{"v":"apply"}}"#.utf8), user: admin))
    #expect(applied.status == 200)
    #expect(try listed() == ["c0=apply", "c1=json", "c2=smp", "c3=new"])
  }

  @Test("a dry-run write answers what it would store, not the stored version's encoding")
  func dryRunIsNotTheStoredVersion() throws {
    let s = makeServer()
    s.call("POST", cmPath, configMap("dry", data: ["v": "1"]))
    _ = try s.wire("GET", cmPath + "/dry")   // encoded once
    let answer = try s.wire("PATCH", cmPath + "/dry?dryRun=All", ["data": ["v": "2"]], contentType: "application/merge-patch+json")
    #expect(answer.status == 200 && answer.value[path: ["data", "v"]] == "2" && answer.sameBytes)
    #expect(try s.wire("GET", cmPath + "/dry").value[path: ["data", "v"]] == "1")
  }

  @Test("encodings are kept only within the store's budget, and a version's bytes are given back when it is replaced")
  func budget() {
    let object: JSONValue = ["kind": "ConfigMap", "apiVersion": "v1", "metadata": ["name": "b"], "data": ["k": "v"]]
    let expected = Array(#""metadata":{"name":"b"},"data":{"k":"v"}"#.utf8)
    let tight = EncodingBudget(limit: 10)
    let unkept = StoredObject(object, budget: tight)
    #expect(unkept.members == expected)
    #expect(unkept.members == expected)
    #expect(tight.bytes == 0)
    let roomy = EncodingBudget(limit: 1 << 20)
    var kept: StoredObject? = StoredObject(object, budget: roomy)
    #expect(kept?.members == expected)
    #expect(roomy.bytes == expected.count)
    kept = nil
    #expect(roomy.bytes == 0)
  }
}
