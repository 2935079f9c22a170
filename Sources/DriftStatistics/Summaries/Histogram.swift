/// A histogram over fixed bin edges agreed in advance, mergeable by adding counts.
///
/// Counts are exact, so PSI/JS/chi² on merged histograms equal the statistics on the pooled raw
/// data binned the same way — the only approximation is the binning itself. Bin i is [eᵢ₋₁, eᵢ)
/// with open outer bins (-∞, e₀) and [e_last, ∞), as `populationStabilityIndex` bins.
public struct FixedBinHistogram: Sendable, Equatable {
  /// The interior edges, ascending.
  public let edges: [Double]
  /// Counts per bin (`edges.count + 1` bins).
  public private(set) var counts: [Double]

  /// Creates an empty histogram.
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` unless the edges are finite and strictly ascending.
  public init(edges: [Double]) throws(DriftStatisticsError) {
    for (a, b) in zip(edges, edges.dropFirst()) where !(a < b) { throw .invalidParameter("histogram edges must be strictly ascending") }
    for e in edges where !e.isFinite { throw .invalidParameter("histogram edges must be finite") }
    self.edges = edges
    self.counts = [Double](repeating: 0, count: edges.count + 1)
  }

  /// Restores a histogram from its edges and counts (a summary received from a device).
  ///
  /// - Throws: as `init(edges:)`, `.lengthMismatch` unless there are `edges.count + 1` counts, and
  ///   `.notANumber`, `.infiniteValue`, `.negativeValue` or `.countTooLarge` (beyond 2⁵³) for a count.
  public init(edges: [Double], counts: [Double]) throws(DriftStatisticsError) {
    try self.init(edges: edges)
    guard counts.count == edges.count + 1 else { throw .lengthMismatch(expected: edges.count + 1, actual: counts.count) }
    for c in counts { try requireCount(c, name: "histogram bin") }
    self.counts = counts
  }

  /// Adds values (NaN throws; ±∞ fall in the outer bins).
  ///
  /// - Throws: `.notANumber`, or `.countTooLarge` when a bin already holds 2⁵³ (one more would not
  ///   be counted); the values before the one that threw are counted.
  public mutating func insert(contentsOf values: some Sequence<Double>) throws(DriftStatisticsError) {
    for v in values {
      if v.isNaN { throw .notANumber(name: "histogram") }
      let bin = binIndex(v)
      if counts[bin] >= Double(maximumExactCount) { throw .countTooLarge(name: "histogram bin") }
      counts[bin] += 1
    }
  }

  /// Adds another histogram's counts (the summaries of many pods, merged).
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` when the edges differ, and `.countTooLarge`
  ///   when a merged bin would pass 2⁵³ or the other histogram's counts are not valid counts; either
  ///   way this histogram is left unchanged.
  public mutating func merge(_ other: FixedBinHistogram) throws(DriftStatisticsError) {
    guard other.edges == edges else { throw .invalidParameter("cannot merge histograms with different edges") }
    try requireMergeable(counts, other.counts, name: "histogram bin")
    for i in counts.indices { counts[i] += other.counts[i] }
  }

  /// The total count.
  public var total: Double { counts.reduce(0, +) }

  private func binIndex(_ x: Double) -> Int {
    var lo = 0, hi = edges.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if edges[mid] <= x { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }
}

/// Counts of categorical values, mergeable by adding counts.
public struct CategoricalCounts: Sendable, Equatable {
  /// Count per category.
  public private(set) var counts: [String: Double] = [:]

  /// Creates empty counts.
  public init() {}

  /// Restores counts received from a device.
  ///
  /// - Throws: `.notANumber`, `.infiniteValue`, `.negativeValue` or `.countTooLarge` (beyond 2⁵³).
  public init(counts: [String: Double]) throws(DriftStatisticsError) {
    for count in counts.values { try requireCount(count, name: "category") }
    self.counts = counts
  }

  /// Counts each value once.
  ///
  /// - Throws: `.countTooLarge` when a category already holds 2⁵³; the values before are counted.
  public mutating func insert(contentsOf values: some Sequence<String>) throws(DriftStatisticsError) {
    for v in values {
      let count = counts[v, default: 0]
      if count >= Double(maximumExactCount) { throw .countTooLarge(name: "category") }
      counts[v] = count + 1
    }
  }

  /// Adds another set of counts (the summaries of many pods, merged).
  ///
  /// - Throws: `.countTooLarge` when a merged count would pass 2⁵³ or one of `other`'s is not a valid
  ///   count; this value is then left unchanged.
  public mutating func merge(_ other: CategoricalCounts) throws(DriftStatisticsError) {
    for (category, count) in other.counts {
      try requireCount(count, name: "category")
      // count > 2⁵³ - existing, not count + existing > 2⁵³: that sum would round to 2⁵³.
      if count > Double(maximumExactCount) - counts[category, default: 0] { throw .countTooLarge(name: "category") }
    }
    counts.merge(other.counts, uniquingKeysWith: +)
  }

  /// Both count vectors over the sorted union of categories (zero where a category is absent), ready
  /// for `chiSquaredContingency`, `populationStabilityIndex(referenceCounts:currentCounts:)` or
  /// `jensenShannonDistance`.
  public static func aligned(_ reference: CategoricalCounts, _ current: CategoricalCounts) -> (categories: [String], reference: [Double], current: [Double]) {
    let categories = Set(reference.counts.keys).union(current.counts.keys).sorted()
    return (categories, categories.map { reference.counts[$0] ?? 0 }, categories.map { current.counts[$0] ?? 0 })
  }
}

/// Throws unless `mine[i] + theirs[i]` is a count of at most 2⁵³ for every i (checked before a merge
/// mutates anything, so a refused merge leaves the summary as it was).
func requireMergeable(_ mine: [Double], _ theirs: [Double], name: String) throws(DriftStatisticsError) {
  for (a, b) in zip(mine, theirs) {
    try requireCount(b, name: name)
    if b > Double(maximumExactCount) - a { throw .countTooLarge(name: name) }   // a + b would round
  }
}
