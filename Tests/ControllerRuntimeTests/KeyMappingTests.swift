import KubeCore
import Testing
@testable import ControllerRuntime

@Test("a pod maps to the EdgeModel that controls it, not to other owners")
func ownerMapping() {
  let pod: JSONValue = ["metadata": ["name": "p", "namespace": "edge", "ownerReferences": [
    ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "name": "detector", "uid": "1", "controller": true],
    ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "name": "watcher", "uid": "2"],
    ["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "3", "controller": true],
  ]]]
  #expect(KeyMapping.owners(of: pod, kind: "EdgeModel", apiGroup: "edgeml.io") == ["edge/detector"])
  #expect(KeyMapping.owners(of: pod, kind: "EdgeModel", apiGroup: "edgeml.io", controllerOnly: false) == ["edge/detector", "edge/watcher"])
  #expect(KeyMapping.owners(of: pod, kind: "ReplicaSet", apiGroup: "apps") == ["edge/rs"])
  #expect(KeyMapping.owners(of: pod, kind: "ReplicaSet", apiGroup: "") == [])
  #expect(KeyMapping.own(pod) == ["edge/p"])
}

/// Records what it was asked to reconcile.
actor Seen {
  var requests: [String] = []
  func add(_ r: String) { requests.append(r) }
}

struct RecordingReconciler: Reconciler {
  let seen: Seen
  func reconcile(_ request: ReconcileRequest) async throws -> ReconcileResult {
    await seen.add(request.description)
    return .done
  }
}

@Test("a dependent's creation, change and deletion reconcile its owner through the shared informer")
func ownerHandler() async throws {
  let emulator = try await startEmulator()
  defer { Task { await emulator.shutdown() } }
  let c = try client(for: emulator)
  defer { c.shutdown() }
  let owner = try await c.create(.configMaps, namespace: "default", cm("owner", "1"))
  let informer = Informer(client: c, resource: .configMaps, namespace: "default")
  let seen = Seen()
  let controller = Controller(name: "owners", reconciler: RecordingReconciler(seen: seen), workers: 1, logger: .init(label: "test"))
  await informer.addHandler(for: controller) { KeyMapping.owners(of: $0, kind: "ConfigMap", apiGroup: "") }
  try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await informer.run() }
    group.addTask { await controller.run() }
    try await informer.waitForSync()
    var dependent = cm("dependent", "1")
    dependent[path: ["metadata", "ownerReferences"]] = [["apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                                         "uid": owner[path: ["metadata", "uid"]] ?? "", "controller": true]]
    _ = try await c.create(.configMaps, namespace: "default", dependent)
    #expect(try await eventually { await seen.requests.contains("default/owner") })
    let before = await seen.requests.count
    try await c.delete(.configMaps, namespace: "default", name: "dependent")
    #expect(try await eventually { await seen.requests.count > before })   // the deletion reaches the owner too
    #expect(await seen.requests.allSatisfy { $0 == "default/owner" })
    group.cancelAll()
  }
}
