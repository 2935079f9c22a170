/// Throws unless `values` is non-empty and free of NaN.
func requireSample(_ values: some Collection<Double>, name: String, minimum: Int = 1) throws(DriftStatisticsError) {
  if values.isEmpty { throw .emptySample(name: name) }
  if values.count < minimum { throw .tooFewObservations(name: name, count: values.count, minimum: minimum) }
  for v in values where v.isNaN { throw .notANumber(name: name) }
}

/// Throws unless `values` is a non-empty vector of finite, non-negative numbers with a positive sum.
@discardableResult
func requireCounts(_ values: [Double], name: String) throws(DriftStatisticsError) -> Double {
  if values.isEmpty { throw .emptySample(name: name) }
  var total = 0.0
  for v in values {
    if v.isNaN { throw .notANumber(name: name) }
    if v.isInfinite { throw .infiniteValue(name: name) }
    if v < 0 { throw .negativeValue(name: name) }
    total += v
  }
  if total <= 0 { throw .zeroTotal(name: name) }
  return total
}
