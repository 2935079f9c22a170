import EngineBuilder
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps one node's engine cache within its byte budget (docs/node-agent.md "Engine cache").
///
/// Each `pass` marks the entries pods on the node use (so their last use is now), reads the
/// directory, and while it is over budget removes `EvictionPlan`'s candidates in order: engines no
/// EdgeModel references, then the least recently used. It keeps the figures it serves as metrics.
///
/// *Guarantees*: never removes an entry a pod on the node uses (`CacheReferences.inUse`), nor one
/// whose lock someone holds — a build writing it, or a pod laying it out (`EngineCache`'s locks); it
/// never waits on a lock. Without references (the API server could not be read) it removes nothing.
/// *Caveats*: a pod that is created after the references were read and reaches the cache before
/// the removal finds no entry and builds again; it never finds half an entry (the record goes
/// first, under the lock).
public final class EngineCacheKeeper: Sendable {
  /// What one pass found and did.
  public struct Outcome: Sendable, Equatable {
    public var budgetBytes: Int?
    public var bytesBefore: Int
    public var bytesAfter: Int
    public var entriesAfter: Int
    public var evicted: [EvictionPlan.Candidate]
    /// Candidates skipped because their lock was held.
    public var lockedKeys: [String]
  }

  /// The figures served as metrics: the last pass's measure and the evictions since start.
  public struct Figures: Sendable, Equatable {
    public var hasPassed = false
    public var bytes = 0
    public var entries = 0
    public var budgetBytes: Int?
    public var evictions: [EvictionReason: Int] = [:]
    public var evictedBytes = 0
  }

  private struct State {
    var figures = Figures()
    var lastPass: Date?
    var directoryStamp: Date?
  }

  public let directory: String
  public let budget: CacheBudget
  private let clock: @Sendable () -> Date
  private let logger: Logger
  private let state = Mutex(State())

  /// - Parameters:
  ///   - directory: the node cache as the agent sees it (`/host/var/lib/edgeml/engines`).
  ///   - clock: now; injected so tests can move time.
  public init(directory: String, budget: CacheBudget, clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
    self.directory = directory
    self.budget = budget
    self.clock = clock
    self.logger = logger
  }

  /// The figures of the last pass and the evictions so far.
  public var figures: Figures { state.withLock { $0.figures } }

  /// Whether a pass is due: `interval` has gone by since the last one, or the directory changed
  /// since (a build committed an entry: the rename changes the directory's modification time).
  public func isPassDue(interval: Duration) -> Bool {
    let stamp = FileInfo(directory)?.modified
    return state.withLock { s in
      guard let last = s.lastPass else { return true }
      let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
      return clock().timeIntervalSince(last) >= seconds || stamp != s.directoryStamp
    }
  }

  /// Brings the cache within budget as far as it may.
  /// - Parameter references: what the cluster uses; nil when it could not be read, and then the
  ///   pass only measures.
  @discardableResult
  public func pass(references: CacheReferences?) -> Outcome {
    let now = clock()
    var inventory = CacheInventory.scan(directory: directory)
    let bytesBefore = inventory.totalBytes
    let budgetBytes = budget.bytes(fileSystemBytes: CacheBudget.fileSystemBytes(at: directory))
    var evicted: [EvictionPlan.Candidate] = []
    var locked: [String] = []
    if let references {
      for entry in inventory.entries where references.inUse.contains(entry.keyHex) {
        EngineCache(directory: directory, keyHex: entry.keyHex).markUsed(at: now)
      }
      if let budgetBytes {
        let plan = EvictionPlan(inventory: inventory, budgetBytes: budgetBytes, referenced: references.referenced, inUse: references.inUse)
        var excess = plan.excessBytes
        for candidate in plan.candidates where excess > 0 {
          switch remove(candidate) {
          case .removed:
            evicted.append(candidate)
            excess -= candidate.bytes
          case .locked: locked.append(candidate.keyHex)
          case .failed: break
          }
        }
      } else {
        logger.warning("Engine cache budget unknown: the file system's size cannot be read; nothing removed",
                       metadata: ["file.path": "\(directory)", "cache.budget": "\(budget)"])
      }
      if !evicted.isEmpty { inventory = CacheInventory.scan(directory: directory) }
    }
    if let budgetBytes, inventory.totalBytes > budgetBytes, references != nil {
      logger.warning("Engine cache over budget; every remaining entry is in use or locked", metadata: [
        "cache.bytes": "\(inventory.totalBytes)", "cache.budgetBytes": "\(budgetBytes)", "cache.lockedKeys": "\(locked.count)"])
    }
    let stamp = FileInfo(directory)?.modified
    state.withLock { s in
      s.figures.hasPassed = true
      s.figures.bytes = inventory.totalBytes
      s.figures.entries = inventory.entries.filter(\.isCommitted).count
      s.figures.budgetBytes = budgetBytes
      for e in evicted { s.figures.evictions[e.reason, default: 0] += 1 }
      s.figures.evictedBytes += evicted.reduce(0) { $0 + $1.bytes }
      s.lastPass = now
      s.directoryStamp = stamp
    }
    return Outcome(budgetBytes: budgetBytes, bytesBefore: bytesBefore, bytesAfter: inventory.totalBytes,
                   entriesAfter: inventory.entries.filter(\.isCommitted).count, evicted: evicted, lockedKeys: locked)
  }

  private enum Removal { case removed, locked, failed }

  /// Removes one entry under its exclusive lock: the record first, so from then on a lookup misses
  /// and a pod builds again rather than finding a record without its plan.
  private func remove(_ candidate: EvictionPlan.Candidate) -> Removal {
    let cache = EngineCache(directory: directory, keyHex: candidate.keyHex)
    do {
      let done: Void? = try cache.ifUnlocked {
        for path in [cache.recordPath, cache.planPath, cache.usedPath] where unlink(path) != 0 && errno != ENOENT {
          let code = errno
          throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "unlink \(path): \(String(cString: strerror(code)))"])
        }
      }
      guard done != nil else {
        logger.debug("Engine cache entry locked; left in place", metadata: ["engine.key": "sha256:\(candidate.keyHex)"])
        return .locked
      }
      logger.info("Engine removed from the cache", metadata: [
        "engine.key": "sha256:\(candidate.keyHex)", "engine.sizeBytes": "\(candidate.bytes)", "cache.reason": "\(candidate.reason.rawValue)"])
      return .removed
    } catch {
      logger.warning("Engine cache entry could not be removed", metadata: [
        "engine.key": "sha256:\(candidate.keyHex)", "error": "\(error.localizedDescription)"])
      return .failed
    }
  }
}
