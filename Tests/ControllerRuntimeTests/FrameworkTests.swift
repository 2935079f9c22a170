import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Testing
@testable import ControllerRuntime

@Test("a pod maps to the owner that controls it, not to other owners, and a change maps both its old and new owners")
func ownerMapping() {
  let pod: JSONValue = ["metadata": ["name": "p", "namespace": "edge", "ownerReferences": [
    ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "name": "detector", "uid": "1", "controller": true],
    ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "name": "watcher", "uid": "2"],
    ["apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "3", "controller": true],
  ]]]
  let r = { (key: String) in ReconcileRequest(key: key) }
  #expect(KeyMapping.owners(of: pod, kind: "EdgeModel", apiGroup: "edgeml.io") == [r("edge/detector")])
  #expect(KeyMapping.owners(of: pod, kind: "EdgeModel", apiGroup: "edgeml.io", controllerOnly: false) == [r("edge/detector"), r("edge/watcher")])
  #expect(KeyMapping.owners(of: pod, kind: "ReplicaSet", apiGroup: "apps") == [r("edge/rs")])
  #expect(KeyMapping.owners(of: pod, kind: "ReplicaSet", apiGroup: "") == [])
  var moved = pod
  moved[path: ["metadata", "ownerReferences"]] = [["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "name": "tracker",
                                                   "uid": "4", "controller": true]]
  let change = ObjectChange(key: "edge/p", old: pod, new: moved)
  #expect(KeyMapping.owners(of: change, kind: "EdgeModel", apiGroup: "edgeml.io") == [r("edge/detector"), r("edge/tracker")])
  #expect(KeyMapping.own(change) == [r("edge/p")])
}

@Test("two controllers watching ConfigMaps share one informer: one list and one watch, both get every change with its old and new object")
func sharedInformer() async throws {
  let emulator = try await startEmulator()
  defer { Task { await emulator.shutdown() } }
  let c = try client(for: emulator)
  defer { c.shutdown() }
  try await installWidgetCRD(c)
  let primary = Seen(), watcher = Seen()
  let a = ControllerSpec(name: "configmaps", for: .configMaps, kind: "ConfigMap", reconciler: RecordingReconciler(seen: primary))
  let b = ControllerSpec(name: "widgets", for: widgets, kind: "Widget", reconciler: RecordingReconciler(seen: watcher))
    .watches(.configMaps) { change, _ in
      // Every namespace also holds the root CA publisher's `kube-root-ca.crt`; this test is about `shared`.
      if change.key.hasSuffix("/kube-root-ca.crt") { return [] }
      await watcher.add(change: change)
      return [ReconcileRequest(namespace: "default", name: "w")]
    }
  let manager = await Manager(client: c, controllers: [a, b], namespace: "default", recorder: nil, leaderElector: nil,
                              logger: Logger(label: "test"))
  #expect(manager.caches.all.count == 2)   // configmaps once, widgets once
  let configMaps = try #require(manager.caches.informer(.configMaps))
  let stop = Signal()
  try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await manager.run(until: { try? await stop.wait() }) }
    try await configMaps.waitForSync()
    _ = try await c.create(.configMaps, namespace: "default", cm("shared", "1"))
    _ = try await c.patch(.configMaps, namespace: "default", name: "shared", ["data": ["v": "2"]], type: .merge)
    try await c.delete(.configMaps, namespace: "default", name: "shared")
    #expect(try await eventually { await watcher.changes.count >= 3 })
    let changes = await watcher.changes
    #expect(changes.map(\.old) == [nil, "1", "2"])
    #expect(changes.map(\.new) == ["1", "2", nil])
    #expect(try await eventually { await primary.requests.contains("default/shared") })
    #expect(try await eventually { await watcher.requests.contains("default/w") })
    #expect(configMaps.stats.lists == 1 && configMaps.stats.watches == 1)
    stop.fire()
    try await group.waitForAll()
  }
}

@Suite("Plan applier against the emulator")
struct PlanApplierTests {
  struct Fixture {
    let emulator: KubeEmulator
    let client: KubeClient
    let applier: PlanApplier
    let store: Store
    func stop() async { client.shutdown(); await emulator.shutdown() }

    /// The owner as the server has it now (what the cache would hold).
    func owner(_ name: String = "w") async throws -> JSONValue { try await client.get(widgets, namespace: "default", name: name) }

    func configMap(_ name: String, owner: JSONValue, v: String) -> DesiredObject {
      var o = cm(name, v)
      o[path: ["metadata", "namespace"]] = "default"
      o[path: ["metadata", "ownerReferences"]] = [["apiVersion": "test.edgeml.io/v1", "kind": "Widget",
                                                   "name": owner[path: ["metadata", "name"]] ?? "", "uid": owner[path: ["metadata", "uid"]] ?? "",
                                                   "controller": true]]
      return DesiredObject(.configMaps, o)
    }
    func resourceVersions() async throws -> [String: String] {
      // Every namespace also holds the root CA publisher's `kube-root-ca.crt`, which no controller here owns.
      Dictionary(uniqueKeysWithValues: try await client.list(.configMaps, namespace: "default").items
        .filter { $0[path: ["metadata", "name"]] != "kube-root-ca.crt" }.map {
        ($0[path: ["metadata", "name"]]?.stringValue ?? "", $0[path: ["metadata", "resourceVersion"]]?.stringValue ?? "")
      })
    }
  }

  func start() async throws -> Fixture {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    try await installWidgetCRD(c)
    _ = try await c.create(widgets, namespace: "default", widget("w"))
    let store = Store(indexers: Store.standardIndexers)
    let applier = PlanApplier(client: c, fieldManager: "test-controller", hashAnnotation: "edgeml.io/applied-hash",
                              ownerResource: widgets, owned: [.configMaps: store], recorder: nil)
    return Fixture(emulator: emulator, client: c, applier: applier, store: store)
  }

  @Test("objects are applied once: an unchanged plan writes nothing, a changed object alone is written again")
  func skipsUnchanged() async throws {
    let f = try await start()
    let owner = try await f.owner()
    let plan = ReconcilePlan(objects: [f.configMap("a", owner: owner, v: "1"), f.configMap("b", owner: owner, v: "1")])
    let first = try await f.applier.apply(plan, owner: owner)
    #expect(first.applied == ["configmaps/a", "configmaps/b"])
    let applied = try await f.client.get(.configMaps, namespace: "default", name: "a")
    #expect(applied[path: ["metadata", "annotations", "edgeml.io/applied-hash"]]?.stringValue?.count == 16)
    #expect(applied[path: ["metadata", "managedFields"]]?.arrayValue?.first?["manager"] == "test-controller")
    try await refresh(f.store, f.client, .configMaps)
    let versions = try await f.resourceVersions()
    let again = try await f.applier.apply(plan, owner: owner)
    #expect(again.applied.isEmpty && again.unchanged == 2)
    #expect(try await f.resourceVersions() == versions)
    let changed = ReconcilePlan(objects: [f.configMap("a", owner: owner, v: "1"), f.configMap("b", owner: owner, v: "2")])
    #expect(try await f.applier.apply(changed, owner: owner).applied == ["configmaps/b"])
    await f.stop()
  }

  @Test("owned objects the plan no longer wants are deleted; objects of another owner are left alone")
  func prunes() async throws {
    let f = try await start()
    let owner = try await f.owner()
    _ = try await f.client.create(widgets, namespace: "default", widget("other"))
    let other = try await f.owner("other")
    _ = try await f.applier.apply(ReconcilePlan(objects: [f.configMap("keep", owner: owner, v: "1"), f.configMap("drop", owner: owner, v: "1"),
                                                          f.configMap("theirs", owner: other, v: "1")]), owner: owner)
    try await refresh(f.store, f.client, .configMaps)
    let report = try await f.applier.apply(ReconcilePlan(objects: [f.configMap("keep", owner: owner, v: "1")], prune: [.configMaps]),
                                           owner: owner)
    #expect(report.pruned == ["configmaps/drop"])
    #expect(Set(try await f.resourceVersions().keys) == ["keep", "theirs"])
    // Without `prune` nothing is deleted, whatever the plan leaves out.
    try await refresh(f.store, f.client, .configMaps)
    #expect(try await f.applier.apply(ReconcilePlan(), owner: owner).pruned.isEmpty)
    await f.stop()
  }

  @Test("the status is written only when it changed, and members the new status lacks are removed")
  func statusOnlyWhenChanged() async throws {
    let f = try await start()
    var owner = try await f.owner()
    let status: JSONValue = ["phase": "Pending", "message": "waiting for nodes"]
    let first = try await f.applier.apply(ReconcilePlan(status: status, events: []), owner: owner)
    #expect(first.statusWritten)
    owner = try await f.owner()
    #expect(owner["status"] == status)
    #expect(try await f.applier.apply(ReconcilePlan(status: status), owner: owner).statusWritten == false)
    let rv = owner[path: ["metadata", "resourceVersion"]]
    #expect(try await f.owner()[path: ["metadata", "resourceVersion"]] == rv)
    _ = try await f.applier.apply(ReconcilePlan(status: ["phase": "Ready"]), owner: owner)
    #expect(try await f.owner()["status"] == ["phase": "Ready"])   // `message` is gone, not left behind
    await f.stop()
  }

  @Test("an object of a resource the controller does not own is refused, not guessed", arguments: [
    (GroupVersionResource(group: "", version: "v1", resource: "secrets", namespaced: true), "v1"),
    (GroupVersionResource.configMaps, "apps/v1"),
  ])
  func unknownResource(resource: GroupVersionResource, apiVersion: String) async throws {
    let f = try await start()
    let owner = try await f.owner()
    var object = f.configMap("x", owner: owner, v: "1").object
    object["apiVersion"] = .string(apiVersion)
    await #expect(throws: TerminalError.self) {
      try await f.applier.apply(ReconcilePlan(objects: [DesiredObject(resource, object)]), owner: owner)
    }
    #expect(try await f.resourceVersions().isEmpty)
    await f.stop()
  }

  @Test("an owner already deleted, or being deleted, gets nothing created even from a stale cache")
  func ownerGone() async throws {
    let f = try await start()
    let stale = try await f.owner()   // what the cache still holds
    try await f.client.delete(widgets, namespace: "default", name: "w")
    let report = try await f.applier.apply(ReconcilePlan(objects: [f.configMap("orphan", owner: stale, v: "1")],
                                                         status: ["phase": "Ready"]), owner: stale)
    #expect(report.ownerGone && report.applied.isEmpty)
    // Re-created under the same name: a new uid, still not the owner the plan was made for.
    _ = try await f.client.create(widgets, namespace: "default", widget("w"))
    #expect(try await f.applier.apply(ReconcilePlan(objects: [f.configMap("orphan", owner: stale, v: "1")]), owner: stale).ownerGone)
    // Terminating: held by a finalizer.
    _ = try await f.client.patch(widgets, namespace: "default", name: "w", ["metadata": ["finalizers": ["test.edgeml.io/hold"]]],
                                 type: .merge)
    try await f.client.delete(widgets, namespace: "default", name: "w")
    let terminating = try await f.owner()
    #expect(terminating[path: ["metadata", "deletionTimestamp"]] != nil)
    #expect(try await f.applier.apply(ReconcilePlan(objects: [f.configMap("orphan", owner: terminating, v: "1")]), owner: terminating).ownerGone)
    #expect(try await f.resourceVersions().isEmpty)
    await f.stop()
  }
}

@Test("a write to a part the cache does not keep wakes no controller; a change it keeps does")
func resourceVersionOnlyChangesWakeNobody() async throws {
  let emulator = try await startEmulator()
  defer { Task { await emulator.shutdown() } }
  let c = try client(for: emulator)
  defer { c.shutdown() }
  try await installWidgetCRD(c)
  let seen = Seen()
  // Pods cached as metadata only, as the EdgeModel controller caches its Deployments and budgets.
  let spec = ControllerSpec(name: "widgets", for: widgets, kind: "Widget", reconciler: RecordingReconciler(seen: seen))
    .watches(.pods, fields: .metadata) { change, _ in
      await seen.add(label: change.new?[path: ["metadata", "labels", "tier"]]?.stringValue)
      return [ReconcileRequest(namespace: "default", name: "w")]
    }
  let manager = await Manager(client: c, controllers: [spec], namespace: "default", recorder: nil, leaderElector: nil,
                              logger: Logger(label: "test"))
  let pods = try #require(manager.caches.informer(.pods))
  let stop = Signal()
  try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await manager.run(until: { try? await stop.wait() }) }
    try await pods.waitForSync()
    _ = try await c.create(.pods, namespace: "default", ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"],
                                                         "spec": ["containers": [["name": "c", "image": "busybox"]]]])
    #expect(try await eventually { await seen.labels.count == 1 })
    // A status write: the cached pod differs from the one before only in its resourceVersion.
    let written = try await c.patch(.pods, namespace: "default", name: "p", ["status": ["phase": "Running"]], type: .merge,
                                    subresource: "status")
    #expect(try await eventually { await pods.store.get("default/p")?[path: ["metadata", "resourceVersion"]] == written[path: ["metadata", "resourceVersion"]] })
    // A label is kept: that change is delivered.
    _ = try await c.patch(.pods, namespace: "default", name: "p", ["metadata": ["labels": ["tier": "edge"]]], type: .merge)
    #expect(try await eventually { await seen.labels.last == "edge" })
    // Two changes only: the creation and the label; the status write between them woke nobody.
    #expect(await seen.labels == [nil, "edge"])
    stop.fire()
    try await group.waitForAll()
  }
}

@Test("an object that differs only in its resourceVersion is no change; any other member is")
func changesOnlyResourceVersion() {
  let a: JSONValue = ["metadata": ["name": "p", "resourceVersion": "1", "labels": ["a": "1"]], "status": ["phase": "Running"]]
  var b = a
  b[path: ["metadata", "resourceVersion"]] = "2"
  #expect(ObjectChange(key: "k", old: a, new: b).changesOnlyResourceVersion)
  var labelled = b
  labelled[path: ["metadata", "labels", "a"]] = "2"
  #expect(!ObjectChange(key: "k", old: a, new: labelled).changesOnlyResourceVersion)
  var phase = b
  phase[path: ["status", "phase"]] = "Succeeded"
  #expect(!ObjectChange(key: "k", old: a, new: phase).changesOnlyResourceVersion)
  var added = b
  added[path: ["metadata", "deletionTimestamp"]] = "2026-12-07T06:00:00Z"
  #expect(!ObjectChange(key: "k", old: a, new: added).changesOnlyResourceVersion)
  #expect(!ObjectChange(key: "k", old: nil, new: a).changesOnlyResourceVersion)
  #expect(!ObjectChange(key: "k", old: a, new: nil).changesOnlyResourceVersion)
}
