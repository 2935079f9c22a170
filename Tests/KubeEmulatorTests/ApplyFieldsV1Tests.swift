import Foundation
import KubeCore
import Testing

@testable import KubeEmulator

/// Every `metadata.managedFields` list in the recorded real-server exchanges
/// (`wire/k8s-openapi-test-replays/v1-36/`, kube-apiserver v1.36 via Arnavion/k8s-openapi v0.28.0).
enum RecordedManagedFields {
  static let files = ["custom_resource_definition-test.json", "deployment-list.json", "job-create.json",
                      "patch-deployment.json", "pod-list.json", "watch_event-watch_pods.json",
                      "watch_event-watch_pods_without_initial_events.json"]

  /// (file, managedFields) for every object in every response body, list items and watch events included.
  static func all() throws -> [(String, JSONValue)] {
    var out: [(String, JSONValue)] = []
    for file in files {
      let exchanges = try PatchFixtures.replay(file)
      for exchange in exchanges.arrayValue ?? [] {
        guard let text = exchange["response_body"]?.stringValue else { continue }
        // Watch bodies are one JSON document per line.
        for line in text.split(separator: "\n") {
          guard let body = try? JSONValue(parsing: Array(line.utf8)) else { continue }
          var objects = [body, body["object"] ?? .null]
          objects += body["items"]?.arrayValue ?? []
          for object in objects {
            if let fields = object[path: ["metadata", "managedFields"]] { out.append((file, fields)) }
          }
        }
      }
    }
    return out
  }
}

@Suite("FieldsV1 and managedFields encoding")
struct ApplyFieldsV1Tests {
  @Test("every managedFields list kube-apiserver recorded reads and writes back byte for byte")
  func recordedManagedFieldsRoundTrip() throws {
    let recorded = try RecordedManagedFields.all()
    #expect(recorded.count >= 20)
    for (file, list) in recorded {
      let entries = try ManagedFieldsEntry.decodeList(list)
      // Custom resources are stored unstructured: their entries' members come sorted by name.
      let sortedMembers = list.arrayValue?.first?.objectValue?.keys.first == "apiVersion"
      let written = ManagedFieldsEntry.encodeList(entries, sortedMembers: sortedMembers)
      #expect(written.serializedString() == list.serializedString(), "\(file)")
    }
  }

  @Test("entries read lazily from a stored list own, disown and write back exactly what decoded ones do")
  func lazyEntriesMatchDecoded() throws {
    for (file, list) in try RecordedManagedFields.all() {
      let eager = try ManagedFieldsEntry.decodeList(list)
      let lazy = try ManagedFieldsEntry.decodeList(list, stored: true)
      #expect(lazy == eager, "\(file)")
      for (e, l) in zip(eager, lazy) {
        // Every member, every parent path (members only with "."), and a path that is in no set.
        var probes = e.fields.paths.flatMap { path in (1...path.count).map { Array(path.prefix($0)) } }
        probes.append([.field("spec"), .field("noSuchField")])
        for p in probes {
          #expect(FieldSet.fieldsV1(l.json(sortedMembers: false)["fieldsV1"] ?? .null, contains: p) == e.fields.contains(p), "\(file) \(p)")
        }
        let some = FieldSet(probes.enumerated().filter { $0.offset % 3 == 0 }.map(\.element))
        #expect(l.owned(among: some) == e.fields.intersection(some), "\(file)")
        var (de, dl) = (e, l)
        de.disown(some)
        dl.disown(some)
        #expect(dl == de, "\(file)")
        #expect(dl.ownsNothing == de.fields.isEmpty)
        #expect(dl.json(sortedMembers: false) == de.json(sortedMembers: false))
      }
    }
  }

  @Test("a FieldsV1 document names fields, keyed items, set values and indices in upstream's order")
  func elementKinds() throws {
    var set = FieldSet()
    set.insert([.field("spec"), .field("replicas")])
    set.insert([.field("metadata"), .field("finalizers"), .value("b")])
    set.insert([.field("metadata"), .field("finalizers"), .value("a")])
    let port: FieldPath = [.field("spec"), .field("ports"), .keyed([.init(name: "protocol", value: "TCP"), .init(name: "port", value: 80)])]
    set.insert(port)
    set.insert(port + [.field("port")])
    set.insert([.field("spec"), .field("args"), .index(0)])
    let text = set.fieldsV1.serializedString()
    #expect(text == #"{"f:metadata":{"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}}},"f:spec":{"f:args":{"i:0":{}},"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:port":{}}},"f:replicas":{}}}"#)
    #expect(try FieldSet(fieldsV1: set.fieldsV1) == set)
    #expect(describe(port) == #".spec.ports[port=80,protocol="TCP"]"#)
    // Iteration order: a level's members before its children.
    #expect(set.sortedPaths.map(describe) == [
      #".metadata.finalizers[="a"]"#, #".metadata.finalizers[="b"]"#, ".spec.replicas", ".spec.args[0]",
      #".spec.ports[port=80,protocol="TCP"]"#, #".spec.ports[port=80,protocol="TCP"].port"#,
    ])
  }

  @Test("a managedFields list with a bad entry is refused with upstream's reason", arguments: [
    (#"[{"manager":"a","operation":"Patch","apiVersion":"v1","fieldsType":"FieldsV1","fieldsV1":{}}]"#, "operation must be `Apply` or `Update`"),
    (#"[{"manager":"a","operation":"Update","fieldsType":"FieldsV1","fieldsV1":{}}]"#, "apiVersion must not be empty"),
    (#"[{"manager":"a","operation":"Update","apiVersion":"v1","fieldsV1":{}}]"#, "missing fieldsType in managed fields entry 0"),
    (#"[{"manager":"a","operation":"Update","apiVersion":"v1","fieldsType":"FieldsV2"}]"#, "invalid fieldsType \"FieldsV2\" in managed fields entry 0"),
  ])
  func badEntries(_ row: (String, String)) throws {
    let list = try JSONValue(parsing: Array(row.0.utf8))
    #expect(throws: ManagedFieldsEntry.DecodingError(description: row.1)) { try ManagedFieldsEntry.decodeList(list) }
  }
}

@Suite("managedFields as kube-apiserver records them")
struct RecordedWriteManagersTests {
  /// The request's own entries (manager `unknown`: the recording client sends no User-Agent) and
  /// kube-apiserver's own (a CRD's status), without `time`.
  static func clientEntries(_ object: JSONValue) -> [JSONValue] {
    (object[path: ["metadata", "managedFields"]]?.arrayValue ?? []).filter { $0["manager"] == "unknown" || $0["manager"] == "kube-apiserver" }.map {
      var e = $0
      e["time"] = nil
      return e
    }
  }

  @Test("replayed creates, patches and reads show the update entries kube-apiserver recorded", arguments: [
    "custom_resource_definition-test.json", "patch-deployment.json", "job-create.json",
  ])

  func replayedWrites(_ file: String) throws {
    let s = makeServer()
    let exchanges = try PatchFixtures.replay(file)
    var compared = 0
    for exchange in exchanges.arrayValue ?? [] {
      guard let method = exchange["request_method"]?.stringValue, ["POST", "PATCH", "PUT", "GET"].contains(method),
        let url = exchange["request_url"]?.stringValue, let bodyText = exchange["request_body"]?.stringValue,
        let code = exchange["response_status_code"]?.intValue
      else { continue }
      var headers: [(String, String)] = []
      if let type = exchange["request_content_type"]?.stringValue { headers.append(("Content-Type", type)) }
      let response = s.handle(APIRequest(method: method, uri: url, headers: headers, body: Array(bodyText.utf8), user: admin))
      guard (200..<300).contains(code), let text = exchange["response_body"]?.stringValue,
        case .json(let got) = response.body, let recorded = try? JSONValue(parsing: Array(text.utf8))
      else { continue }
      let want = Self.clientEntries(recorded)
      guard !want.isEmpty else { continue }
      // The real server's controllers run a moment later: compare the managers the recording shows.
      let shown = Set(want.compactMap { $0["manager"] })
      #expect(Self.clientEntries(got).filter { $0["manager"].map(shown.contains) ?? false } == want, "\(method) \(url)")
      compared += 1
    }
    #expect(compared > 0)
  }
}

@Suite("Path element order")
struct PathElementOrderTests {
  /// Two keys, the first sorting before the second.
  struct KeyRow: Sendable, CustomTestStringConvertible {
    var smaller: [PathElement.KeyField]
    var larger: [PathElement.KeyField]
    var testDescription: String { "\(PathElement.keyed(smaller)) < \(PathElement.keyed(larger))" }
    init(_ smaller: [(String, JSONValue)], _ larger: [(String, JSONValue)]) {
      self.smaller = smaller.map { .init(name: $0.0, value: $0.1) }
      self.larger = larger.map { .init(name: $0.0, value: $0.1) }
    }
  }

  static let rows: [KeyRow] = [
    KeyRow([("containerPort", 53), ("protocol", "UDP")], [("containerPort", 8080), ("protocol", "TCP")]),
    KeyRow([("a", 1)], [("a", 1), ("b", 0)]),
    KeyRow([("a", 2), ("b", 0)], [("a", 10)]),
  ]

  @Test("keyed items sort field by field, as upstream's FieldList.Compare, so ports list in port order", arguments: rows)
  func keyOrder(_ row: KeyRow) {
    #expect(PathElement.keyed(row.smaller) < PathElement.keyed(row.larger))
    #expect(!(PathElement.keyed(row.larger) < PathElement.keyed(row.smaller)))
  }
}

@Suite("Keyed list merge order")
struct KeyedListMergeOrderTests {
  /// `finalizers`-like set list: items are their own keys.
  static let setSchema = ApplySchema(custom: ["type": "array", "x-kubernetes-list-type": "set", "items": ["type": "string"]], metadata: nil)

  @Test("shared items follow the applied order; live-only items keep their place; new items come where applied", arguments: [
    (["a", "b"], ["b", "c"], ["a", "b", "c"]),
    (["a", "b"], ["b", "a"], ["b", "a"]),
    (["a", "x", "b"], ["b", "a"], ["x", "b", "a"]),
    ([], ["a"], ["a"]),
    (["a"], [], ["a"]),
  ] as [([String], [String], [String])])
  func order(_ row: ([String], [String], [String])) {
    let merged = ObjectMerge.mergeItems(row.0.map(JSONValue.string), row.1.map(JSONValue.string), schema: Self.setSchema)
    #expect(merged == row.2.map(JSONValue.string))
  }
}
