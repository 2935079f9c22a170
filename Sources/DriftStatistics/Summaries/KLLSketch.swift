/// A mergeable quantile sketch (KLL) whose rank error does not depend on the data's range or order.
///
/// Karnin, Lang & Liberty, "Optimal quantile approximation in streams", FOCS 2016, with the *lazy*
/// compaction of Apache DataSketches' KLL sketch (Ivkin, Liberty, Lang, Karnin & Braverman,
/// "Streaming quantiles algorithms with small space and update time", 2019; datasketches-cpp
/// `kll/include/kll_sketch_impl.hpp`, `kll_helper_impl.hpp`): a stack of compactors, level h holding
/// items of weight 2^h with capacity max(8, k·(2/3)^depth) (depth counted down from the top level).
/// Only when the *whole* sketch is at its total capacity is a level compacted — the lowest one at or
/// over its own capacity: it is sorted and every other item (a random offset, one fair coin per
/// compaction) is promoted to the next level at twice the weight; an odd item stays behind. So the
/// total weight always equals `count`, and a level waits as long as the others leave it room, which
/// makes fewer compactions — the source of all the error — than compacting each full level at once.
///
/// **Error bound.** For any x, the estimated CDF F̂(x) satisfies |F̂(x) - F(x)| ≤ ε with 99%
/// confidence for all x at once, ε ≈ 2.296/k^{0.9723}: DataSketches' fit to the 99th percentile of
/// the largest single-sided rank error measured in thousands of trials of this algorithm
/// (datasketches-cpp `kll_sketch::get_normalized_rank_error(k, false)`; KLL's proof gives
/// O(√log(1/δ)/k)). For the default k = 400 that is ε ≈ 0.0068. It holds after merges too, in any
/// order and from any number of devices: 200 trials of 100 pods' sketches merged exceeded it in
/// none (`edgeml stats bench-sketch-merge`, docs/drift-statistics.md). Memory: at most the total
/// capacity, under 3k + 8·levels retained doubles — about 10 KiB at k = 400 (`serializedBytes`).
///
/// **Independent coins.** The bound assumes every compaction's offset is an independent fair coin.
/// Sketches made on many devices and merged share nothing but their seed, so sketches made without
/// an explicit seed draw one from the system's generator: had every drift agent started from one
/// fixed seed, their sketches of similar sizes would flip the same coins in the same compactions,
/// and a value whose rank is odd in each would be over- (or under-) counted by every one of them —
/// errors adding up with the number of pods instead of its square root. Apache DataSketches seeds
/// its coin per thread from the clock and the thread id "to make different threads won't share the
/// same random sequence" (datasketches-cpp `common/include/common_defs.hpp`, `random_bit`).
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
  /// How many values the sketch retains (the sum of the levels' sizes).
  public private(set) var retainedCount: Int = 0
  private var levels: [[Double]] = [[]]
  /// Each level's capacity for the current number of levels, and their sum: kept, not recomputed
  /// on every insertion.
  private var capacities: [Int]
  private var totalCapacity: Int
  private var randomState: UInt64

  /// Creates an empty sketch.
  ///
  /// - Parameters:
  ///   - k: the accuracy parameter, at least 8 (default 400: ε ≈ 0.68% for all quantiles).
  ///   - seed: the seed of the compaction coin flips; nil (the default) draws one from the system's
  ///     random generator, so sketches made apart and merged later flip independent coins. Pass one
  ///     for a reproducible sketch, and different ones to sketches that will be merged.
  public init(k: Int = 400, seed: UInt64? = nil) {
    self.k = max(Self.minimumLevelCapacity, k)
    self.randomState = seed ?? UInt64.random(in: .min ... .max)
    self.capacities = Self.levelCapacities(k: self.k, levelCount: 1)
    self.totalCapacity = capacities.reduce(0, +)
  }

  /// Restores a sketch from its parts (used by `init(serialized:)`).
  ///
  /// The levels are taken as they are, even fuller than their capacities (a sketch made by another
  /// compaction rule): the next insertion or merge compacts them.
  init(k: Int, count: Int, minimum: Double, maximum: Double, levels: [[Double]], coinState: UInt64) {
    self.k = k
    self.count = count
    self.minimum = minimum
    self.maximum = maximum
    self.levels = levels
    self.retainedCount = levels.reduce(0) { $0 + $1.count }
    self.capacities = Self.levelCapacities(k: k, levelCount: levels.count)
    self.totalCapacity = capacities.reduce(0, +)
    self.randomState = coinState
  }

  var levelValues: [[Double]] { levels }
  var coinState: UInt64 { randomState }

  /// The rank-error bound ε for all quantiles at once (99% confidence) of a sketch with this `k`.
  ///
  /// DataSketches' *single-sided* constant, for one CDF value or quantile — what KS on sketches
  /// needs, each CDF side by side. A bin's share (the difference of two CDF values) has the
  /// double-sided error, ≤ 2ε (DataSketches fits 2.446/k^0.9433 for it, `get_normalized_rank_error(k, true)`).
  public static func normalizedRankError(k: Int) -> Double { 2.296 / pow(Double(k), 0.9723) }

  /// How many compactor levels the sketch has; the top level's items weigh 2^(levelCount − 1) each.
  public var levelCount: Int { levels.count }

  /// Inserts a value.
  ///
  /// - Throws: `DriftStatisticsError.notANumber` for NaN, which has no rank, and `.countTooLarge`
  ///   once the sketch has summarised 2⁵³ values.
  public mutating func insert(_ value: Double) throws(DriftStatisticsError) {
    if value.isNaN { throw .notANumber(name: "sketch") }
    if count >= maximumExactCount { throw .countTooLarge(name: "sketch") }
    // A full sketch makes room first, one compaction at a time (DataSketches'
    // `compress_while_updating`): the lowest level at its capacity, which exists whenever the
    // levels together hold their total capacity.
    if retainedCount >= totalCapacity { compact(level: lowestFullLevel()) }
    levels[0].append(value)
    retainedCount += 1
    count += 1
    minimum = min(minimum, value)
    maximum = max(maximum, value)
  }

  /// Inserts every value of a sequence.
  public mutating func insert(contentsOf values: some Sequence<Double>) throws(DriftStatisticsError) {
    for v in values { try insert(v) }
  }

  /// Merges another sketch (from another pod) into this one; the result summarises both inputs.
  ///
  /// The levels are concatenated, then compacted bottom-up as long as the sketch is over its total
  /// capacity (DataSketches' `general_compress`), so a merged sketch keeps the bound of one made
  /// from all the values. Merging an empty sketch changes nothing.
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` when the two sketches have different `k`, and
  ///   `.countTooLarge` when together they would summarise more than 2⁵³ values (this sketch is then
  ///   unchanged).
  public mutating func merge(_ other: KLLSketch) throws(DriftStatisticsError) {
    guard other.k == k else { throw .invalidParameter("cannot merge KLL sketches with k = \(k) and k = \(other.k)") }
    guard other.count > 0 else { return }
    guard count <= maximumExactCount - other.count else { throw .countTooLarge(name: "merged sketch") }
    if levels.count < other.levels.count {
      levels.append(contentsOf: repeatElement([], count: other.levels.count - levels.count))
      levelCountChanged()
    }
    for (h, items) in other.levels.enumerated() { levels[h].append(contentsOf: items) }
    retainedCount += other.retainedCount
    count += other.count
    minimum = min(minimum, other.minimum)
    maximum = max(maximum, other.maximum)
    compressAfterMerge()
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
    items.reserveCapacity(retainedCount)
    for (h, level) in levels.enumerated() {
      for v in level { items.append((v, Double(1 << h))) }
    }
    items.sort { $0.value < $1.value }
    return items
  }

  // MARK: Compaction

  /// The smallest capacity of a level (DataSketches' `m`, `kll_constants::DEFAULT_M`).
  static let minimumLevelCapacity = 8

  /// The capacity of the level at `depth` below the top: max(8, k·(2/3)^depth rounded to nearest).
  ///
  /// Computed exactly in integers, as round(x) = ⌊(2x + 1)/2⌋ with 2x = 2k·2^d / 3^d (the rounding
  /// of datasketches-cpp `kll_helper::int_cap_aux_aux`): a `pow` that lands a hair below an integer
  /// would give a different capacity on another platform. Depths past 63 do not occur (a sketch has
  /// at most 64 levels) and are taken as 63.
  static func levelCapacity(k: Int, depth: Int) -> Int {
    let d = min(max(depth, 0), 63)
    var threeToTheD: UInt128 = 1
    for _ in 0..<d { threeToTheD *= 3 }
    let twiceScaled = (UInt128(max(k, 0)) << (d + 1)) / threeToTheD
    return max(minimumLevelCapacity, Int((twiceScaled + 1) >> 1))
  }

  /// Every level's capacity, bottom first, for a sketch of `levelCount` levels.
  static func levelCapacities(k: Int, levelCount: Int) -> [Int] {
    (0..<levelCount).map { h in levelCapacity(k: k, depth: levelCount - 1 - h) }
  }

  private mutating func levelCountChanged() {
    capacities = Self.levelCapacities(k: k, levelCount: levels.count)
    totalCapacity = capacities.reduce(0, +)
  }

  /// The lowest level holding at least its capacity. One exists whenever the sketch holds its total
  /// capacity (the sizes cannot all be below capacities that sum to no more than they do); otherwise
  /// the top level.
  private func lowestFullLevel() -> Int {
    var h = 0
    while h < levels.count - 1 && levels[h].count < capacities[h] { h += 1 }
    return h
  }

  /// Compacts, bottom-up, every level at or over its capacity while the sketch is over its total
  /// capacity — each level checked once, with the capacities of the levels the sketch has at that
  /// moment (compacting the top adds a level, which gives every level below more room) — and repeats
  /// the pass until the sketch is within its capacity (DataSketches' `general_compress`, which shows
  /// one pass is enough; the repeat only guards sketches read from bytes that were already over).
  ///
  /// A sketch exactly at its capacity is left alone, as `insert` leaves it: so merging a sketch into
  /// an empty one gives that sketch's levels unchanged.
  private mutating func compressAfterMerge() {
    while retainedCount > totalCapacity {
      var h = 0
      while h < levels.count {
        if retainedCount > totalCapacity && levels[h].count >= capacities[h] { compact(level: h) }
        h += 1
      }
    }
  }

  /// Sorts level `h` and promotes every other item, from a random offset, to level h + 1.
  ///
  /// One fair coin per compaction: the promoted half of a sorted run of 2m items over- or
  /// under-counts the rank of any value by at most the level's weight, equally likely either way,
  /// so errors of independent compactions cancel like a random walk. An odd item stays at the
  /// bottom of the level (the smallest, as DataSketches keeps the first of its sorted level).
  private mutating func compact(level h: Int) {
    if h == levels.count - 1 {
      levels.append([])
      levelCountChanged()
    }
    // Taken out of `levels` first, so sorting it does not copy it.
    var items = levels[h]
    levels[h] = []
    items.sort()
    let first = items.count % 2
    let promoted = (items.count - first) / 2
    let offset = Int(nextRandom() & 1)
    levels[h + 1].reserveCapacity(levels[h + 1].count + promoted)
    var i = first + offset
    while i < items.count { levels[h + 1].append(items[i]); i += 2 }
    retainedCount -= promoted
    // The emptied array keeps its capacity for the level's next items.
    let stays = first == 1 ? items[0] : nil
    items.removeAll(keepingCapacity: true)
    if let stays { items.append(stays) }
    levels[h] = items
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
