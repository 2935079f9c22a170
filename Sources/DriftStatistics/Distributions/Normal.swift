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
}
