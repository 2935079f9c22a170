/// The hypergeometric distribution of the number of successes in `draws` draws without replacement
/// from `total` items of which `successes` are successes (`scipy.stats.hypergeom(M, n, N)`).
///
/// Built for Fisher's exact test on counts merged from many devices: every count may be as large as
/// 2⁵³ (the margins then reach 2⁵⁵), and both the accuracy and the time of `pmf`, `cdf` and `sf` are
/// independent of the counts' size.
///
/// * **pmf.** ln C(K, x) + ln C(N-K, n-x) - ln C(N, n) through log-gamma differences loses all
///   precision for large counts (ln Γ(10⁹) ≈ 2·10¹⁰ carries an absolute error of ~10⁻⁶). We use
///   Loader's saddle-point form instead (C. Loader, "Fast and Accurate Computation of Binomial
///   Probabilities", 2000): the hypergeometric pmf is a ratio of three binomial pmfs at p = n/N,
///   each written as exp(-δ(m) + δ(x) + δ(m-x) ... - D₀) with Stirling's error δ and the deviance
///   D₀(x, mp) = x ln(x/mp) + mp - x, which are small, well-conditioned numbers. This is the
///   formulation R's `dhyper` uses; the relative error stays near 10⁻¹⁴ up to 2⁵⁵.
/// * **Tails.** Like Boost's `hypergeometric_cdf` (which scipy's `hypergeom.cdf`/`sf` call), a tail
///   is summed walking away from the mode, where the terms decrease (the pmf is log-concave), and
///   stops once the rest is provably below 10⁻¹⁷ of the sum; the other side is its complement. The
///   terms come from the ratio recurrence pmf(k+1)/pmf(k), re-anchored on `pmf` every 256 steps.
///   That costs O(σ) terms (σ the standard deviation), which for counts near 2⁵³ would be ~10⁹; so
///   when σ ≥ 3,000 the tail is instead the Euler–Maclaurin sum formula (Abramowitz & Stegun
///   23.1.30): the integral of the pmf's continuous extension (Gauss–Legendre panels) plus
///   g(0)/2 - g'(0)/12 + g'''(0)/720. Its next term is below 10⁻¹⁵ of the sum at that σ, and the
///   support's ends lie at least σ² from the mode, so the smooth extension is never cut.
///   Both branches are cross-checked against scipy in `acceptance/drift/test_stats_property.py`.
public struct HypergeometricDistribution: Sendable, Equatable {
  /// N, the population size.
  public let total: Int
  /// K, the successes in the population.
  public let successes: Int
  /// n, the number of draws.
  public let draws: Int

  /// Creates the distribution.
  ///
  /// - Throws: `DriftStatisticsError.negativeValue` unless 0 ≤ K ≤ N and 0 ≤ n ≤ N, and
  ///   `.countTooLarge` when N exceeds 4·2⁵³ (the margins of a 2×2 table of counts ≤ 2⁵³).
  public init(total: Int, successes: Int, draws: Int) throws(DriftStatisticsError) {
    guard total >= 0, successes >= 0, draws >= 0 else { throw .negativeValue(name: "hypergeometric parameter") }
    guard successes <= total, draws <= total else {
      throw .invalidParameter("hypergeometric: successes (\(successes)) and draws (\(draws)) cannot exceed the total (\(total))")
    }
    guard total <= 4 * maximumExactCount else { throw .countTooLarge(name: "hypergeometric total") }
    self.total = total
    self.successes = successes
    self.draws = draws
  }

  /// The smallest possible number of successes, max(0, n - (N - K)).
  public var lowerBound: Int { max(0, draws - (total - successes)) }
  /// The largest possible number of successes, min(n, K).
  public var upperBound: Int { min(draws, successes) }

  /// ⌊(n+1)(K+1)/(N+2)⌋, the mode (scipy's `fisher_exact` starts from it), computed exactly in 128 bits:
  /// scipy's int64 product overflows once both margins pass ~3·10⁹.
  public var mode: Int {
    let product = (draws + 1).multipliedFullWidth(by: successes + 1)
    return (total + 2).dividingFullWidth(product).quotient
  }

  /// The standard deviation, √(n·K/N·(N-K)/N·(N-n)/(N-1)).
  public var standardDeviation: Double {
    guard total > 1 else { return 0 }
    let n = Double(draws), N = Double(total), K = Double(successes)
    return (n * (K / N) * ((N - K) / N) * ((N - n) / (N - 1))).squareRoot()
  }

  /// P(X = k).
  public func pmf(_ k: Int) -> Double {
    guard k >= lowerBound, k <= upperBound else { return 0 }
    return exp(logPMF(k))
  }

  /// P(X ≤ k).
  public func cdf(_ k: Int) -> Double {
    if k < lowerBound { return 0 }
    if k >= upperBound { return 1 }
    return k <= mode ? clampProbability(tail(from: k, direction: -1)) : clampProbability(1 - tail(from: k + 1, direction: 1))
  }

  /// P(X > k).
  public func sf(_ k: Int) -> Double {
    if k < lowerBound { return 1 }
    if k >= upperBound { return 0 }
    return k + 1 > mode ? clampProbability(tail(from: k + 1, direction: 1)) : clampProbability(1 - tail(from: k, direction: -1))
  }

  // MARK: - Tails

  /// Σ pmf(start + direction·i) for i ≥ 0 inside the support, `start` on the far side of the mode
  /// (≤ mode walking down, > mode walking up), so the terms decrease.
  func tail(from start: Int, direction: Int) -> Double {
    if standardDeviation >= 3_000 { return eulerMaclaurinTail(from: start, direction: direction) }
    return summedTail(from: start, direction: direction)
  }

  /// The tail term by term (see the type's comment).
  private func summedTail(from start: Int, direction: Int) -> Double {
    let N = Double(total), K = Double(successes), n = Double(draws)
    let end = direction > 0 ? upperBound : lowerBound
    var k = start
    var term = pmf(k)
    var sum = 0.0, compensation = 0.0   // Neumaier summation: ~10⁵ terms of similar size
    var steps = 0
    while true {
      let t = sum + term
      compensation += sum.magnitude >= term.magnitude ? (sum - t) + term : (term - t) + sum
      sum = t
      if k == end || term == 0 { break }
      let x = Double(k)
      // pmf(k±1)/pmf(k) from C(K,k)C(N-K,n-k): the falling and rising factors of each binomial.
      let ratio = direction > 0
        ? (K - x) * (n - x) / ((x + 1) * (N - K - n + x + 1))
        : x * (N - K - n + x) / ((K - x + 1) * (n - x + 1))
      // Log-concave: later ratios are smaller, so the rest is below term·r/(1-r).
      if ratio < 1, term * ratio / (1 - ratio) <= 1e-17 * sum { break }
      k += direction
      steps += 1
      term = steps % 256 == 0 ? pmf(k) : term * ratio
    }
    return sum + compensation
  }

  /// The tail by the Euler–Maclaurin formula, for σ ≥ 3,000 (see the type's comment): with
  /// g(t) = pmf(start + direction·t) / pmf(start), the tail is pmf(start)·(∫₀^∞ g + ½ - g'(0)/12 + g'''(0)/720).
  private func eulerMaclaurinTail(from start: Int, direction: Int) -> Double {
    let x0 = Double(start)
    let l0 = logPMF(start)
    if l0 < -745.2 { return 0 }   // exp underflows: so do the (smaller) later terms
    let d = Double(direction)
    let (first, second, third) = logPMFDerivatives(at: x0)
    let slope = d * first   // ≤ 0 on the far side of the mode (up to rounding)
    let sigma = standardDeviation
    let width = min(sigma, 4 / max(-slope, 1 / sigma))
    let limit = Double(direction > 0 ? upperBound - start : start - lowerBound)
    var integral = 0.0
    var a = 0.0
    for _ in 0..<400 {
      let b = min(a + width, limit)
      var panel = 0.0
      for (node, weight) in gaussLegendre20 {
        let t = a + (b - a) * (node + 1) / 2
        panel += weight * exp(logPMF(start, offset: d * t) - l0)
      }
      integral += panel * (b - a) / 2
      if b >= limit || logPMF(start, offset: d * b) - l0 < -60 { break }
      a = b
    }
    let g1 = slope
    let g3 = d * (first * first * first + 3 * first * second + third)
    return exp(l0) * (integral + 0.5 - g1 / 12 + g3 / 720)
  }

  // MARK: - The pmf's continuous extension

  /// ln pmf at the real point k + offset strictly inside the support (offset 0 gives ln P(X = k)).
  ///
  /// Loader's form of each binomial needs the deviation of its count from its mean, and all four are
  /// ±δ with δ = x - K·n/N = (kN - Kn)/N + offset. At counts near 2⁵³, x and K·n/N are only known to
  /// a few units in double precision, which would cost ~10⁻⁸ of δ and z²·10⁻⁸ of the log-pmf; so kN - Kn
  /// is formed exactly in 128 bits and δ keeps full relative precision.
  func logPMF(_ k: Int, offset: Double = 0) -> Double {
    let N = Double(total), K = Double(successes), n = Double(draws)
    if draws == 0 || draws == total { return 0 }   // one possible outcome
    let p = n / N, q = (N - n) / N
    let delta = exactDifference(k.multipliedFullWidth(by: total), successes.multipliedFullWidth(by: draws)) / N + offset
    let x = Double(k) + offset
    return logBinomialPMF(x, trials: K, deviation: delta, p: p, q: q)
      + logBinomialPMF(n - x, trials: N - K, deviation: -delta, p: p, q: q)
      - logBinomialPMF(n, trials: N, deviation: 0, p: p, q: q)
  }

  /// The first three derivatives L′, L″, L‴ of the log-pmf L at x, from the digamma differences
  /// L′(x) = ψ(K-x+1) - ψ(x+1) + ψ(n-x+1) - ψ(N-K-n+x+1). Only called when σ ≥ 3,000, where every
  /// argument is at least ~σ² and the asymptotic series of ψ, ψ′, ψ″ are exact to double precision
  /// (they only enter the Euler–Maclaurin corrections, so their relative precision is what counts).
  private func logPMFDerivatives(at x: Double) -> (Double, Double, Double) {
    let N = Double(total), K = Double(successes), n = Double(draws)
    let a = x + 1, b = K - x + 1, c = n - x + 1, e = N - K - n + x + 1
    func digammaDifference(_ u: Double, _ v: Double) -> Double {   // ψ(u) - ψ(v)
      log(u / v) - (1 / (2 * u) - 1 / (2 * v)) - (1 / (12 * u * u) - 1 / (12 * v * v))
    }
    func trigamma(_ y: Double) -> Double { 1 / y + 1 / (2 * y * y) + 1 / (6 * y * y * y) }
    func tetragamma(_ y: Double) -> Double { -1 / (y * y) - 1 / (y * y * y) }
    let first = digammaDifference(b, a) + digammaDifference(c, e)
    let second = -(trigamma(a) + trigamma(b) + trigamma(c) + trigamma(e))
    let third = -tetragamma(a) + tetragamma(b) + tetragamma(c) - tetragamma(e)
    return (first, second, third)
  }
}

/// a - b for two 128-bit products (as `multipliedFullWidth` returns them), as a Double.
private func exactDifference(_ a: (high: Int, low: UInt), _ b: (high: Int, low: UInt)) -> Double {
  var (low, borrow) = a.low.subtractingReportingOverflow(b.low)
  var high = a.high &- b.high &- (borrow ? 1 : 0)   // |a - b| < 2¹¹⁰ here: no overflow
  let negative = high < 0
  if negative {   // the magnitude, by two's complement negation of the 128-bit value
    low = ~low &+ 1
    high = ~high &+ (low == 0 ? 1 : 0)
  }
  let magnitude = Double(UInt(bitPattern: high)) * 0x1p64 + Double(low)
  return negative ? -magnitude : magnitude
}

/// ln of the binomial pmf C(m, x) pˣ q^{m-x} at real 0 ≤ x ≤ m, in Loader's saddle-point form
/// δ(m) - δ(x) - δ(m-x) - D₀(x; x-mp) - D₀(m-x; mp-x) - ½ ln(2π x (m-x)/m), with `deviation` = x - mp
/// given by the caller at full precision.
func logBinomialPMF(_ x: Double, trials m: Double, deviation: Double, p: Double, q: Double) -> Double {
  if x == 0 { return m == 0 ? 0 : m * log(q) }
  if x == m { return m * log(p) }
  let core = stirlingError(m) - stirlingError(x) - stirlingError(m - x) - deviance(x, deviation: deviation)
    - deviance(m - x, deviation: -deviation)
  return core - 0.5 * (log(2 * Double.pi * x) + log1p(-x / m))
}

/// δ(x) = ln Γ(x+1) - ln(√(2π) x^{x+½} e^{-x}), the error of Stirling's formula, for x > 0.
///
/// Above 15 the Stirling series 1/(12x) - 1/(360x³) + 1/(1260x⁵) - 1/(1680x⁷) + 1/(1188x⁹)
/// (Abramowitz & Stegun 6.1.40; the next term is below 10⁻¹⁶ there); below, the definition with
/// log-gamma, whose absolute error (~10⁻¹⁴) is what the pmf's relative error inherits.
func stirlingError(_ x: Double) -> Double {
  if x > 15 {
    let y = 1 / (x * x)
    return (1.0 / 12 - y * (1.0 / 360 - y * (1.0 / 1260 - y * (1.0 / 1680 - y / 1188)))) / x
  }
  return logGamma(x + 1) - (x + 0.5) * log(x) + x - 0.918_938_533_204_672_741_78   // ln √(2π)
}

/// D₀(x, μ) = x ln(x/μ) + μ - x, the binomial deviance, given x and d = x - μ, without cancellation
/// when d is small: with v = d/(x+μ) it equals d·v + 2x Σ_{j≥1} v^{2j+1}/(2j+1) (Loader 2000, §2).
func deviance(_ x: Double, deviation d: Double) -> Double {
  let mu = x - d
  if d.magnitude < 0.1 * (x + mu) {
    let v = d / (x + mu)
    var sum = d * v
    let v2 = v * v
    var power = 2 * x * v
    var j = 1.0
    while j < 1000 {
      power *= v2
      let next = sum + power / (2 * j + 1)
      if next == sum { return next }
      sum = next
      j += 1
    }
    return sum
  }
  return x * log(x / mu) - d
}

/// The 20-point Gauss–Legendre rule on [-1, 1] as (node, weight) pairs, computed once by Newton's
/// method on P₂₀ from the Tricomi initial guesses cos(π(i - ¼)/(n + ½)) (Abramowitz & Stegun 25.4.29).
let gaussLegendre20: [(node: Double, weight: Double)] = {
  let order = 20
  var rule: [(node: Double, weight: Double)] = []
  for i in 1...order {
    var z = cos(Double.pi * (Double(i) - 0.25) / (Double(order) + 0.5))
    var derivative = 0.0
    for _ in 0..<100 {
      var p0 = 1.0, p1 = z
      for j in 2...order {
        let p2 = ((2 * Double(j) - 1) * z * p1 - (Double(j) - 1) * p0) / Double(j)
        p0 = p1
        p1 = p2
      }
      derivative = Double(order) * (z * p1 - p0) / (z * z - 1)
      let step = p1 / derivative
      z -= step
      if step.magnitude < 1e-16 { break }
    }
    rule.append((z, 2 / ((1 - z * z) * derivative * derivative)))
  }
  return rule
}()
