/// The limiting (n → ∞) Kolmogorov distribution of √n·Dₙ.
///
/// Survival function K̄(x) = 2 Σ_{k≥1} (-1)^{k-1} e^{-2k²x²} for x > 0.82, and for smaller x the
/// Jacobi-theta form K(x) = √(2π)/x Σ_{k≥1} e^{-(2k-1)²π²/(8x²)}, each truncated after the terms that
/// can matter in double precision. This is the split used by Cephes/xsf `kolmogorov` (cutover 0.82;
/// van Mulbregt, "Computing the CDF and quantiles of the limit of the two-sided Kolmogorov–Smirnov
/// statistic", arXiv:1803.00426). `edgeml` uses it for tests on merged sketches, where n is only
/// known approximately; the two-sample KS p-value uses the exact finite-n `KolmogorovDistribution`.
public enum LimitingKolmogorovDistribution {
  /// P(√n·Dₙ > x) in the limit.
  public static func sf(_ x: Double) -> Double {
    if x.isNaN { return .nan }
    // Below π/√(8·746) every term of the theta series underflows: the CDF is 0.
    if x <= 0.040611972203751713 { return 1 }
    if x <= 0.82 {
      let w = (2 * Double.pi).squareRoot() / x
      let logu8 = -Double.pi * Double.pi / (x * x)
      let u = exp(logu8 / 8)
      var cdf: Double
      if u == 0 {
        cdf = exp(logu8 / 8 + log(w))
      } else {
        let u8 = exp(logu8)
        var p = 1.0
        p = 1 + u8 * u8 * u8 * p
        p = 1 + u8 * u8 * p
        p = 1 + u8 * p
        cdf = w * u * p
      }
      return min(1, max(0, 1 - cdf))
    }
    let v = exp(-2 * x * x)
    let v3 = v * v * v
    var p = 1.0
    p = 1 - v3 * v3 * v * p
    p = 1 - v3 * v * v * p
    p = 1 - v3 * p
    return min(1, max(0, 2 * v * p))
  }
}
