/// The one-sided Kolmogorov–Smirnov (Smirnov) distribution of Dₙ⁺ for a sample of size n.
///
/// The survival function is the Smirnov (1944) / Birnbaum–Tingey (1951) sum
///
///     P(Dₙ⁺ > x) = x Σ_{v=0}^{⌊n(1-x)⌋} C(n,v) (x + v/n)^{v-1} (1 - x - v/n)^{n-v},
///
/// whose terms are all positive, or, when x ≤ 0.5/√n and at most three terms remain, the
/// complementary alternating "upper" sum — the same choice, special cases (x ≤ 1/n, x ≥ 1 - 1/n,
/// n > 10⁶ with the Miller approximation e^{-(6nx+1)²/(18n)}) and early stop as scipy's
/// `scipy.special.smirnov` (xsf `cephes/kolmogorov.h`, after van Mulbregt, arXiv:1802.06966).
/// scipy sums in double-double; we sum each term in log space with the binomial kept as
/// mantissa × 2^exponent and a compensated (Neumaier) sum, which stays within about 1e-10
/// relative of it up to n = 10⁶.
public enum SmirnovDistribution {
  /// P(Dₙ⁺ > x).
  ///
  /// - Parameters:
  ///   - n: the sample size, n ≥ 1.
  ///   - x: the statistic in [0, 1].
  /// - Returns: the survival probability in [0, 1], or NaN when an argument is out of range.
  /// - Complexity: O(n(1-x)) terms in the worst case.
  public static func sf(n: Int, x: Double) -> Double {
    guard n > 0, x >= 0, x <= 1 else { return .nan }
    if n == 1 { return 1 - x }
    if x == 0 { return 1 }
    if x == 1 { return 0 }
    let nd = Double(n)
    // floor(n·x) and its fractional part, exactly: n·x = hi + lo with lo from a fused multiply-add.
    let hi = nd * x
    let lo = (-hi).addingProduct(nd, x)
    var floorHi = hi.rounded(.down)
    var alpha = (hi - floorHi) + lo
    if alpha < 0 { floorHi -= 1; alpha += 1 }
    var nxFloor = Int(floorHi)
    if alpha >= 1 { nxFloor += 1; alpha = 0 }

    var lowerLast = n - nxFloor - (alpha == 0 ? 0 : 1)
    var upperFirst = n - nxFloor
    if alpha == 0 { lowerLast -= 1; upperFirst += 1 }

    if nxFloor == 0 || (nxFloor == 1 && alpha == 0) {
      let cdf = x * exp(Double(n - 1) * log1p(x))
      return clampProbability(1 - cdf)
    }
    if -2 * nd * x * x < -745.13321910194110842 { return 0 }
    if nxFloor >= n - 1 { return clampProbability(exp(nd * log1p(-x))) }
    if n > 1_000_000 {
      let logp = -((6 * nd * x + 1) * (6 * nd * x + 1)) / 18 / nd
      return clampProbability(logp < -0.69314718055994530942 ? exp(logp) : 1 + expm1(logp))
    }

    let upperTerms = n - upperFirst + 1
    let useUpper = (upperTerms <= 1 && x < 0.5) || (n >= 10 && upperTerms <= 3 && x <= 0.5 / nd.squareRoot())
    let termCount = useUpper ? upperTerms : lowerLast + 1

    var binomial = BinomialMantissa()
    var sum = NeumaierSum()
    sum.add(useUpper ? exp(Double(n - 1) * log1p(x)) : exp(nd * log1p(-x)) / x)
    binomial.multiply(by: Double(n) / 1)   // C(n, 1)
    let half = n / 2
    var j = 1
    while j < termCount {
      let v = useUpper ? n - j : j
      let term = smirnovTerm(n: n, v: v, hi: hi, lo: lo, logBinomial: binomial.log)
      if term.isFinite && term != 0 { sum.add(term) }
      if term != 0 {
        if 4 * Double(termCount - j) * term.magnitude < Double.ulpOfOne * sum.value && j != termCount - 1 { break }
      } else if j > half {
        break
      }
      binomial.multiply(by: Double(n - j) / Double(j + 1))
      j += 1
    }
    let prob = x * sum.value
    return clampProbability(useUpper ? 1 - prob : prob)
  }
}

/// One term C(n,v)·(x + v/n)^{v-1}·(1 - x - v/n)^{n-v} of the Smirnov sums, with n·x = hi + lo.
private func smirnovTerm(n: Int, v: Int, hi: Double, lo: Double, logBinomial: Double) -> Double {
  let nd = Double(n)
  let lower = ((Double(n - v) - hi) - lo) / nd     // 1 - x - v/n
  let upper = ((Double(v) + hi) + lo) / nd         // x + v/n
  let exponentLower = n - v
  if lower == 0 { return exponentLower == 0 ? exp(logBinomial + Double(v - 1) * log(upper)) : 0 }
  let sign: Double = (lower < 0 && exponentLower % 2 == 1) ? -1 : 1
  let logTerm = logBinomial + Double(exponentLower) * log(lower.magnitude) + Double(v - 1) * log(upper)
  return sign * exp(logTerm)
}

/// A binomial coefficient kept as mantissa·2^exponent so C(10⁶, 5·10⁵) neither overflows nor loses bits.
struct BinomialMantissa {
  private var mantissa = 1.0
  private var exponent = 0

  mutating func multiply(by ratio: Double) {
    mantissa *= ratio
    let e = mantissa.exponent
    mantissa = Double(sign: .plus, exponent: 0, significand: mantissa.significand)
    exponent += Int(e)
  }

  var log: Double { DriftStatistics.log(mantissa) + Double(exponent) * 0.69314718055994530942 }
}

/// Neumaier's compensated summation: the rounding error of each addition is carried separately.
struct NeumaierSum {
  private var sum = 0.0
  private var compensation = 0.0

  mutating func add(_ x: Double) {
    let t = sum + x
    if sum.magnitude >= x.magnitude { compensation += (sum - t) + x } else { compensation += (x - t) + sum }
    sum = t
  }

  var value: Double { sum + compensation }
}

@inline(__always) func clampProbability(_ p: Double) -> Double { min(1, max(0, p)) }
