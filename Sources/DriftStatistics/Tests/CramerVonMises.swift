/// How `cramerVonMisesTwoSample` computes its p-value (scipy's `method`).
public enum CramerVonMisesMethod: String, Sendable, CaseIterable {
  /// Exact when both samples have at most 20 values, asymptotic otherwise (scipy's rule).
  case auto
  /// The exact null distribution by lattice-path counting (Xiao, Gordon & Yakovlev 2006).
  case exact
  /// Anderson's normalised statistic referred to the limiting distribution.
  case asymptotic
}

/// The two-sample Cramér–von Mises test, as `scipy.stats.cramervonmises_2samp`.
///
/// T = U/(mnN) - (4mn-1)/(6N) with U = m Σ(rᵢ - i)² + n Σ(sⱼ - j)² over midranks (Anderson, "On the
/// distribution of the two-sample Cramér–von Mises criterion", Ann. Math. Statist. 33(3), 1962, eq. 9–10).
/// Exact p-value: the lattice-path frequency table of Xiao, Gordon & Yakovlev ("A C++ program for the
/// Cramér–von Mises two-sample test", J. Stat. Softw. 17(8), 2006). Asymptotic p-value: T normalised by
/// its mean and variance (Anderson's eq. 11, 14, 15) and referred to the limiting one-sample
/// distribution (Csörgő & Faraway, JRSS B 58(1), 1996, eq. 1.2), whose series scipy stops at the first
/// term below 1e-7 — so scipy's asymptotic p-value is itself only accurate to ~1e-7 absolute; we stop
/// at the same term so that we agree with scipy to ~1e-12. The Bessel function K_{1/4} in that series
/// is computed from K_ν(q) = ∫₀^∞ e^{-q cosh t} cosh(νt) dt by the trapezoidal rule (step 0.1,
/// exponentially convergent for this analytic, doubly exponentially decaying integrand).
///
/// - Parameters:
///   - reference, current: at least two observations each, no NaN.
/// - Returns: statistic T, p-value and [m, n].
/// - Throws: `DriftStatisticsError.tooFewObservations`, `.notANumber`, or `.invalidParameter` for the
///   exact method when m·n > 10 000.
public func cramerVonMisesTwoSample(
  reference: [Double], current: [Double], method: CramerVonMisesMethod = .auto
) throws(DriftStatisticsError) -> DriftTestResult {
  try requireSample(reference, name: "reference", minimum: 2)
  try requireSample(current, name: "current", minimum: 2)
  let nx = reference.count, ny = current.count
  var chosen = method
  if chosen == .auto { chosen = max(nx, ny) > 20 ? .asymptotic : .exact }
  let xa = reference.sorted(), ya = current.sorted()
  let ranks = averageRanks(xa + ya).ranks
  var sx = 0.0, sy = 0.0
  for i in 0..<nx { let d = ranks[i] - Double(i + 1); sx += d * d }
  for j in 0..<ny { let d = ranks[nx + j] - Double(j + 1); sy += d * d }
  let u = Double(nx) * sx + Double(ny) * sy
  let k = Double(nx) * Double(ny), N = Double(nx + ny)
  let t = u / (k * N) - (4 * k - 1) / (6 * N)
  let p: Double
  if chosen == .exact {
    // The path-counting table grows quickly; scipy's own `auto` stops at 20 × 20.
    guard nx * ny <= 10_000 else {
      throw .invalidParameter("exact Cramér–von Mises needs m·n ≤ 10000; use the asymptotic method")
    }
    p = exactCramerVonMisesPValue(u: u, m: nx, n: ny)
  } else {
    let et = (1 + 1 / N) / 6
    var vt = (N + 1) * (4 * k * N - 3 * (Double(nx * nx) + Double(ny * ny)) - 2 * k)
    vt = vt / (45 * N * N * 4 * k)
    let tn = 1.0 / 6 + (t - et) / (45 * vt).squareRoot()
    p = tn >= 0.003 ? max(0, 1 - limitingCramerVonMisesCDF(tn)) : 1
  }
  return DriftTestResult(statistic: t, pValue: clampProbability(p), sampleSizes: [nx, ny])
}

/// The exact P(U' ≥ U) by counting lattice paths from (0,0) to (n,m) by Σ (a·v - b·u)² over their points.
func exactCramerVonMisesPValue(u s: Double, m: Int, n: Int) -> Double {
  let g = greatestCommonDivisor(m, n)
  let lcm = m / g * n
  let a = lcm / m, b = lcm / n
  let mn = Double(m * n)
  let zeta = (Double(lcm * lcm * (m + n)) * (6 * s - mn * (4 * mn - 1)) / (6 * mn * mn)).rounded(.down)
  // gs[v]: frequency of each path statistic among paths reaching the current column at height v.
  var gs: [[Int: Double]] = [[0: 1]] + [[Int: Double]](repeating: [:], count: m)
  for uu in 0...n {
    var next: [[Int: Double]] = []
    next.reserveCapacity(m + 1)
    var tmp: [Int: Double] = [:]
    for v in 0...m {
      tmp.merge(gs[v], uniquingKeysWith: +)
      let step = (a * v - b * uu) * (a * v - b * uu)
      var shifted: [Int: Double] = [:]
      shifted.reserveCapacity(tmp.count)
      for (value, count) in tmp { shifted[value + step] = count }
      tmp = shifted
      next.append(tmp)
    }
    gs = next
  }
  var count = 0.0
  for (value, frequency) in gs[m] where Double(value) >= zeta { count += frequency }
  return count / binomialCoefficient(Double(m + n), Double(m))
}

/// The limiting CDF of the one-sample Cramér–von Mises statistic (Csörgő & Faraway 1996, eq. 1.2–1.3),
/// summed until a term falls below 1e-7 (scipy's `_cdf_cvm_inf` stopping rule, kept for agreement).
func limitingCramerVonMisesCDF(_ x: Double) -> Double {
  var total = 0.0
  var k = 0
  while true {
    let kd = Double(k)
    let u = exp(logGamma(kd + 0.5) - logGamma(kd + 1)) / (pow(Double.pi, 1.5) * x.squareRoot())
    let y = 4 * kd + 1
    let q = y * y / (16 * x)
    let term = u * y.squareRoot() * scaledBesselKQuarter(q)
    total += term
    if term.magnitude < 1e-7 || k > 10_000 { break }
    k += 1
  }
  return total
}

/// e^{-q}·K_{1/4}(q) for q > 0, as e^{-2q}·∫₀^∞ e^{-q(cosh t - 1)} cosh(t/4) dt by the trapezoidal rule.
func scaledBesselKQuarter(_ q: Double) -> Double {
  let h = 0.1
  var sum = 0.5   // t = 0: e^0 · cosh 0, half weight
  var t = h
  while true {
    let term = exp(-q * (cosh(t) - 1)) * cosh(t / 4)
    sum += term
    if term < 1e-18 * sum { break }
    t += h
  }
  return exp(-2 * q) * sum * h
}
