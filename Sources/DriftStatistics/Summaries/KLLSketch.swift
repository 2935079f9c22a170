/// A mergeable quantile sketch (KLL) whose rank error does not depend on the data's range or order.
///
/// Karnin, Lang & Liberty, "Optimal quantile approximation in streams", FOCS 2016: a stack of
/// compactors, level h holding items of weight 2^h with capacity max(8, k·(2/3)^{H-1-h}); a full
/// level is sorted and every other item (random offset) is promoted to the next level, so the total
/// weight always equals `count`. Sketches from many inference pods merge by concatenating levels and
/// compacting, in any order.
///
/// **Error bound.** For any x, the estimated CDF F̂(x) satisfies |F̂(x) - F(x)| ≤ ε with high
/// probability, where ε ≈ 2.296/k^{0.9723} for all quantiles at once at 99% confidence (the empirical
/// fit published with Apache DataSketches' KLL implementation; KLL's proof gives O(√log(1/δ)/k)).
/// For the default k = 400 that is ε ≈ 0.0067; `KLLSketchTests` checks it on 1 M values (measured
/// error ≈ 0.2%). Memory: about 3k + 8·log₂(n/k) retained doubles — 1 M values at k = 400 fit in
/// ~10 KiB (`serializedBytes`).
///
/// **Independent coins.** The bound assumes every compaction's offset is an independent fair coin.
/// Sketches made on many devices and merged share nothing but their seed, so sketches made without
/// an explicit seed draw one from the system's generator: had every drift agent started from one
/// fixed seed, their sketches of similar sizes would flip the same coins in the same compactions,
/// and a value whose rank is odd in each would be over- (or under-) counted by every one of them —
/// errors adding up with the number of pods instead of its square root (100 pods merged: worst rank
/// error 0.0085 against the stated 0.0068; `SketchTests`). Apache DataSketches seeds its coin per
/// thread from the clock and the thread id "to make different threads won't share the same random
/// sequence" (datasketches-cpp `common/include/common_defs.hpp`, `random_bit`).
///
/// **Determinism.** The coin flips come from a SplitMix64 generator seeded at creation and carried in
/// the serialized form, so a sketch made with an explicit seed — and every result computed from it —
/// is reproducible; give sketches that will be merged different seeds.
public struct KLLSketch: Sendable, Equatable {
  /// The accuracy parameter: larger is more accurate and larger.
  public let k: Int
  /// How many values were inserted (in this sketch and all merged into it).
  public private(set) var count: Int = 0
  /// The smallest value inserted (exact); +∞ while empty.
  public private(set) var minimum: Double = .infinity
  /// The largest value inserted (exact); -∞ while empty.
  public private(set) var maximum: Double = -.infinity
  private var levels: [[Double]] = [[]]
  private var randomState: UInt64

  /// Creates an empty sketch.
  ///
  /// - Parameters:
  ///   - k: the accuracy parameter, at least 8 (default 400: ε ≈ 0.67% for all quantiles).
  ///   - seed: the seed of the compaction coin flips; nil (the default) draws one from the system's
  ///     random generator, so sketches made apart and merged later flip independent coins. Pass one
  ///     for a reproducible sketch, and different ones to sketches that will be merged.
  public init(k: Int = 400, seed: UInt64? = nil) {
    self.k = max(8, k)
    self.randomState = seed ?? UInt64.random(in: .min ... .max)
  }

  /// Restores a sketch from its parts (used by `init(serialized:)`).
  init(k: Int, count: Int, minimum: Double, maximum: Double, levels: [[Double]], coinState: UInt64) {
    self.k = k
    self.count = count
    self.minimum = minimum
    self.maximum = maximum
    self.levels = levels
    self.randomState = coinState
  }

  var levelValues: [[Double]] { levels }
  var coinState: UInt64 { randomState }

  /// The rank-error bound ε for all quantiles at once (99% confidence) of a sketch with this `k`.
  public static func normalizedRankError(k: Int) -> Double { 2.296 / pow(Double(k), 0.9723) }

  /// Inserts a value.
  ///
  /// - Throws: `DriftStatisticsError.notANumber` for NaN, which has no rank, and `.countTooLarge`
  ///   once the sketch has summarised 2⁵³ values.
  public mutating func insert(_ value: Double) throws(DriftStatisticsError) {
    if value.isNaN { throw .notANumber(name: "sketch") }
    if count >= maximumExactCount { throw .countTooLarge(name: "sketch") }
    levels[0].append(value)
    count += 1
    minimum = min(minimum, value)
    maximum = max(maximum, value)
    if levels[0].count >= capacity(level: 0) { compress() }
  }

  /// Inserts every value of a sequence.
  public mutating func insert(contentsOf values: some Sequence<Double>) throws(DriftStatisticsError) {
    for v in values { try insert(v) }
  }

  /// Merges another sketch (from another pod) into this one; the result summarises both inputs.
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` when the two sketches have different `k`, and
  ///   `.countTooLarge` when together they would summarise more than 2⁵³ values (this sketch is then
  ///   unchanged).
  public mutating func merge(_ other: KLLSketch) throws(DriftStatisticsError) {
    guard other.k == k else { throw .invalidParameter("cannot merge KLL sketches with k = \(k) and k = \(other.k)") }
    guard count <= maximumExactCount - other.count else { throw .countTooLarge(name: "merged sketch") }
    while levels.count < other.levels.count { levels.append([]) }
    for (h, items) in other.levels.enumerated() { levels[h].append(contentsOf: items) }
    count += other.count
    minimum = min(minimum, other.minimum)
    maximum = max(maximum, other.maximum)
    compress()
  }

  /// The estimated fraction of values ≤ x (the right-continuous ECDF), within ε of the true one.
  public func cdf(_ x: Double) -> Double {
    guard count > 0 else { return 0 }
    var weight = 0.0
    for (h, items) in levels.enumerated() {
      var n = 0
      for v in items where v <= x { n += 1 }
      weight += Double(n) * Double(1 << h)
    }
    return weight / Double(count)
  }

  /// The estimated q-quantile (0 ≤ q ≤ 1): the smallest retained value whose estimated CDF is ≥ q.
  public func quantile(_ q: Double) -> Double? {
    let points = weightedItems()
    guard !points.isEmpty else { return nil }
    let target = min(max(q, 0), 1) * Double(count)
    var cumulative = 0.0
    for (value, weight) in points {
      cumulative += weight
      if cumulative >= target { return value }
    }
    return points.last?.value
  }

  /// The retained values with their weights, sorted by value.
  func weightedItems() -> [(value: Double, weight: Double)] {
    var items: [(value: Double, weight: Double)] = []
    for (h, level) in levels.enumerated() {
      for v in level { items.append((v, Double(1 << h))) }
    }
    items.sort { $0.value < $1.value }
    return items
  }

  /// How many values the sketch retains.
  public var retainedCount: Int { levels.reduce(0) { $0 + $1.count } }

  /// How many compactor levels the sketch has; the top level's items weigh 2^(levelCount − 1) each.
  public var levelCount: Int { levels.count }

  private func capacity(level h: Int) -> Int {
    let depth = levels.count - 1 - h
    return max(8, Int((Double(k) * pow(2.0 / 3.0, Double(depth))).rounded(.up)))
  }

  private mutating func compress() {
    var h = 0
    while h < levels.count {
      if levels[h].count >= capacity(level: h) {
        if h + 1 == levels.count { levels.append([]) }
        // Taken out of `levels` first, so sorting it does not copy it.
        var items = levels[h]
        levels[h] = []
        items.sort()
        let leftover = items.count % 2 == 1 ? items.removeLast() : nil
        let offset = Int(nextRandom() & 1)
        levels[h + 1].reserveCapacity(levels[h + 1].count + items.count / 2)
        var i = offset
        while i < items.count { levels[h + 1].append(items[i]); i += 2 }
        // The emptied array keeps its capacity for the level's next items.
        items.removeAll(keepingCapacity: true)
        if let leftover { items.append(leftover) }
        levels[h] = items
      }
      h += 1
    }
  }

  /// SplitMix64 (Steele, Lea & Flood, OOPSLA 2014).
  private mutating func nextRandom() -> UInt64 {
    randomState &+= 0x9E37_79B9_7F4A_7C15
    var z = randomState
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
