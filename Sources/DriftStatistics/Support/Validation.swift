/// Throws unless `values` is non-empty and free of NaN.
func requireSample(_ values: some Collection<Double>, name: String, minimum: Int = 1) throws(DriftStatisticsError) {
  if values.isEmpty { throw .emptySample(name: name) }
  if values.count < minimum { throw .tooFewObservations(name: name, count: values.count, minimum: minimum) }
  for v in values where v.isNaN { throw .notANumber(name: name) }
}

/// Throws unless `values` is a non-empty vector of finite, non-negative numbers with a positive sum,
/// each at most 2⁵³ (`maximumExactCount`) when `isCount` (expected frequencies are real numbers
/// scaled to a total, and may pass 2⁵³ when that total does).
@discardableResult
func requireCounts(_ values: [Double], name: String, isCount: Bool = true) throws(DriftStatisticsError) -> Double {
  if values.isEmpty { throw .emptySample(name: name) }
  var total = 0.0
  for v in values {
    if isCount {
      try requireCount(v, name: name)
    } else {
      if v.isNaN { throw .notANumber(name: name) }
      if v.isInfinite { throw .infiniteValue(name: name) }
      if v < 0 { throw .negativeValue(name: name) }
    }
    total += v
  }
  if total <= 0 { throw .zeroTotal(name: name) }
  return total
}

/// Throws unless `value` is a finite, non-negative count of at most 2⁵³ (`maximumExactCount`).
@inline(__always)
func requireCount(_ value: Double, name: String) throws(DriftStatisticsError) {
  if value.isNaN { throw .notANumber(name: name) }
  if value.isInfinite { throw .infiniteValue(name: name) }
  if value < 0 { throw .negativeValue(name: name) }
  if value > Double(maximumExactCount) { throw .countTooLarge(name: name) }
}

/// A total of counts as a sample size. Counts are at most 2⁵³ each, so only a vector of more than
/// 1,024 such counts can pass `Int.max`; that throws rather than trapping.
func sampleSize(ofTotal total: Double, name: String) throws(DriftStatisticsError) -> Int {
  guard let size = Int(exactly: total.rounded()) else { throw .countTooLarge(name: "\(name) total") }
  return size
}
