import EngineBuilder
import Foundation
import KubeCore
import Logging
import Synchronization
import Testing
@testable import NodeAgent

/// A clock the test moves by hand.
final class FakeClock: Sendable {
  private let current: Mutex<Date>
  init(_ start: Date = Date(timeIntervalSince1970: 1_780_000_000)) { current = Mutex(start) }
  var now: Date { current.withLock { $0 } }
  func advance(seconds: Double) { current.withLock { $0 += seconds } }
}

/// A temporary engine cache directory, filled the way `edgeml-engine` fills it.
struct CacheDirectory {
  let path: String

  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("engine-cache-\(UInt64.random(in: 0...UInt64.max))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  /// A key of 64 hex digits whose first digits say which one it is (`key(1)` = "01000…").
  static func key(_ n: Int) -> String { String(format: "%02x", n) + String(repeating: "0", count: 62) }

  /// Commits an engine of `planBytes` for key `n` and marks it used at `usedAt`.
  func commit(_ n: Int, planBytes: Int, usedAt: Date) throws {
    let cache = EngineCache(directory: path, keyHex: CacheDirectory.key(n))
    let temporary = "\(path)/.tmp-plan-\(n)"
    try Data(repeating: 0x5A, count: planBytes).write(to: URL(fileURLWithPath: temporary))
    let record = EngineRecord(key: "sha256:\(CacheDirectory.key(n))", tensorrt: "10.3.0", precision: "fp16", buildSeconds: 1,
                              sizeBytes: planBytes, latencyMs: nil, throughputQPS: nil, builtAt: "2026-12-06T10:00:00Z", source: "trtexec")
    try cache.commit(plan: temporary, record: record)
    cache.markUsed(at: usedAt)
  }

  /// Commits keys `ns` one after the other, `apart` seconds of the clock between two.
  func commit(_ ns: [Int], planBytes: Int, clock: FakeClock, apart: Double) throws {
    for (i, n) in ns.enumerated() {
      if i > 0 { clock.advance(seconds: apart) }
      try commit(n, planBytes: planBytes, usedAt: clock.now)
    }
  }

  func keeper(_ budget: CacheBudget, clock: FakeClock) -> EngineCacheKeeper {
    EngineCacheKeeper(directory: path, budget: budget, clock: { clock.now }, logger: Logger(label: "test"))
  }

  func has(_ n: Int) -> Bool { EngineCache(directory: path, keyHex: CacheDirectory.key(n)).lookup() != nil }
  func remove() { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("Engine cache budget")
struct CacheBudgetTests {
  @Test("a budget is a size or a percentage of the disk", arguments: [
    ("20%", CacheBudget.percent(20)), ("7.5%", .percent(7.5)), ("100%", .percent(100)),
    ("8Gi", .bytes(8 * 1024 * 1024 * 1024)), ("500M", .bytes(500_000_000)), ("1000000", .bytes(1_000_000)),
  ])
  func parses(_ text: String, _ budget: CacheBudget) throws {
    #expect(try CacheBudget(parsing: text) == budget)
  }

  @Test("a budget that is no size or no sane percentage is refused with what to write instead",
        arguments: ["", "abc", "0", "-5Gi", "0%", "101%", "twenty%", "10 GB"])
  func refuses(_ text: String) {
    #expect(throws: CacheBudgetError.self) { try CacheBudget(parsing: text) }
  }

  @Test("a percentage is of the file system's size; without the size there is no budget")
  func percentageOfTheDisk() throws {
    #expect(CacheBudget.percent(20).bytes(fileSystemBytes: 16_000_000_000) == 3_200_000_000)
    #expect(CacheBudget.percent(20).bytes(fileSystemBytes: nil) == nil)
    #expect(CacheBudget.bytes(42).bytes(fileSystemBytes: nil) == 42)
    let size = try #require(CacheBudget.fileSystemBytes(at: FileManager.default.temporaryDirectory.path))
    #expect(size > 0)
    #expect(CacheBudget.fileSystemBytes(at: "/no/such/directory/here") == nil)
  }
}

@Suite("Engine cache inventory and eviction order")
struct CacheInventoryTests {
  @Test("the inventory counts every file but only keys' files make entries, dated by their last use")
  func inventory() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    try dir.commit(1, planBytes: 1000, usedAt: t0)
    try dir.commit(2, planBytes: 2000, usedAt: t0.addingTimeInterval(60))
    try Data(count: 300).write(to: URL(fileURLWithPath: "\(dir.path)/timing.cache"))
    try FileManager.default.createDirectory(atPath: "\(dir.path)/.build-\(CacheDirectory.key(3))-7", withIntermediateDirectories: true)
    try Data(count: 500).write(to: URL(fileURLWithPath: "\(dir.path)/.build-\(CacheDirectory.key(3))-7/model.fetched"))
    let inventory = CacheInventory.scan(directory: dir.path)
    #expect(inventory.entries.map(\.keyHex) == [CacheDirectory.key(1), CacheDirectory.key(2)])
    let records = inventory.entries.map { $0.bytes - ($0.keyHex == CacheDirectory.key(1) ? 1000 : 2000) }
    #expect(records.allSatisfy { $0 > 100 })   // each entry is its plan plus its record
    #expect(inventory.totalBytes == inventory.entries.reduce(0) { $0 + $1.bytes } + 300 + 500)
    #expect(inventory.entries[0].lastUsed.timeIntervalSince1970 == t0.timeIntervalSince1970)
    #expect(inventory.entries[1].lastUsed.timeIntervalSince1970 == t0.timeIntervalSince1970 + 60)
    #expect(inventory.entries.allSatisfy { $0.isCommitted })
    #expect(CacheInventory.scan(directory: "\(dir.path)/absent") == CacheInventory(entries: [], totalBytes: 0))
  }

  static func entry(_ n: Int, bytes: Int = 100, used: Double) -> CacheInventory.Entry {
    .init(keyHex: CacheDirectory.key(n), bytes: bytes, lastUsed: Date(timeIntervalSince1970: used), isCommitted: true)
  }

  @Test("over budget: unreferenced engines go first, oldest first, then the least recently used; never one in use")
  func order() {
    let inventory = CacheInventory(entries: [
      Self.entry(1, used: 50), Self.entry(2, used: 10), Self.entry(3, used: 40), Self.entry(4, used: 20), Self.entry(5, used: 1),
    ], totalBytes: 500)
    let plan = EvictionPlan(inventory: inventory, budgetBytes: 150,
                            referenced: [CacheDirectory.key(3), CacheDirectory.key(4), CacheDirectory.key(5)],
                            inUse: [CacheDirectory.key(5), CacheDirectory.key(1)])
    #expect(plan.excessBytes == 350)
    #expect(plan.candidates.map(\.keyHex) == [CacheDirectory.key(2), CacheDirectory.key(4), CacheDirectory.key(3)])
    #expect(plan.candidates.map(\.reason) == [.unreferenced, .leastRecentlyUsed, .leastRecentlyUsed])
  }

  @Test("within budget nothing is a candidate, not even an unreferenced engine (a rollback finds it)")
  func withinBudget() {
    let inventory = CacheInventory(entries: [Self.entry(1, used: 1)], totalBytes: 100)
    #expect(EvictionPlan(inventory: inventory, budgetBytes: 100, referenced: [], inUse: []).candidates.isEmpty)
  }

  @Test("pods and EdgeModels become the keys in use and the keys referenced; finished pods use nothing")
  func references() throws {
    func pod(_ key: String, phase: String) throws -> JSONValue {
      try JSONValue(parsing: #"{"metadata":{"annotations":{"edgeml.io/engine-key":"\#(key)"}},"status":{"phase":"\#(phase)"}}"#)
    }
    let pods = [try pod("sha256:\(CacheDirectory.key(1))", phase: "Running"), try pod("sha256:\(CacheDirectory.key(2))", phase: "Pending"),
                try pod("sha256:\(CacheDirectory.key(3))", phase: "Failed"), try pod("not-a-key", phase: "Running"),
                try JSONValue(parsing: #"{"metadata":{},"status":{"phase":"Running"}}"#)]
    let models = [try JSONValue(parsing: #"{"status":{"engines":[{"key":"sha256:\#(CacheDirectory.key(4))"},{"state":"Pending"}]}}"#),
                  try JSONValue(parsing: #"{"metadata":{"name":"new"}}"#)]
    let refs = CacheReferences(pods: pods, edgeModels: models)
    #expect(refs.inUse == [CacheDirectory.key(1), CacheDirectory.key(2)])
    #expect(refs.referenced == [CacheDirectory.key(4)])
  }
}

@Suite("Engine cache kept within budget by the node agent")
struct EngineCacheKeeperTests {
  static let logger = Logger(label: "test")

  @Test("through version bumps the cache stays within budget, the engine in use stays, and the unreferenced old one goes first")
  func versionBumps() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let clock = FakeClock()
    let keeper = dir.keeper(.bytes(25_000), clock: clock)
    // Version 1 (key 1) serves; version 2 (key 2) rolls out; version 1 stays named by a second model.
    try dir.commit([1, 2], planBytes: 10_000, clock: clock, apart: 60)
    var outcome = keeper.pass(references: .init(referenced: [CacheDirectory.key(1), CacheDirectory.key(2)], inUse: [CacheDirectory.key(2)]))
    #expect(outcome.evicted.isEmpty && outcome.bytesAfter <= 25_000)

    // Version 3 (key 3) and a model's old build (key 0) nothing names any more: over budget. Key 1
    // is the oldest but still referenced; keys 2 and 0 are not, and go first (key 0 although it was
    // used after key 1).
    clock.advance(seconds: 60)
    try dir.commit(0, planBytes: 6_000, usedAt: clock.now)
    clock.advance(seconds: 60)
    try dir.commit(3, planBytes: 10_000, usedAt: clock.now)
    outcome = keeper.pass(references: .init(referenced: [CacheDirectory.key(1), CacheDirectory.key(3)], inUse: [CacheDirectory.key(3)]))
    #expect(outcome.evicted.map(\.keyHex) == [CacheDirectory.key(2), CacheDirectory.key(0)])
    #expect(outcome.evicted.map(\.reason) == [.unreferenced, .unreferenced])
    #expect(outcome.bytesAfter <= 25_000)
    #expect(dir.has(3) && dir.has(1) && !dir.has(2) && !dir.has(0))
    var evictedBytes = outcome.evicted.reduce(0) { $0 + $1.bytes }

    // Version 4 (key 4), and the model that named key 1 now names key 3 too: key 1 is the least
    // recently used of the referenced ones, key 3 is in use on the node and stays whatever its age.
    clock.advance(seconds: 60)
    try dir.commit(4, planBytes: 10_000, usedAt: clock.now)
    outcome = keeper.pass(references: .init(referenced: [CacheDirectory.key(1), CacheDirectory.key(3), CacheDirectory.key(4)],
                                            inUse: [CacheDirectory.key(4), CacheDirectory.key(3)]))
    #expect(outcome.evicted.map(\.keyHex) == [CacheDirectory.key(1)])
    #expect(outcome.evicted.map(\.reason) == [.leastRecentlyUsed])
    #expect(dir.has(3) && dir.has(4) && outcome.bytesAfter <= 25_000)
    evictedBytes += outcome.evicted.reduce(0) { $0 + $1.bytes }
    let figures = keeper.figures
    #expect(figures.evictions == [.unreferenced: 2, .leastRecentlyUsed: 1] && figures.entries == 2 && figures.budgetBytes == 25_000)
    #expect(figures.evictedBytes == evictedBytes && figures.bytes == outcome.bytesAfter)
  }

  @Test("an engine a pod on the node uses is never removed, even when it alone is over budget")
  func inUseStays() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let keeper = EngineCacheKeeper(directory: dir.path, budget: .bytes(1_000), logger: Self.logger)
    try dir.commit(1, planBytes: 5_000, usedAt: Date())
    let outcome = keeper.pass(references: .init(referenced: [], inUse: [CacheDirectory.key(1)]))
    #expect(outcome.evicted.isEmpty && dir.has(1))
    #expect(outcome.bytesAfter > 1_000)
  }

  @Test("an engine whose lock a build or a pod holds is left in place and the next candidate goes instead",
        arguments: [false, true])
  func lockedStays(shared: Bool) async throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let clock = FakeClock()
    let keeper = dir.keeper(.bytes(12_000), clock: clock)
    try dir.commit([1, 2], planBytes: 10_000, clock: clock, apart: 10)
    let oldest = EngineCache(directory: dir.path, keyHex: CacheDirectory.key(1))
    let outcome = try await oldest.withLock(shared: shared) { keeper.pass(references: .init(referenced: [], inUse: [])) }
    #expect(outcome.lockedKeys == [CacheDirectory.key(1)])
    #expect(outcome.evicted.map(\.keyHex) == [CacheDirectory.key(2)])
    #expect(dir.has(1) && !dir.has(2))
  }

  @Test("without references (the API server could not be read) a pass only measures")
  func noReferencesNoRemoval() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let keeper = EngineCacheKeeper(directory: dir.path, budget: .bytes(1), logger: Self.logger)
    try dir.commit(1, planBytes: 5_000, usedAt: Date())
    let outcome = keeper.pass(references: nil)
    #expect(outcome.evicted.isEmpty && dir.has(1) && keeper.figures.entries == 1 && keeper.figures.bytes > 5_000)
  }

  @Test("a pod using an engine makes it recently used: the agent marks it, so an idle one goes first")
  func useRefreshesLRU() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let clock = FakeClock()
    let keeper = dir.keeper(.bytes(100_000), clock: clock)
    try dir.commit([1, 2], planBytes: 10_000, clock: clock, apart: 10)
    clock.advance(seconds: 3600)
    keeper.pass(references: .init(referenced: [CacheDirectory.key(1), CacheDirectory.key(2)], inUse: [CacheDirectory.key(1)]))
    let used = CacheInventory.scan(directory: dir.path).entries.first { $0.keyHex == CacheDirectory.key(1) }?.lastUsed
    #expect(used?.timeIntervalSince1970 == clock.now.timeIntervalSince1970)
    // The pod on key 1 is gone; the budget shrinks (a value change): key 2, idle longer, goes.
    let tight = dir.keeper(.bytes(15_000), clock: clock)
    let outcome = tight.pass(references: .init(referenced: [CacheDirectory.key(1), CacheDirectory.key(2)], inUse: []))
    #expect(outcome.evicted.map(\.keyHex) == [CacheDirectory.key(2)])
  }

  @Test("a pass is due at the interval on the injected clock, and as soon as a build changes the directory")
  func schedule() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let clock = FakeClock()
    let keeper = dir.keeper(.default, clock: clock)
    #expect(keeper.isPassDue(interval: .seconds(300)))
    keeper.pass(references: nil)
    #expect(!keeper.isPassDue(interval: .seconds(300)))
    clock.advance(seconds: 299)
    #expect(!keeper.isPassDue(interval: .seconds(300)))
    clock.advance(seconds: 1)
    #expect(keeper.isPassDue(interval: .seconds(300)))
    keeper.pass(references: nil)
    // A build commits: the rename into the directory changes its modification time. Set it
    // explicitly, so the test does not depend on the file system's timestamp granularity.
    try dir.commit(1, planBytes: 10, usedAt: clock.now)
    try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1)], ofItemAtPath: dir.path)
    #expect(keeper.isPassDue(interval: .seconds(300)))
  }

  @Test("the cache's size, entries, budget and evictions by reason are served as Prometheus text")
  func metrics() throws {
    let dir = try CacheDirectory()
    defer { dir.remove() }
    let clock = FakeClock()
    let keeper = dir.keeper(.bytes(15_000), clock: clock)
    #expect(keeper.prometheusText() == "")
    try dir.commit([1, 2], planBytes: 10_000, clock: clock, apart: 1)
    let outcome = keeper.pass(references: .init(referenced: [], inUse: [CacheDirectory.key(2)]))
    let evicted = try #require(outcome.evicted.first)
    #expect(keeper.prometheusText() == """
      # HELP edgeml_engine_cache_bytes Bytes of every file in the node's engine cache directory.
      # TYPE edgeml_engine_cache_bytes gauge
      edgeml_engine_cache_bytes \(outcome.bytesAfter)
      # HELP edgeml_engine_cache_entries Engines in the node's cache (committed plans).
      # TYPE edgeml_engine_cache_entries gauge
      edgeml_engine_cache_entries 1
      # HELP edgeml_engine_cache_budget_bytes Bytes the node agent keeps the engine cache within.
      # TYPE edgeml_engine_cache_budget_bytes gauge
      edgeml_engine_cache_budget_bytes 15000
      # HELP edgeml_engine_cache_evictions_total Engines the node agent removed from the cache, by reason (unreferenced, lru).
      # TYPE edgeml_engine_cache_evictions_total counter
      edgeml_engine_cache_evictions_total{reason="unreferenced"} 1
      edgeml_engine_cache_evictions_total{reason="lru"} 0
      # HELP edgeml_engine_cache_evicted_bytes_total Bytes of the engines the node agent removed from the cache.
      # TYPE edgeml_engine_cache_evicted_bytes_total counter
      edgeml_engine_cache_evicted_bytes_total \(evicted.bytes)

      """)
    #expect(evicted.bytes > 10_000 && outcome.bytesAfter < 15_000)
  }
}
