import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Testing
@testable import ControllerRuntime

@Suite("Event recorder")
struct EventRecorderTests {
  @Test("a repeated event becomes one Event with a series, written at most once per interval, visible as a core Event")
  func aggregation() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let target = try await c.create(.configMaps, namespace: "default", cm("noisy", "1"))
    let clock = ManualClock()
    let recorder = EventRecorder(client: c, reportingController: "edgeml.io/operator", reportingInstance: "test-0", clock: clock)
    await recorder.setIntervals(window: .seconds(360), update: .seconds(30))
    for _ in 0..<50 {
      await recorder.record(regarding: target, type: "Warning", reason: "FetchFailed", action: "Fetch", note: "model URI does not answer")
      clock.advance(by: .milliseconds(500))   // 50 occurrences over 25 s: within one update interval
    }
    #expect(await recorder.writes == 1)           // the first occurrence only
    clock.advance(by: .seconds(5))                // 30 s since the Event was written
    await recorder.record(regarding: target, type: "Warning", reason: "FetchFailed", action: "Fetch", note: "model URI does not answer")
    await recorder.record(regarding: target, type: "Normal", reason: "Accepted", action: "Reconcile", note: "ok")
    let events = try await c.list(.events, namespace: "default").items
    #expect(events.count == 2)
    let failed = try #require(events.first { $0["reason"] == "FetchFailed" })
    #expect(failed[path: ["series", "count"]]?.intValue == 51)
    #expect(failed["reportingController"] == "edgeml.io/operator")
    #expect(failed[path: ["regarding", "name"]] == "noisy")
    #expect(await recorder.writes == 3)          // 2 creates + 1 series update, not 52 writes
    #expect(failed[path: ["series", "lastObservedTime"]]?.stringValue?.hasPrefix("2027-01-15T08:00:30") == true)
    // kubectl describe reads core Events: the same object through v1.
    let core = try await c.list(GroupVersionResource(group: "", version: "v1", resource: "events", namespaced: true),
                                namespace: "default", fieldSelector: "involvedObject.name=noisy").items
    #expect(core.count == 2)
    #expect(core.contains { $0["message"] == "model URI does not answer" })
  }

  @Test("two different Events about one object at one instant are both written (an EdgeModel's AliasMoved and RolloutCreated)")
  func sameInstant() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let target = try await c.create(.configMaps, namespace: "default", cm("moved", "1"))
    let recorder = EventRecorder(client: c, reportingController: "edgeml.io/operator", reportingInstance: "test-0", clock: ManualClock())
    await recorder.record(regarding: target, type: "Normal", reason: "AliasMoved", action: "Reconcile", note: "moved from 1 to 2")
    await recorder.record(regarding: target, type: "Normal", reason: "RolloutCreated", action: "Reconcile", note: "Rollout m-v2")
    let events = try await c.list(.events, namespace: "default").items
    #expect(Set(events.compactMap { $0["reason"]?.stringValue }) == ["AliasMoved", "RolloutCreated"])
    #expect(await recorder.writes == 2)
  }

  @Test("many distinct events: the remembered series stay bounded and the most recent still aggregate")
  func boundedSeries() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let target = try await c.create(.configMaps, namespace: "default", cm("busy", "1"))
    let recorder = EventRecorder(client: c, reportingController: "edgeml.io/operator", reportingInstance: "test-0", maximumSeries: 64)
    let distinct = 64 * 3
    for i in 0..<distinct {
      await recorder.record(regarding: target, type: "Normal", reason: "Step", action: "Reconcile", note: "step \(i)")
    }
    #expect(await recorder.rememberedSeries <= 64)
    #expect(await recorder.writes == distinct)
    // The latest one is still remembered: a repeat joins its series instead of a new Event.
    await recorder.record(regarding: target, type: "Normal", reason: "Step", action: "Reconcile", note: "step \(distinct - 1)")
    #expect(await recorder.writes == distinct)
  }

  @Test("while deliver() runs, record returns before the Event is written; the Events are written in order, and what overflows the queue of 1,000 is dropped and counted")
  func background() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let target = try await c.create(.configMaps, namespace: "default", cm("steps", "1"))
    let recorder = EventRecorder(client: c, reportingController: "edgeml.io/operator", reportingInstance: "test-0")
    // Every answer of the server now takes a second: a recorder writing inline would take 3 s for
    // the three records below.
    var faults = emulator.api.faults.configuration
    faults.latency = .seconds(1)
    emulator.api.faults.configuration = faults
    let writer = Task { await recorder.deliver() }
    try #require(try await eventually { await recorder.isDelivering })
    for i in 0..<3 {
      await recorder.record(regarding: target, type: "Normal", reason: "Step", action: "Reconcile", note: "step \(i)")
    }
    #expect(await recorder.writes == 0)    // queued, none written yet
    #expect(try await eventually(20) { await recorder.writes == 3 })
    faults.latency = .zero
    emulator.api.faults.configuration = faults
    let notes = try await c.list(.events, namespace: "default").items
      .sorted { ($0["eventTime"]?.stringValue ?? "", $0[path: ["metadata", "name"]]?.stringValue ?? "") < ($1["eventTime"]?.stringValue ?? "", $1[path: ["metadata", "name"]]?.stringValue ?? "") }
      .compactMap { $0["note"]?.stringValue }
    #expect(notes == ["step 0", "step 1", "step 2"])

    // Writers held by a slow server and a burst of 1,010 Events: 1,000 wait in the queue, the
    // writers hold at most `concurrentWrites` + 1 taken from it, the rest are dropped.
    faults.latency = .seconds(1)
    emulator.api.faults.configuration = faults
    for i in 0..<1_010 {
      await recorder.record(regarding: target, type: "Normal", reason: "Burst", action: "Reconcile", note: "burst \(i)")
    }
    #expect((10 - EventRecorder.concurrentWrites - 1...10).contains(await recorder.dropped))
    writer.cancel()
    await writer.value
    #expect(await recorder.isDelivering == false)
  }
}
