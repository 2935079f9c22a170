/// The standard normal distribution, with tails accurate to the last few ulps.
///
/// Computed as Cephes `ndtr` does (Moshier, *Methods and Programs for Mathematical Functions*, 1989):
/// through `erfc` of |x|/√2 in the tails, so `sf(10)` is 7.6e-24 and not 0 as `1 - cdf` would give.
public enum NormalDistribution {
  /// P(Z ≤ x).
  public static func cdf(_ x: Double) -> Double {
    if x.isNaN { return .nan }
    let t = x * 0.70710678118654752440
    let z = t.magnitude
    if z < 0.70710678118654752440 { return 0.5 + 0.5 * erf(t) }
    let y = 0.5 * erfc(z)
    return t > 0 ? 1 - y : y
  }

  /// P(Z > x), the survival function, exact in the upper tail.
  public static func sf(_ x: Double) -> Double { cdf(-x) }

  /// ln φ(x), the log density, finite wherever x is.
  static func logPDF(_ x: Double) -> Double { -0.5 * x * x - 0.91893853320467274178 }   // ln √(2π)

  /// The quantile Φ⁻¹(p), as `scipy.stats.norm.ppf`: -∞ at 0, +∞ at 1, NaN outside [0, 1].
  ///
  /// Newton's method on g(x) = ln sf(x) - ln q for the smaller tail q = min(p, 1 - p), started at
  /// √(-2 ln q). The Chernoff bound sf(x) ≤ e^{-x²/2} puts that start at or beyond the root, and
  /// g is concave (the normal survival function is log-concave: Prékopa, Acta Sci. Math. 34, 1973),
  /// so every step lands between the root and the previous point: no overshoot, quadratic
  /// convergence, and no underflow however small q is. Working on the tail keeps relative accuracy
  /// where 1 - p would lose it. Near the centre (|p - ½| < ¼, where p - ½ is exact) ln sf is flat
  /// and would cost x its relative accuracy, so there Newton runs on ½·erf(x/√2) = |p - ½| from 0,
  /// monotone from below because Φ is concave on x ≥ 0.
  public static func quantile(_ p: Double) -> Double {
    if p.isNaN || p < 0 || p > 1 { return .nan }
    if p == 0 { return -.infinity }
    if p == 1 { return .infinity }
    if p == 0.5 { return 0 }
    let offset = p - 0.5
    if offset.magnitude < 0.25 {
      let target = offset.magnitude
      var x = 0.0
      for _ in 0..<64 {
        let next = x + (target - 0.5 * erf(x * 0.70710678118654752440)) / exp(logPDF(x))
        if !(next > x) { break }   // converged to the last ulp (monotone from below)
        x = next
      }
      return offset < 0 ? -x : x
    }
    let q = p < 0.5 ? p : 1 - p          // exact for p ≥ 0.5 (Sterbenz)
    let target = log(q)
    var x = (-2 * target).squareRoot()
    for _ in 0..<64 {
      let logSF = log(sf(x))
      // g'(x) = -φ(x)/sf(x), the negated inverse Mills ratio, taken through logs
      let step = (logSF - target) / -exp(logPDF(x) - logSF)
      let next = x - step
      if !(next < x) || next <= 0 { break }   // converged to the last ulp (monotone from above)
      x = next
    }
    return p < 0.5 ? -x : x
  }
}
