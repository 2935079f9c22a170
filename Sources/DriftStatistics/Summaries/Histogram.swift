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

  /// Adds values (NaN throws; ±∞ fall in the outer bins).
  public mutating func insert(contentsOf values: some Sequence<Double>) throws(DriftStatisticsError) {
    for v in values {
      if v.isNaN { throw .notANumber(name: "histogram") }
      counts[binIndex(v)] += 1
    }
  }

  /// Adds another histogram's counts.
  ///
  /// - Throws: `DriftStatisticsError.invalidParameter` when the edges differ.
  public mutating func merge(_ other: FixedBinHistogram) throws(DriftStatisticsError) {
    guard other.edges == edges else { throw .invalidParameter("cannot merge histograms with different edges") }
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

  /// Counts each value once.
  public mutating func insert(contentsOf values: some Sequence<String>) {
    for v in values { counts[v, default: 0] += 1 }
  }

  /// Adds another set of counts.
  public mutating func merge(_ other: CategoricalCounts) {
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
