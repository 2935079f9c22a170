/// An empirical check of the rank error of sketches merged from many devices.
///
/// One trial sketches `pods` samples of different sizes and distributions — pod p holds
/// 1,000 + 20·(p mod 100) values from N(−2 + 4·(p mod 10)/9, 1), as drift agents of one model see
/// different traffic — each with a coin seed of its own, sends each sketch through
/// `serialized()` as an agent does, merges them (one after the other as the controller does, or in
/// another `Order`), and measures the merged sketch's largest rank error against
/// all the values. `normalizedRankError(k:)` claims that error stays within ε in 99% of trials;
/// `edgeml stats bench-sketch-merge` runs hundreds of trials and prints the share over ε.
public struct KLLMergeTrial: Sendable {
  /// In which order the pods' sketches are merged.
  public enum Order: String, Sendable, CaseIterable {
    /// Into the first pod's sketch, the others one after the other (the controller, as answers arrive).
    case intoFirst = "first"
    /// Into a new empty sketch (as `SummaryStore` merges an agent's windows).
    case intoEmpty = "empty"
    /// Into the last pod's sketch, the others from the last to the first.
    case reversed
    /// As a tree: pods 0 and 1, 2 and 3, …, then those pairs, until one sketch is left.
    case pairwise
  }

  /// The sketches' accuracy parameter.
  public var k: Int
  /// How many sketches are merged.
  public var pods: Int
  /// The order of the merges.
  public var order: Order

  public init(k: Int = 400, pods: Int = 100, order: Order = .intoFirst) {
    self.k = k
    self.pods = pods
    self.order = order
  }

  /// What one trial measured.
  public struct Outcome: Sendable {
    /// The merged sketch's largest |F̂(x) − F(x)| over every x.
    public var maximumRankError: Double
    /// The merged sketch itself.
    public var sketch: KLLSketch
    /// Every value the pods saw, ascending.
    public var sortedValues: [Double]
  }

  /// Runs one trial; the same seed gives the same data, coins and result on every platform.
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` when `pods` < 1.
  public func run(seed: UInt64) throws(DriftStatisticsError) -> Outcome {
    guard pods >= 1 else { throw .invalidParameter("a merge trial needs at least one pod") }
    var data = SeededRandom(seed: seed)
    var coins = SeededRandom(seed: ~seed)
    var parts: [KLLSketch] = []
    var all: [Double] = []
    for pod in 0..<pods {
      let size = 1_000 + 20 * (pod % 100)
      let mean = -2 + 4 * Double(pod % 10) / 9
      var part = KLLSketch(k: k, seed: coins.next())
      for _ in 0..<size {
        let value = data.normal(mean: mean)
        try part.insert(value)
        all.append(value)
      }
      parts.append(try KLLSketch(serialized: part.serialized()))
    }
    all.sort()
    let sketch = try merged(parts, emptySeed: coins.next())
    return Outcome(maximumRankError: try sketch.maximumRankError(againstSorted: all), sketch: sketch, sortedValues: all)
  }

  private func merged(_ parts: [KLLSketch], emptySeed: UInt64) throws(DriftStatisticsError) -> KLLSketch {
    switch order {
    case .intoFirst, .reversed:
      let ordered = order == .reversed ? Array(parts.reversed()) : parts
      var result = ordered[0]
      for part in ordered.dropFirst() { try result.merge(part) }
      return result
    case .intoEmpty:
      var result = KLLSketch(k: k, seed: emptySeed)
      for part in parts { try result.merge(part) }
      return result
    case .pairwise:
      var round = parts
      while round.count > 1 {
        var next: [KLLSketch] = []
        var i = 0
        while i < round.count {
          var pair = round[i]
          if i + 1 < round.count { try pair.merge(round[i + 1]) }
          next.append(pair)
          i += 2
        }
        round = next
      }
      return round[0]
    }
  }
}
