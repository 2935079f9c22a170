/// Stable and candidate replica counts for a weight, and the share of requests they give the candidate.
public struct ReplicaSplit: Sendable, Equatable {
  public var stable: Int
  public var candidate: Int

  /// Splits `replicas` so the candidate's share of pods is as near `candidateWeight` percent as whole
  /// pods allow, with at least one candidate pod for any weight above 0 and at least one stable pod for
  /// any weight below 100 (the stable side then surges above `replicas` when it must: with 1 replica and
  /// weight 10, one of each, 50%).
  public init(candidateWeight: Int, replicas: Int) {
    let weight = min(max(candidateWeight, 0), 100)
    let total = max(replicas, 1)
    switch weight {
    case 0:
      stable = total
      candidate = 0
    case 100:
      stable = 0
      candidate = total
    default:
      candidate = max(1, Int((Double(total * weight) / 100).rounded()))
      stable = max(1, total - candidate)
    }
  }

  /// The candidate's percentage of the pods, rounded: the share of requests it will receive.
  public var candidateWeight: Int {
    stable + candidate == 0 ? 0 : Int((Double(candidate * 100) / Double(stable + candidate)).rounded())
  }
}
