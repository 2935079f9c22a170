import KubeCore
import Testing
@testable import KubeEmulator

/// The store's label index answers a selector as a scan of the namespace would, through relabels,
/// deletions and other namespaces (the index is what EdgeSim's disruption controller reads a
/// budget's pods through).
@Suite("Object store label index")
struct LabelIndexTests {
  static func pod(_ name: String, namespace: String = "default", labels: [String: String]) -> JSONValue {
    var meta: JSONObject = ["name": .string(name), "namespace": .string(namespace)]
    meta["labels"] = .object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
    return ["apiVersion": "v1", "kind": "Pod", "metadata": .object(meta)]
  }

  static func names(_ objects: [JSONValue]) -> [String] {
    objects.compactMap { $0[path: ["metadata", "name"]]?.stringValue }.sorted()
  }

  @Test("every selector gets the pods a scan of the namespace finds, after relabels and deletions, and none from another namespace")
  func sameAsScan() throws {
    let store = ObjectStore()
    // 60 pods of 6 models in 3 node groups, some in another namespace with the same labels.
    store.transaction { s in
      for i in 0..<60 {
        s.put("pods", Self.pod("p\(i)", namespace: i % 10 == 0 ? "other" : "default",
                               labels: ["app": "m\(i % 6)", "group": "g\(i % 3)", "tier": i % 2 == 0 ? "a" : "b"]), type: .added)
      }
      // Relabel some, drop a label from others, delete a few.
      for i in stride(from: 1, to: 60, by: 7) {
        s.put("pods", Self.pod("p\(i)", namespace: i % 10 == 0 ? "other" : "default", labels: ["app": "m9", "group": "g\(i % 3)"]), type: .modified)
      }
      for i in [2, 14, 33] { s.remove("pods", namespace: "default", name: "p\(i)") }
    }
    let selectors = ["app=m0", "app=m9", "app=m0,group=g1", "app in (m1,m2),tier=b", "group=g2,tier!=a", "app=m0,tier", "app=nothing",
                     "tier notin (a)", "!tier", "group in (g0,g9)"]
    for text in selectors {
      let selector = try LabelSelector.parse(text)
      let (indexed, scanned) = store.transaction { s in
        (s.objects("pods", namespace: "default", selector: selector),
         s.objects("pods", namespace: "default", where: { selector.matches(ObjectStore.State.labels(of: $0)) }))
      }
      #expect(Self.names(indexed) == Self.names(scanned), "\(text)")
      #expect(indexed.count == Set(Self.names(indexed)).count, "\(text): no pod twice")
    }
    // The index forgets deleted pods and old values: m9 is only the relabelled ones left.
    let m9 = store.transaction { $0.objects("pods", namespace: "default", selector: try! LabelSelector.parse("app=m9")) }
    #expect(Self.names(m9) == ["p1", "p15", "p22", "p29", "p36", "p43", "p57", "p8"])
    #expect(store.transaction { $0.byLabel.keys.contains { $0.contains("\u{0}default\u{0}app\u{0}m9") } })
    store.transaction { s in for i in stride(from: 1, to: 60, by: 7) { s.remove("pods", namespace: i % 10 == 0 ? "other" : "default", name: "p\(i)") } }
    #expect(store.transaction { !$0.byLabel.keys.contains { $0.contains("\u{0}app\u{0}m9") } }, "no empty postings left behind")
  }
}
