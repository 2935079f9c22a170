extension KLLSketch {
  /// The sketch's largest rank error against the exact data it summarises: sup over x of |F̂(x) − F(x)|.
  ///
  /// Both CDFs are right-continuous steps that change only at values of the data (the retained
  /// values are some of them), so the supremum is attained at one of the data's distinct values and
  /// one pass over the data and the sorted retained values finds it — every rank, not a grid of
  /// quantiles. It is the quantity `normalizedRankError(k:)` bounds and KS on sketches relies on.
  /// For checking accuracy (tests, `edgeml stats bench-sketch-merge`): the drift tests never hold
  /// the raw data.
  ///
  /// - Parameter sorted: every value the sketch summarised, ascending.
  /// - Returns: the largest |F̂(x) − F(x)|; 0 for an empty sketch.
  /// - Throws: `DriftStatisticsError.lengthMismatch` when `sorted` does not hold `count` values.
  /// - Complexity: O(n + r log r) for n values and r retained ones.
  public func maximumRankError(againstSorted sorted: [Double]) throws(DriftStatisticsError) -> Double {
    guard sorted.count == count else { throw .lengthMismatch(expected: count, actual: sorted.count) }
    guard count > 0 else { return 0 }
    let items = weightedItems()
    let n = Double(count)
    var worst = 0.0
    var i = 0, j = 0
    var estimated = 0.0
    while i < sorted.count {
      let x = sorted[i]
      while i < sorted.count && sorted[i] == x { i += 1 }
      while j < items.count && items[j].value <= x { estimated += items[j].weight; j += 1 }
      worst = max(worst, (estimated / n - Double(i) / n).magnitude)
    }
    return worst
  }
}
