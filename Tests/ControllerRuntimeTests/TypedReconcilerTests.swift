import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Synchronization
import Testing
@testable import ControllerRuntime

/// Widgets with a negative size are invalid; a valid one wants a ConfigMap named after it.
struct WidgetReconciler: ObjectReconciler {
  struct Widget: Sendable { var name: String; var size: Int }
  struct InvalidSize: Error, CustomStringConvertible { var size: Int; var description: String { "spec.size must not be negative, got \(size)" } }
  var finalizer: String? = nil
  let finalized = Seen()

  func decode(_ json: JSONValue) throws -> Widget {
    let size = json[path: ["spec", "size"]]?.intValue ?? 0
    guard size >= 0 else { throw InvalidSize(size: size) }
    return Widget(name: json[path: ["metadata", "name"]]?.stringValue ?? "", size: size)
  }

  func plan(_ widget: Widget, json: JSONValue, context: ReconcileContext) async throws -> ReconcilePlan {
    var o = cm("\(widget.name)-config", String(widget.size))
    o[path: ["metadata", "namespace"]] = "default"
    o[path: ["metadata", "ownerReferences"]] = [["apiVersion": "test.edgeml.io/v1", "kind": "Widget", "name": .string(widget.name),
                                                 "uid": json[path: ["metadata", "uid"]] ?? "", "controller": true]]
    return ReconcilePlan(objects: [DesiredObject(.configMaps, o)], status: ["size": JSONValue(widget.size)], requeueAfter: .seconds(300))
  }

  func finalize(_ json: JSONValue, context: ReconcileContext) async throws {
    await finalized.add(json[path: ["metadata", "name"]]?.stringValue ?? "")
  }
}

@Suite("Typed reconciler and controller, on a manual clock")
struct TypedReconcilerTests {
  struct Fixture {
    let emulator: KubeEmulator
    let client: KubeClient
    let manager: Manager
    let clock: ManualClock
    let recorder: EventRecorder
    var controller: Controller { manager.controllers[0] }
    func stop() async { client.shutdown(); await emulator.shutdown() }

    /// Reconciles `name` once with the caches refreshed from the server, as a worker would.
    func reconcile(_ name: String) async throws {
      try await refresh(manager.caches.store(widgets)!, client, widgets)
      try await refresh(manager.caches.store(.configMaps)!, client, .configMaps)
      await controller.process(ReconcileRequest(namespace: "default", name: name))
    }
    func widget(_ name: String) async throws -> JSONValue { try await client.get(widgets, namespace: "default", name: name) }
    /// The ConfigMaps the reconciler wrote: all but the namespace's `kube-root-ca.crt` (the root CA publisher's).
    func plannedConfigMaps() async throws -> [JSONValue] {
      try await client.list(.configMaps, namespace: "default").items.filter { $0[path: ["metadata", "name"]] != "kube-root-ca.crt" }
    }
    func warnings() async throws -> [JSONValue] {
      try await client.list(.events, namespace: "default").items.filter { $0["type"] == "Warning" }
    }
  }

  func start(_ reconciler: WidgetReconciler = WidgetReconciler()) async throws -> Fixture {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    try await installWidgetCRD(c)
    let clock = ManualClock()
    let recorder = EventRecorder(client: c, reportingController: "test", reportingInstance: "0", clock: clock)
    let spec = ControllerSpec(name: "widgets", for: widgets, kind: "Widget",
                              reconciler: TypedReconciler(reconciler, resource: widgets)).owns(.configMaps, fields: .all)
    let manager = await Manager(client: c, controllers: [spec], namespace: "default", clock: clock, recorder: recorder,
                                leaderElector: nil, logger: Logger(label: "test"))
    return Fixture(emulator: emulator, client: c, manager: manager, clock: clock, recorder: recorder)
  }

  @Test("a valid object is planned and applied, and its requeue waits on the clock")
  func appliesAndRequeues() async throws {
    let f = try await start()
    _ = try await f.client.create(widgets, namespace: "default", widget("w", size: 3))
    try await f.reconcile("w")
    #expect(try await f.client.get(.configMaps, namespace: "default", name: "w-config")[path: ["data", "v"]] == "3")
    #expect(try await f.widget("w")["status"] == ["size": 3])
    #expect(f.controller.queue.delayedUntil(ReconcileRequest(namespace: "default", name: "w")) == f.clock.now + .seconds(300))
    #expect(f.controller.metrics.count("requeue") == 1)
    await f.stop()
  }

  @Test("an invalid spec becomes Ready=False with reason InvalidSpec and one Warning Event, and is not retried")
  func invalidSpec() async throws {
    let f = try await start()
    _ = try await f.client.create(widgets, namespace: "default", widget("bad", size: -2))
    try await f.reconcile("bad")
    let status = try await f.widget("bad")["status"]
    let ready = try #require(status?["conditions"]?.arrayValue?.first { $0["type"] == "Ready" })
    #expect(ready["status"] == "False" && ready["reason"] == "InvalidSpec")
    #expect(ready["message"] == "spec.size must not be negative, got -2")
    #expect(ready["lastTransitionTime"] == "2027-01-15T08:00:00Z")
    #expect(ready["observedGeneration"] == 1)
    #expect(try await f.warnings().map { $0["reason"] } == ["InvalidSpec"])
    #expect(f.controller.queue.delayedCount == 0 && f.controller.queue.failures(ReconcileRequest(namespace: "default", name: "bad")) == 0)
    // Reconciled again (a resync, a change elsewhere): nothing new is written.
    let rv = try await f.widget("bad")[path: ["metadata", "resourceVersion"]]
    f.clock.advance(by: .seconds(60))
    try await f.reconcile("bad")
    #expect(try await f.widget("bad")[path: ["metadata", "resourceVersion"]] == rv)
    #expect(try await f.warnings().count == 1)
    #expect(try await f.plannedConfigMaps().isEmpty)
    await f.stop()
  }

  @Test("a terminal error is counted and not retried; any other error retries with backoff on the clock")
  func terminalAndRetriedErrors() async throws {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    let clock = ManualClock()
    let seen = Seen()
    let specs = [
      ControllerSpec(name: "terminal", for: .configMaps, kind: "ConfigMap",
                     reconciler: RecordingReconciler(seen: seen, error: TerminalError(Boom()))),
      ControllerSpec(name: "flaky", for: .configMaps, kind: "ConfigMap", reconciler: RecordingReconciler(seen: seen, error: Boom())),
    ]
    let manager = await Manager(client: c, controllers: specs, namespace: "default", clock: clock, recorder: nil, leaderElector: nil,
                                logger: Logger(label: "test"))
    let request = ReconcileRequest(namespace: "default", name: "x")
    let terminal = manager.controllers[0], flaky = manager.controllers[1]
    await terminal.process(request)
    #expect(terminal.queue.delayedCount == 0 && terminal.queue.depth == 0)
    #expect(terminal.metrics.count("terminal_error") == 1)
    await flaky.process(request)
    #expect(flaky.queue.delayedUntil(request) == clock.now + .milliseconds(5))
    await flaky.process(request)
    #expect(flaky.queue.failures(request) == 2)
    #expect(flaky.metrics.count("error") == 2)
    c.shutdown()
    await emulator.shutdown()
  }

  /// A reconcile whose write is cut short when the controller stops: the first call waits on the
  /// clock until its task is cancelled; a later call on a cancelled task throws `CancellationError`
  /// at once, as `KubeClient.send` does before any request. Past `limit` calls it gives up and
  /// returns, so a controller that keeps calling it still ends and the test can count the calls.
  final class StoppedWriteReconciler: Reconciler {
    let calls = Mutex(0)
    let limit = 50
    func reconcile(_ request: ReconcileRequest, context: ReconcileContext) async throws -> ReconcileResult {
      let n = calls.withLock { $0 += 1; return $0 }
      if n == 1 { try await context.clock.sleep(for: .seconds(3600)) }
      if n >= limit { return .done }
      try Task.checkCancellation()
      return .done
    }
  }

  @Test("a controller stopped during a reconcile keeps the key for a successor and returns: its cancelled worker takes no more keys")
  func stopDuringAReconcile() async throws {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    let clock = ManualClock()
    let reconciler = StoppedWriteReconciler()
    let spec = ControllerSpec(name: "widgets", for: widgets, kind: "Widget", reconciler: reconciler).workers(1)
    let manager = await Manager(client: c, controllers: [spec], namespace: "default", clock: clock, recorder: nil, leaderElector: nil,
                                logger: Logger(label: "test"))
    let controller = manager.controllers[0]
    controller.queue.add(ReconcileRequest(namespace: "default", name: "w"))
    let run = Task { await controller.run() }
    await clock.waitForSleepers(1)   // the reconcile is in flight (the delay loop has nothing to sleep for)
    run.cancel()
    await run.value
    // Put back once, and not handed straight back to the stopping worker (which spun on it).
    #expect(reconciler.calls.withLock { $0 } == 1)
    #expect(controller.queue.depth == 1)
    c.shutdown()
    await emulator.shutdown()
  }

  @Test("a finalizer is added to a live object, and on deletion the clean-up runs before it is removed")
  func finalizers() async throws {
    let reconciler = WidgetReconciler(finalizer: "test.edgeml.io/cleanup")
    let f = try await start(reconciler)
    _ = try await f.client.create(widgets, namespace: "default", widget("w"))
    try await f.reconcile("w")
    #expect(try await f.widget("w")[path: ["metadata", "finalizers"]] == ["test.edgeml.io/cleanup"])
    #expect(try await f.plannedConfigMaps().isEmpty)   // planned on the next pass
    try await f.reconcile("w")
    #expect(try await f.plannedConfigMaps().count == 1)
    // Another writer's finalizer stays where it is.
    _ = try await f.client.patch(widgets, namespace: "default", name: "w",
                                 [["op": "add", "path": "/metadata/finalizers/-", "value": "someone.else/hold"]], type: .json)
    try await f.client.delete(widgets, namespace: "default", name: "w")
    try await f.reconcile("w")
    #expect(await reconciler.finalized.requests == ["w"])
    #expect(try await f.widget("w")[path: ["metadata", "finalizers"]] == ["someone.else/hold"])
    await f.stop()
  }
}

/// Counts its passes in the object's status, with an Event per pass: a pass planned from a status
/// an earlier pass already replaced shows as the same count planned twice.
struct CountingReconciler: ObjectReconciler {
  let plans = Seen()
  func decode(_ json: JSONValue) throws -> JSONValue { json }
  func plan(_ object: JSONValue, json: JSONValue, context: ReconcileContext) async throws -> ReconcilePlan {
    let passes = json[path: ["status", "passes"]]?.intValue ?? 0
    await plans.add("\(passes)")
    return ReconcilePlan(status: ["passes": JSONValue(passes + 1)],
                         events: [PlannedEvent(type: "Normal", reason: "Counted", note: "pass \(passes + 1)")])
  }
}

@Suite("A controller never plans again from a copy its own write replaced", .serialized)
struct WriteExpectationsTests {
  /// `publishOwnWrites` off: the watch is then the only way a write reaches the cache, the window
  /// the expectations guard (with it on, a write is cached as it is answered, unless the cache
  /// moved meanwhile: `OwnWritesPublishedTests`).
  func start(clock: ManualClock = ManualClock(), publishOwnWrites: Bool = false) async throws -> (KubeEmulator, KubeClient, Manager, CountingReconciler) {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    try await installWidgetCRD(c)
    let reconciler = CountingReconciler()
    let recorder = EventRecorder(client: c, reportingController: "test", reportingInstance: "0", clock: clock)
    let spec = ControllerSpec(name: "widgets", for: widgets, kind: "Widget", reconciler: TypedReconciler(reconciler, resource: widgets))
    let manager = await Manager(client: c, controllers: [spec], namespace: "default", clock: clock, recorder: recorder,
                                leaderElector: nil, logger: Logger(label: "test"), publishOwnWrites: publishOwnWrites)
    return (emulator, c, manager, reconciler)
  }

  func counted(_ c: KubeClient) async throws -> Int {
    try await c.list(.events, namespace: "default").items.filter { $0["reason"] == "Counted" }.count
  }

  @Test("a reconcile on a cache behind its last status write is held back, then queued when the write arrives")
  func heldBackUntilSeen() async throws {
    let clock = ManualClock()
    let (emulator, c, manager, reconciler) = try await start(clock: clock)
    let controller = manager.controllers[0], store = manager.caches.store(widgets)!
    let expectations = try #require(controller.applier.expectations)
    let request = ReconcileRequest(namespace: "default", name: "w")
    _ = try await c.create(widgets, namespace: "default", widget("w"))
    try await refresh(store, c, widgets)
    await controller.process(request)
    #expect(try await c.get(widgets, namespace: "default", name: "w")[path: ["status", "passes"]] == 1)
    // Woken again before the watch brought the write: nothing is planned from passes 0 again.
    await controller.process(request)
    #expect(await reconciler.plans.requests == ["0"])
    #expect(try await counted(c) == 1)
    #expect(expectations.pending == 1 && controller.queue.depth == 0)
    // The write arrives: the held-back key is queued, and planned from the new copy.
    try await refresh(store, c, widgets)
    let rv = await store.get("default/w")?[path: ["metadata", "resourceVersion"]]?.stringValue
    #expect(expectations.observed("default/w", resourceVersion: rv) == true)
    await controller.process(request)
    #expect(await reconciler.plans.requests == ["0", "1"])
    #expect(try await c.get(widgets, namespace: "default", name: "w")[path: ["status", "passes"]] == 2)
    #expect(try await counted(c) == 2)
    c.shutdown()
    await emulator.shutdown()
  }

  @Test("the newer copy arriving while a reconcile holds the older one is read again; a write never seen is waited for 30 s at most")
  func readAgainAndTimeout() async throws {
    let clock = ManualClock()
    let (emulator, c, manager, reconciler) = try await start(clock: clock)
    let controller = manager.controllers[0], store = manager.caches.store(widgets)!
    let expectations = try #require(controller.applier.expectations)
    _ = try await c.create(widgets, namespace: "default", widget("w"))
    try await refresh(store, c, widgets)
    let stale = try #require(await store.get("default/w"))
    let staleRV = stale[path: ["metadata", "resourceVersion"]]!.stringValue!
    expectations.wrote("default/w", replaced: staleRV, written: "later")
    #expect(expectations.observed("default/w", resourceVersion: "later") == false)   // nobody was waiting
    #expect(expectations.verdict("default/w", resourceVersion: staleRV) == .readAgain)
    #expect(expectations.verdict("default/w", resourceVersion: staleRV) == .fresh)   // asked once
    // A write the cache never shows (a watch that lost it): held back, then not past the timeout.
    expectations.wrote("default/w", replaced: staleRV, written: "lost")
    await controller.process(ReconcileRequest(namespace: "default", name: "w"))
    #expect(await reconciler.plans.requests.isEmpty)
    clock.advance(by: .seconds(31))
    await controller.process(ReconcileRequest(namespace: "default", name: "w"))
    #expect(await reconciler.plans.requests == ["0"])
    // A deletion ends a wait too, and queues the key.
    let now = try #require(await store.get("default/w")?[path: ["metadata", "resourceVersion"]]?.stringValue)
    expectations.wrote("default/w", replaced: now, written: "next")
    #expect(expectations.verdict("default/w", resourceVersion: now) == .wait)
    #expect(expectations.observed("default/w", resourceVersion: nil) == true)
    #expect(expectations.pending == 0)
    // Seen writes are kept only while a reconcile may hold the older copy: swept past the timeout.
    for i in 0..<100 {
      expectations.wrote("default/k\(i)", replaced: "1", written: "2")
      _ = expectations.observed("default/k\(i)", resourceVersion: "2")
    }
    clock.advance(by: .seconds(31))
    for i in 0..<30 { expectations.wrote("default/n\(i)", replaced: "1", written: "2") }
    #expect(expectations.count <= 30 && expectations.pending == 30)
    c.shutdown()
    await emulator.shutdown()
  }

  @Test("with the informer running, back-to-back reconciles never plan from the same status twice", arguments: [false, true])
  func backToBackOnARunningInformer(publishOwnWrites: Bool) async throws {
    let (emulator, c, manager, reconciler) = try await start(clock: ManualClock(), publishOwnWrites: publishOwnWrites)
    let controller = manager.controllers[0]
    let informer = try #require(manager.caches.informers[InformerKey(resource: widgets, labelSelector: nil)])
    let watching = Task { try await informer.run() }
    try await informer.waitForSync()
    _ = try await c.create(widgets, namespace: "default", widget("w"))
    #expect(try await eventually { await manager.caches.store(widgets)!.get("default/w") != nil })
    let request = ReconcileRequest(namespace: "default", name: "w")
    // Each pass is followed at once by another, as a change of something owned would wake it; the
    // held-back ones come back through the queue when the watch brings the write.
    // The reconciler's every write changes the status, so the watch queues it again and again:
    // take what is queued now, a few at most.
    func drain() async {
      for _ in 0..<3 where controller.queue.depth > 0 {
        guard let next = await controller.queue.get() else { return }
        await controller.process(next)
        controller.queue.done(next)
      }
    }
    for _ in 0..<20 {
      await controller.process(request)
      await controller.process(request)
      await drain()
    }
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline, controller.applier.expectations!.pending > 0 {
      await drain()
      try await Task.sleep(for: .milliseconds(10))
    }
    #expect(controller.applier.expectations!.pending == 0)
    let plans = await reconciler.plans.requests
    #expect(Set(plans).count == plans.count, "a status planned from twice: \(plans)")
    let passes = try await c.get(widgets, namespace: "default", name: "w")[path: ["status", "passes"]]?.intValue
    // Every pass planned from the count the previous one wrote (held-back passes plan nothing).
    #expect(passes == plans.count && plans.count > 1)
    #expect(try await counted(c) == plans.count)
    watching.cancel()
    c.shutdown()
    await emulator.shutdown()
  }
}

@Suite struct DecodedCacheTests {
  func json(uid: String?, name: String = "a", rv: String?) -> JSONValue {
    var meta: JSONObject = ["name": .string(name)]
    if let uid { meta["uid"] = .string(uid) }
    if let rv { meta["resourceVersion"] = .string(rv) }
    return ["metadata": .object(meta)]
  }

  @Test func decodesOncePerResourceVersionAndNeverHoldsMoreThanItsLimit() throws {
    let memo = DecodedCache<Int>(limit: 3)
    func json(_ name: String, _ rv: String) -> JSONValue { self.json(uid: "uid-" + name, name: name, rv: rv) }
    #expect(memo.object(json("a", "1")) { _ in 1 } == 1)
    #expect(memo.object(json("a", "1")) { _ in 99 } == 1)   // remembered: not decoded again
    #expect(memo.object(json("a", "2")) { _ in 2 } == 2)    // a new resourceVersion is
    for name in ["b", "c", "d", "e"] {
      _ = memo.object(json(name, "1")) { _ in 0 }
      #expect(memo.count <= 3)
    }
    // Started over past the limit: "a" is decoded again.
    #expect(memo.object(json("a", "2")) { _ in 3 } == 3)
  }

  @Test("an object is decoded once per version, by uid, never across uids, and the memo stays within its limit")
  func decodesOncePerVersionOfOneObject() throws {
    let cache = DecodedCache<Int>(limit: 3)
    #expect(cache.object(json(uid: "u1", rv: "1")) { _ in 1 } == 1)
    #expect(cache.object(json(uid: "u1", rv: "1")) { _ in 99 } == 1)    // remembered
    #expect(cache.object(json(uid: "u1", rv: "2")) { _ in 2 } == 2)     // a new version is decoded
    // The same name and version under another uid (recreated, or another cluster): its own entry.
    #expect(cache.object(json(uid: "u2", rv: "2")) { _ in 5 } == 5)
    #expect(cache.object(json(uid: "u1", rv: "2")) { _ in 99 } == 2)
    // Without a uid or a version nothing is remembered.
    #expect(cache.object(json(uid: nil, rv: "2")) { _ in 6 } == 6)
    #expect(cache.object(json(uid: nil, rv: "2")) { _ in 7 } == 7)
    #expect(cache.object(json(uid: "u3", rv: nil)) { _ in 8 } == 8)
    #expect(cache.object(json(uid: "u3", rv: nil)) { _ in 9 } == 9)
    // A failed decoding is thrown and not remembered.
    struct Bad: Error {}
    #expect(throws: Bad.self) { try cache.object(json(uid: "u4", rv: "1")) { (_) throws(Bad) -> Int in throw Bad() } }
    #expect(cache.object(json(uid: "u4", rv: "1")) { _ in 4 } == 4)
    for uid in ["u5", "u6", "u7"] {
      _ = cache.object(json(uid: uid, rv: "1")) { _ in 0 }
      #expect(cache.count <= 3)
    }
  }
}

@Suite("A status write reaches the cache and the handlers as it is answered", .serialized)
struct OwnWritesPublishedTests {
  func object(_ name: String, _ rv: String, _ passes: Int) -> JSONValue {
    ["metadata": ["namespace": "default", "name": .string(name), "resourceVersion": .string(rv)], "status": ["passes": JSONValue(passes)]]
  }
  func passes(_ store: Store, _ key: String = "default/w") async -> Int? { await store.get(key)?[path: ["status", "passes"]]?.intValue }

  @Test("the store takes a published copy only over the one its write replaced, sets older watch events aside until that version comes, and gives up past the limit")
  func storeRules() async throws {
    let store = Store()
    await store.replace([object("w", "10", 0)], resourceVersion: "10")
    // The cache moved past the copy the write replaced: it cannot tell which is newer, so it keeps its own.
    #expect(await store.publish(object("w", "12", 1), replacing: "9") == nil)
    #expect(await store.publish(object("w", "10", 1), replacing: "10") == nil)   // nothing written
    #expect(await store.publish(object("x", "5", 1), replacing: "4") == nil)     // not cached at all
    let change = try #require(await store.publish(object("w", "12", 1), replacing: "10"))
    #expect(change.old?[path: ["status", "passes"]] == 0 && change.new?[path: ["status", "passes"]] == 1)
    #expect(await passes(store) == 1)
    #expect(await store.publishedCount == 1)
    // Someone else's write that came before ours: set aside, no change seen.
    let older = await store.apply(type: "MODIFIED", object: object("w", "11", 7))
    #expect(older.changesOnlyResourceVersion)
    #expect(await passes(store) == 1)
    // A relist read before our write was answered (a copy known to be older: the one it replaced,
    // or one set aside) leaves ours in place, still waiting for the watch.
    for stale in [object("w", "10", 0), object("w", "11", 7)] {
      #expect(await store.replace([stale], resourceVersion: "11").isEmpty)
      #expect(await passes(store) == 1)
      #expect(await store.publishedCount == 1)
    }
    // Ours, from the watch: nothing changes, and the watch's copies are taken again from here.
    #expect(await store.apply(type: "MODIFIED", object: object("w", "12", 1)).changesOnlyResourceVersion)
    #expect(await store.publishedCount == 0)
    #expect(await store.apply(type: "MODIFIED", object: object("w", "13", 2)).changesOnlyResourceVersion == false)
    #expect(await passes(store) == 2)
    // A deletion is always taken; a relist ends every wait.
    _ = await store.publish(object("w", "14", 3), replacing: "13")
    #expect(await store.apply(type: "DELETED", object: object("w", "13", 2)).isDelete)
    #expect(await store.get("default/w") == nil)
    #expect(await store.publishedCount == 0)
    await store.replace([object("w", "20", 5)], resourceVersion: "20")
    _ = await store.publish(object("w", "21", 6), replacing: "20")
    // A listed copy it cannot place (newer, or older than it knows) is taken.
    await store.replace([object("w", "22", 9)], resourceVersion: "22")
    #expect(await passes(store) == 9)
    #expect(await store.publishedCount == 0)
    // A version that never comes (it cannot, in order; a guard all the same): past the limit the watch wins.
    _ = await store.publish(object("w", "23", 10), replacing: "22")
    for i in 0..<Store.setAsideLimit { _ = await store.apply(type: "MODIFIED", object: object("w", "\(30 + i)", 0)) }
    #expect(await passes(store) == 10)
    _ = await store.apply(type: "MODIFIED", object: object("w", "99", 11))
    #expect(await passes(store) == 11)
    #expect(await store.publishedCount == 0)
  }

  @Test("a label-selected cache takes no published write: it waits for its watch")
  func aLabelSelectedCacheTakesNoPublishedWrite() async throws {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    let selected = Informer(client: c, resource: widgets, namespace: "default", labelSelector: "tier=edge")
    let all = Informer(client: c, resource: widgets, namespace: "default")
    #expect(!selected.takesPublishedWrites && all.takesPublishedWrites)
    for informer in [selected, all] {
      let woken = Seen()
      await informer.addHandler { change in await woken.add(change.new?[path: ["status", "passes"]]?.intValue.map(String.init) ?? "-") }
      await informer.store.replace([object("w", "10", 0)], resourceVersion: "10")
      await informer.publish(object("w", "11", 1), replacing: "10")
      let expected = informer === selected ? 0 : 1
      #expect(await passes(informer.store) == expected)
      #expect(await woken.requests == (informer === selected ? [] : ["1"]))
    }
    c.shutdown()
    await emulator.shutdown()
  }

  @Test("a primary cached with some of its fields: the published copy is trimmed as the watch's is, so the watch's copy of that version wakes nobody")
  func publishedCopyIsTrimmedLikeTheWatchedOne() async throws {
    let emulator = try await startEmulator()
    let c = try client(for: emulator)
    try await installWidgetCRD(c)
    let reconciler = CountingReconciler()
    let clock = ManualClock()
    let recorder = EventRecorder(client: c, reportingController: "test", reportingInstance: "0", clock: clock)
    let fields = CachedFields(spec: ["size"], status: ["passes"])
    let spec = ControllerSpec(name: "widgets", for: widgets, kind: "Widget", reconciler: TypedReconciler(reconciler, resource: widgets)).caching(fields)
    let manager = await Manager(client: c, controllers: [spec], namespace: "default", clock: clock, recorder: recorder,
                                leaderElector: nil, logger: Logger(label: "test"), publishOwnWrites: true)
    let controller = manager.controllers[0], store = manager.caches.store(widgets)!
    let informer = try #require(manager.caches.informers[InformerKey(resource: widgets, labelSelector: nil)])
    let woken = Seen()
    await informer.addHandler { change in await woken.add(change.new?[path: ["status", "passes"]]?.intValue.map(String.init) ?? "-") }
    var w = widget("w")
    w[path: ["spec", "color"]] = "blue"
    _ = try await c.create(widgets, namespace: "default", w)
    _ = try await c.patch(widgets, namespace: "default", name: "w", ["status": ["note": "someone else's"]], type: .merge, subresource: "status")
    let page = try await c.listAll(widgets, namespace: "default")
    await store.replace(page.items.map(fields.transform), resourceVersion: page.resourceVersion)
    await controller.process(ReconcileRequest(namespace: "default", name: "w"))
    let published = try #require(await store.get("default/w"))
    #expect(published[path: ["status", "passes"]] == 1)
    #expect(published[path: ["status", "note"]] == nil && published[path: ["spec", "color"]] == nil)
    #expect(published[path: ["metadata", "managedFields"]] == nil)
    let server = try await c.get(widgets, namespace: "default", name: "w")
    #expect(server[path: ["status", "note"]] == "someone else's" && server[path: ["spec", "color"]] == "blue")
    #expect(published[path: ["metadata", "resourceVersion"]] == server[path: ["metadata", "resourceVersion"]])
    #expect(await woken.requests == ["1"])
    // The informer lists the same version: had the published copy kept a field the cache trims,
    // the listed copy would differ from it and wake the handler a second time.
    let watching = Task { try await informer.run() }
    #expect(try await eventually { await store.publishedCount == 0 })
    #expect(await store.get("default/w") == published)
    #expect(await woken.requests == ["1"])
    watching.cancel()
    c.shutdown()
    await emulator.shutdown()
  }

  @Test("a reconcile's status write is in the cache, and another watcher of the object is woken, before the watch brings it; the watch's copy then wakes nobody")
  func publishedBeforeTheWatch() async throws {
    let (emulator, c, manager, reconciler) = try await WriteExpectationsTests().start(publishOwnWrites: true)
    let controller = manager.controllers[0], store = manager.caches.store(widgets)!
    let informer = try #require(manager.caches.informers[InformerKey(resource: widgets, labelSelector: nil)])
    let woken = Seen()
    await informer.addHandler { change in await woken.add(change.new?[path: ["status", "passes"]]?.intValue.map(String.init) ?? "-") }
    _ = try await c.create(widgets, namespace: "default", widget("w"))
    try await refresh(store, c, widgets)
    let request = ReconcileRequest(namespace: "default", name: "w")
    await controller.process(request)
    // No watch runs: only the write's answer can have brought passes 1.
    #expect(await passes(store) == 1)
    #expect(await woken.requests == ["1"])
    #expect(controller.queue.depth == 1)   // its own handler queued it again, as the watch would have
    #expect(controller.applier.expectations!.pending == 0)
    // The next reconcile plans from the new copy at once, rather than waiting for the watch.
    await controller.process(request)
    #expect(await reconciler.plans.requests == ["0", "1"])
    #expect(try await c.get(widgets, namespace: "default", name: "w")[path: ["status", "passes"]] == 2)
    // The informer's first list has the same versions: nothing a handler would see.
    let watching = Task { try await informer.run() }
    #expect(try await eventually { await store.publishedCount == 0 })
    #expect(await woken.requests == ["1", "2"])
    // With the watch running, the answer or the watch may bring a version first: either way each
    // version wakes a watcher once.
    for _ in 0..<10 {
      while controller.queue.depth > 0, let next = await controller.queue.get() { controller.queue.done(next) }
      await controller.process(request)
    }
    #expect(try await eventually {
      let published = await store.publishedCount
      return await passes(store) == 12 && published == 0
    })
    #expect(await woken.requests == (1...12).map(String.init))
    watching.cancel()
    c.shutdown()
    await emulator.shutdown()
  }
}
