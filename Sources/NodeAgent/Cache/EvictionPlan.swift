import Foundation

/// Why the node agent removed an engine from the cache (the `reason` label of
/// `edgeml_engine_cache_evictions_total`).
public enum EvictionReason: String, Sendable, Equatable, CaseIterable {
  /// No EdgeModel's current engines name its key, and no pod on the node uses it.
  case unreferenced
  /// Some EdgeModel still names its key, but no pod on this node uses it, and it was the least
  /// recently used of those.
  case leastRecentlyUsed = "lru"
}

/// The order in which the agent may remove cache entries while the cache is over its budget.
///
/// Pure: the inventory, the keys EdgeModels reference and the keys pods on the node use in, an
/// ordered list of candidates out. First every entry no EdgeModel references, oldest use first;
/// then the referenced ones, least recently used first. An entry a pod on the node uses is never a
/// candidate. Whether a candidate is locked is only known when removing it (`EngineCacheKeeper`).
///
/// Under budget nothing is a candidate: an unreferenced engine costs nothing while there is room,
/// and rolling back to the version before takes it from the cache instead of building again.
public struct EvictionPlan: Sendable, Equatable {
  public struct Candidate: Sendable, Equatable {
    public var keyHex: String
    public var bytes: Int
    public var reason: EvictionReason
  }

  /// Candidates in removal order; the agent stops once the cache is within budget.
  public var candidates: [Candidate]
  /// Bytes over the budget now (0 when within it).
  public var excessBytes: Int

  /// - Parameters:
  ///   - referenced: key hex digits that some EdgeModel's `status.engines[].key` names.
  ///   - inUse: key hex digits of pods on this node that are not finished (pending ones included:
  ///     their init container is about to read the cache).
  public init(inventory: CacheInventory, budgetBytes: Int, referenced: Set<String>, inUse: Set<String>) {
    excessBytes = max(0, inventory.totalBytes - budgetBytes)
    guard excessBytes > 0 else {
      candidates = []
      return
    }
    let oldestFirst: (CacheInventory.Entry, CacheInventory.Entry) -> Bool = {
      ($0.lastUsed, $0.keyHex) < ($1.lastUsed, $1.keyHex)
    }
    let free = inventory.entries.filter { !inUse.contains($0.keyHex) }
    let unreferenced = free.filter { !referenced.contains($0.keyHex) }.sorted(by: oldestFirst)
    let leastRecent = free.filter { referenced.contains($0.keyHex) }.sorted(by: oldestFirst)
    candidates = unreferenced.map { Candidate(keyHex: $0.keyHex, bytes: $0.bytes, reason: .unreferenced) }
      + leastRecent.map { Candidate(keyHex: $0.keyHex, bytes: $0.bytes, reason: .leastRecentlyUsed) }
  }
}
