import KubeCore
import Synchronization

/// Parsed label selectors by their JSON, for the controllers that match every pod event against
/// every PodDisruptionBudget of its namespace: parsing a selector validates each key and value
/// (apimachinery's `NewRequirement`), which cost more than the matching itself — a tenth of the
/// simulated cluster's CPU with 100 budgets in one namespace.
///
/// *Bounded*: at most `limit` selectors; past it the memo starts over.
final class SelectorMemo: Sendable {
  private let parsed = Mutex<[JSONValue: Result<LabelSelector, LabelSelectorError>]>([:])
  let limit: Int

  init(limit: Int = 1024) { self.limit = limit }

  /// The selector `json` describes (`null` selects nothing), parsed once.
  /// - Throws: what `LabelSelector(json:)` throws for it.
  func selector(_ json: JSONValue) throws(LabelSelectorError) -> LabelSelector {
    if let hit = parsed.withLock({ $0[json] }) { return try hit.get() }
    let result: Result<LabelSelector, LabelSelectorError>
    do { result = .success(try LabelSelector(json: json)) } catch { result = .failure(error) }
    parsed.withLock {
      if $0.count >= limit { $0.removeAll(keepingCapacity: true) }
      $0[json] = result
    }
    return try result.get()
  }

  /// The memo the simulated controllers share.
  static let shared = SelectorMemo()
}
