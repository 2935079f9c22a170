/// The k-sample Anderson–Darling test, as `scipy.stats.anderson_ksamp` (midrank variant, default).
///
/// The statistic is Scholz & Stephens' A²_akN for data with ties (eq. 7 of "K-sample Anderson–Darling
/// tests", JASA 82(399), 1987), standardised as (A² - (k-1))/σ_N. The p-value is **not exact**: like
/// scipy it interpolates log(significance) quadratically between the critical values of their Table 2
/// (significance 0.25 … 0.001), and is **capped to [0.001, 0.25]** — a statistic beyond the table gives
/// exactly 0.001 or 0.25 (scipy warns "p-value capped/floored"). Read 0.25 as "≥ 0.25" and 0.001 as
/// "≤ 0.001".
///
/// - Parameter samples: k ≥ 2 samples, each non-empty, no NaN; at least 4 observations in total and
///   at least two distinct values (scipy raises otherwise).
/// - Returns: statistic = standardised A², p-value in [0.001, 0.25], sizes of the samples.
/// - Throws: `DriftStatisticsError` when those conditions fail.
public func andersonDarlingKSample(_ samples: [[Double]]) throws(DriftStatisticsError) -> DriftTestResult {
  let k = samples.count
  guard k >= 2 else { throw .invalidParameter("anderson-ksamp needs at least two samples") }
  for (i, s) in samples.enumerated() { try requireSample(s, name: i == 0 ? "reference" : "current") }
  var pooled = ContiguousArray(samples.joined())
  pooled.sort()
  let nTotal = pooled.count
  guard nTotal >= 4 else { throw .tooFewObservations(name: "pooled", count: nTotal, minimum: 4) }
  // Distinct values and, for each, how many pooled observations lie strictly below (left) and equal (l_j).
  var distinct: [Double] = [], below: [Double] = [], multiplicity: [Double] = []
  var idx = 0
  while idx < nTotal {
    var end = idx + 1
    while end < nTotal && pooled[end] == pooled[idx] { end += 1 }
    distinct.append(pooled[idx]); below.append(Double(idx)); multiplicity.append(Double(end - idx))
    idx = end
  }
  guard distinct.count >= 2 else { throw .allValuesEqual(test: "anderson-ksamp") }
  let N = Double(nTotal)
  var a2 = 0.0
  for s in samples {
    var sorted = s
    sorted.sort()
    var inner = 0.0
    var left = 0, right = 0
    for (j, z) in distinct.enumerated() {
      while left < sorted.count && sorted[left] < z { left += 1 }
      right = max(right, left)
      while right < sorted.count && sorted[right] <= z { right += 1 }
      let lj = multiplicity[j]
      let bj = below[j] + lj / 2
      let mij = Double(right) - Double(right - left) / 2
      let num = N * mij - bj * Double(s.count)
      inner += lj / N * num * num / (bj * (N - bj) - N * lj / 4)
    }
    a2 += inner / Double(s.count)
  }
  a2 *= (N - 1) / N

  let kd = Double(k)
  let H = samples.reduce(0.0) { $0 + 1 / Double($1.count) }
  // h = Σ_{i=1}^{N-1} 1/i and g = Σ_{i=1}^{N-2} Σ_{j=i+1}^{N-1} 1/((N-i) j), summed in scipy's order.
  var hsCumulative: [Double] = []
  var running = 0.0
  for denominator in stride(from: nTotal - 1, to: 1, by: -1) {
    running += 1 / Double(denominator)
    hsCumulative.append(running)
  }
  let h = (hsCumulative.last ?? 0) + 1
  var g = 0.0
  for (i, v) in hsCumulative.enumerated() { g += v / Double(i + 2) }
  let a = (4 * g - 6) * (kd - 1) + (10 - 6 * g) * H
  let b = (2 * g - 4) * kd * kd + 8 * h * kd + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6
  let c = (6 * h + 2 * g - 2) * kd * kd + (4 * h - 4 * g + 6) * kd + (2 * h - 6) * H + 4 * h
  let d = (2 * h + 6) * kd * kd - 4 * h * kd
  let sigmaSquared = (a * N * N * N + b * N * N + c * N + d) / ((N - 1) * (N - 2) * (N - 3))
  let m = kd - 1
  let statistic = (a2 - m) / sigmaSquared.squareRoot()

  // Scholz & Stephens (1987), Table 2 interpolation coefficients, as in scipy.
  let b0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085]
  let b1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615]
  let b2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154]
  let significance = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001]
  let critical = (0..<7).map { b0[$0] + b1[$0] / m.squareRoot() + b2[$0] / m }
  let p: Double
  if let lowest = critical.min(), statistic < lowest {
    p = 0.25
  } else if let highest = critical.max(), statistic > highest {
    p = 0.001
  } else {
    let fit = quadraticLeastSquares(x: critical, y: significance.map { log($0) })
    p = exp((fit.0 * statistic + fit.1) * statistic + fit.2)
  }
  return DriftTestResult(statistic: statistic, pValue: p, sampleSizes: samples.map(\.count))
}

/// Least-squares y ≈ c₂x² + c₁x + c₀ (`np.polyfit(x, y, 2)`), solved by QR (modified Gram–Schmidt) on
/// the centred, scaled Vandermonde matrix for stability; returns (c₂, c₁, c₀).
func quadraticLeastSquares(x: [Double], y: [Double]) -> (Double, Double, Double) {
  let n = x.count
  let mean = x.reduce(0, +) / Double(n)
  let scale = max(x.map { ($0 - mean).magnitude }.max() ?? 1, 1e-300)
  let t = x.map { ($0 - mean) / scale }
  var columns = [[Double](repeating: 1, count: n), t, t.map { $0 * $0 }]
  var r = [[Double]](repeating: [0, 0, 0], count: 3)
  for j in 0..<3 {
    for i in 0..<j {
      var dot = 0.0
      for k in 0..<n { dot += columns[i][k] * columns[j][k] }
      r[i][j] = dot
      for k in 0..<n { columns[j][k] -= dot * columns[i][k] }
    }
    var norm = 0.0
    for k in 0..<n { norm += columns[j][k] * columns[j][k] }
    norm = norm.squareRoot()
    r[j][j] = norm
    for k in 0..<n { columns[j][k] /= norm }
  }
  var qty = [0.0, 0.0, 0.0]
  for j in 0..<3 { for k in 0..<n { qty[j] += columns[j][k] * y[k] } }
  var coef = [0.0, 0.0, 0.0]   // in t: coef[0] + coef[1] t + coef[2] t²
  for j in stride(from: 2, through: 0, by: -1) {
    var s = qty[j]
    for i in (j + 1)..<3 { s -= r[j][i] * coef[i] }
    coef[j] = s / r[j][j]
  }
  // Back to x: t = (x - mean)/scale.
  let a2 = coef[2] / (scale * scale)
  let a1 = coef[1] / scale - 2 * coef[2] * mean / (scale * scale)
  let a0 = coef[0] - coef[1] * mean / scale + coef[2] * mean * mean / (scale * scale)
  return (a2, a1, a0)
}
