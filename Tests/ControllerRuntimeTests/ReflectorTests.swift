import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Testing
@testable import ControllerRuntime

func startEmulator() async throws -> KubeEmulator {
  var config = KubeEmulator.Configuration()
  config.threads = 1
  return try await KubeEmulator.start(config)
}

/// A client of `emulator`: the admin unless `token` names someone else.
func client(for emulator: KubeEmulator, retry: RetryPolicy? = nil, token: String? = nil) throws -> KubeClient {
  let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
  var defaultRetry = RetryPolicy()
  defaultRetry.baseDelay = .milliseconds(5)
  defaultRetry.maxAttempts = 12
  let retry = retry ?? defaultRetry
  return try KubeClient(configuration: ClientConfiguration(server: emulator.url, namespace: "default", certificateAuthorityPEM: ca,
                                                           insecureSkipTLSVerify: false, tlsServerName: nil,
                                                           credential: .bearerToken(token ?? emulator.adminToken)),
                        qps: 1000, burst: 1000, retry: retry)
}

func cm(_ name: String, _ v: String) -> JSONValue {
  ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name)], "data": ["v": .string(v)]]
}

/// Waits until `condition` holds or `seconds` pass (tests wait for conditions, not for sleeps).
func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
  let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
  while ContinuousClock.now < deadline {
    if try await condition() { return true }
    try await Task.sleep(for: .milliseconds(50))
  }
  return try await condition()
}

/// The server's ConfigMaps in `default`, as name → data.v.
func serverState(_ emulator: KubeEmulator) -> [String: String] {
  emulator.api.store.transaction { state in
    var out: [String: String] = [:]
    for o in state.list("/configmaps", namespace: "default") {
      out[o[path: ["metadata", "name"]]?.stringValue ?? ""] = o[path: ["data", "v"]]?.stringValue ?? ""
    }
    return out
  }
}

func storeState(_ store: Store) async -> [String: String] {
  var out: [String: String] = [:]
  for o in await store.list() { out[o[path: ["metadata", "name"]]?.stringValue ?? ""] = o[path: ["data", "v"]]?.stringValue ?? "" }
  return out
}

@Suite("Reflector against the emulator, with faults")
struct ReflectorTests {
  @Test("with watches dropped every few events, the store still ends equal to the server")
  func droppedWatches() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    var faults = FaultInjector.Configuration()
    faults.closeWatchAfterEvents = 3
    emulator.api.faults.configuration = faults
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let store = Store(indexers: Store.standardIndexers)
    let stats = Reflector.Stats()
    let reflector = Reflector(client: c, resource: .configMaps, namespace: "default", store: store)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await reflector.run(stats: stats) { _ in } }
      for i in 0..<40 {
        _ = try await c.create(.configMaps, namespace: "default", cm("c\(i)", "1"))
        if i % 3 == 0 { _ = try await c.patch(.configMaps, namespace: "default", name: "c\(i)", ["data": ["v": "2"]], type: .merge) }
        if i % 5 == 0 { try await c.delete(.configMaps, namespace: "default", name: "c\(i)") }
      }
      let expected = serverState(emulator)
      let same = try await eventually { await storeState(store) == expected }
      #expect(same)
      #expect(stats.watches > 5)        // the watch really was cut again and again
      group.cancelAll()
    }
  }

  @Test("a watch from a compacted version relists, and the store converges")
  func relistOnGone() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let c = try client(for: emulator)
    defer { c.shutdown() }
    let store = Store()
    let stats = Reflector.Stats()
    var configured = Reflector(client: c, resource: .configMaps, namespace: "default", store: store)
    configured.watchTimeoutSeconds = 1
    let reflector = configured
    // Every watch ends after one event (the setting applies to watches started after it).
    var faults = FaultInjector.Configuration()
    faults.closeWatchAfterEvents = 1
    emulator.api.faults.configuration = faults
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await reflector.run(stats: stats) { _ in } }
      _ = try await c.create(.configMaps, namespace: "default", cm("before", "1"))
      #expect(try await eventually { await store.count == 2 })   // and the namespace's kube-root-ca.crt
      for i in 0..<10 {
        // The watch closes after the first of these two; the second is compacted away before the
        // reflector can watch again, so resuming from the first needs a relist.
        _ = try await c.create(.configMaps, namespace: "default", cm("a\(i)", "1"))
        _ = try await c.create(.configMaps, namespace: "default", cm("b\(i)", "1"))
        emulator.api.store.transaction { $0.compact() }
      }
      emulator.api.faults.configuration = FaultInjector.Configuration()
      let expected = serverState(emulator)
      #expect(try await eventually { await storeState(store) == expected })
      #expect(stats.relistsAfterGone >= 1, "lists \(stats.lists) watches \(stats.watches) errors \(stats.errors)")
      group.cancelAll()
    }
  }

  @Test("with the server refusing everything, the reflector backs off 100, 200, 400, 800 ms (capped) on its clock instead of spinning")
  func noHotLoop() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    var faults = FaultInjector.Configuration()
    faults.internalErrorRate = 1
    emulator.api.faults.configuration = faults
    var retry = RetryPolicy()
    retry.maxAttempts = 1
    let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
    let c = try KubeClient(configuration: ClientConfiguration(server: emulator.url, namespace: "default", certificateAuthorityPEM: ca,
                                                              insecureSkipTLSVerify: false, tlsServerName: nil,
                                                              credential: .bearerToken(emulator.adminToken)), retry: retry)
    defer { c.shutdown() }
    let stats = Reflector.Stats()
    let clock = ManualClock()
    var configured = Reflector(client: c, resource: .configMaps, namespace: "default", store: Store())
    configured.initialBackoff = .milliseconds(100)
    configured.maxBackoff = .milliseconds(800)
    configured.clock = clock
    configured.jitter = { 1.0 }
    let reflector = configured
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await reflector.run(stats: stats) { _ in } }
      for attempt in 1...6 {
        await clock.waitForSleepers(1)
        // Asleep on its clock after each refused request: no request while the clock stands still.
        #expect(stats.errors == attempt)
        #expect(emulator.api.faults.servedFaults == attempt)
        clock.advanceToNextDeadline()
      }
      group.cancelAll()
    }
    #expect(stats.snapshot.backoffs == [100, 200, 400, 800, 800, 800].map { Duration.milliseconds($0) })
    #expect(stats.lists >= 6 && stats.watches == 0)
  }
}
