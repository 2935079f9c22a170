import KubeClient
import KubeCore
import KubeEmulator
import Testing
@testable import ControllerRuntime

@Suite("Reflector cache transform")
struct ReflectorTransformTests {
  static let lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

  static func annotated(_ name: String, _ annotations: JSONObject) -> JSONValue {
    var object = cm(name, "1")
    object[path: ["metadata", "annotations"]] = .object(annotations)
    return object
  }

  @Test("listed and watched objects enter the store transformed, and a relist of unchanged objects changes nothing")
  func transformOnListAndWatch() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    _ = try await c.create(.configMaps, namespace: "default",
                           Self.annotated("listed", [Self.lastApplied: "{\"kind\":\"ConfigMap\"}", "team": "edge"]))
    let onServer = try await c.get(.configMaps, namespace: "default", name: "listed")
    try #require(onServer[path: ["metadata", "managedFields"]] != nil)   // the emulator records field managers

    let store = Store()
    let transform: Reflector.TransformFunction = { Reflector.stripLastAppliedConfiguration(Reflector.stripManagedFields($0)) }
    var configured = Reflector(client: c, resource: .configMaps, namespace: "default", store: store)
    configured.transform = transform
    let reflector = configured
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await reflector.run { _ in } }
      #expect(try await eventually { await store.get("default/listed") != nil })
      let listed = try #require(await store.get("default/listed"))
      #expect(listed[path: ["metadata", "managedFields"]] == nil)
      #expect(listed[path: ["metadata", "annotations"]] == ["team": "edge"])
      #expect(listed[path: ["data", "v"]] == "1")
      // A relist compares the objects it gets, transformed, with those the store holds: equal, so no key changed.
      let page = try await c.listAll(.configMaps, namespace: "default")
      #expect(await store.replace(page.items.map(transform), resourceVersion: page.resourceVersion).isEmpty)

      _ = try await c.create(.configMaps, namespace: "default", Self.annotated("watched", [Self.lastApplied: "{}"]))
      #expect(try await eventually { await store.get("default/watched") != nil })
      let watched = try #require(await store.get("default/watched"))
      #expect(watched[path: ["metadata", "managedFields"]] == nil)
      #expect(watched[path: ["metadata", "annotations"]] == nil)   // nothing else was left
      #expect(watched[path: ["metadata", "resourceVersion"]] != nil)
      group.cancelAll()
    }
  }

  @Test("without a transform the store keeps objects as the server sent them")
  func noTransform() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    _ = try await c.create(.configMaps, namespace: "default", Self.annotated("plain", [Self.lastApplied: "{}"]))
    let store = Store()
    let reflector = Reflector(client: c, resource: .configMaps, namespace: "default", store: store)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await reflector.run { _ in } }
      #expect(try await eventually { await store.get("default/plain") != nil })
      let cached = try #require(await store.get("default/plain"))
      #expect(cached[path: ["metadata", "managedFields"]] != nil)
      #expect(cached[path: ["metadata", "annotations", Self.lastApplied]] == "{}")
      group.cancelAll()
    }
  }
}
