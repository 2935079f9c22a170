/// The exact two-sided one-sample Kolmogorov–Smirnov distribution of Dₙ for a sample of size n.
///
/// This is `scipy.stats.kstwo`, which `ks_2samp(method='asymp')` evaluates at n = round(mn/(m+n)).
/// The algorithm is Simard & L'Ecuyer's choice of method by (n, n·x²) ("Computing the two-sided
/// Kolmogorov–Smirnov distribution", J. Stat. Softw. 39(11), 2011), with the same cut-offs as scipy
/// (`scipy/stats/_ksstats.py`):
/// * Ruben–Gambino closed forms for x ≤ 1/n and x ≥ 1 - 1/n;
/// * 2·Smirnov(n, x) when x ≥ 0.5 (exact there) or when n·x² is large (the tail, where it is
///   accurate to the last bits);
/// * Durbin's matrix (1968) as evaluated by Marsaglia, Tsang & Wang (J. Stat. Softw. 8(18), 2003)
///   for small n·x^{1.5};
/// * Pomeranz's recursion (CACM 17(12), 1974, Algorithm 487) for n ≤ 140;
/// * the Pelz–Good asymptotic series (JRSS B 38(2), 1976) otherwise.
public enum KolmogorovDistribution {
  /// P(Dₙ ≥ x), the survival function (`scipy.stats.kstwo.sf(x, n)`).
  ///
  /// - Parameters:
  ///   - x: the statistic; x ≤ 0.5/n gives 1 and x ≥ 1 gives 0 (the support is (1/(2n), 1)).
  ///   - n: the sample size, n ≥ 1.
  public static func sf(_ x: Double, n: Int) -> Double {
    guard n >= 1, !x.isNaN else { return .nan }
    let nd = Double(n)
    if x <= 0.5 / nd { return 1 }
    if x >= 1 { return 0 }
    let t = nd * x
    if t <= 1 {
      let prob: Double
      if n <= 140 {
        var p = 1.0
        for i in 1...n { p *= Double(i) * (1 / nd) * (2 * t - 1) }
        prob = p
      } else {
        prob = exp(logFactorialOverPower(n) + nd * log(2 * t - 1))
      }
      return clampProbability(1 - prob)
    }
    if t >= nd - 1 { return clampProbability(2 * pow(1 - x, nd)) }
    if x >= 0.5 { return clampProbability(2 * SmirnovDistribution.sf(n: n, x: x)) }
    let nxSquared = t * x
    if n <= 140 {
      if nxSquared <= 0.754693 { return clampProbability(1 - durbinMatrixCDF(n: n, d: x)) }
      if nxSquared <= 4 { return clampProbability(1 - pomeranzCDF(n: n, x: x)) }
      return clampProbability(2 * SmirnovDistribution.sf(n: n, x: x))
    }
    if nxSquared >= 370 { return 0 }
    if nxSquared >= 2.2 { return clampProbability(2 * SmirnovDistribution.sf(n: n, x: x)) }
    let cdf: Double
    if n <= 100_000 && nd * pow(x, 1.5) <= 1.4 {
      cdf = durbinMatrixCDF(n: n, d: x)
    } else {
      cdf = pelzGoodCDF(n: n, x: x)
    }
    return clampProbability(1 - cdf)
  }
}

private let scaleUp = 0x1p128
private let scaleDown = 0x1p-128

/// log(n!/nⁿ) by Stirling's series with the n·log n term removed up front (no cancellation).
private func logFactorialOverPower(_ n: Int) -> Double {
  // Bernoulli-number coefficients B_{2j}/(2j(2j-1)), j = 8…1, highest power first.
  let coefficients = [-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
                      8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
                      -2.7777777777777777778e-3, 8.3333333333333333333e-2]
  let nd = Double(n)
  let rn = 1 / nd
  let z = rn / nd
  var poly = 0.0
  for c in coefficients { poly = poly * z + c }
  return log(nd) / 2 - nd + log(2 * Double.pi) / 2 + rn * poly
}

/// Pr(Dₙ ≤ d) by Durbin's matrix method, computed as Marsaglia–Tsang–Wang do: the k-th diagonal
/// entry of Hⁿ (binary powering, rescaled by 2^±128 with a separate exponent) times n!/nⁿ.
private func durbinMatrixCDF(n: Int, d: Double) -> Double {
  if d >= 1 { return 1 }
  let nd = Double(n) * d
  if nd <= 0.5 { return 0 }
  let k = Int(nd.rounded(.up))
  let h = Double(k) - nd
  let m = 2 * k - 1
  var v = [Double](repeating: 0, count: m)
  var w = [Double](repeating: 0, count: m)
  var factorial = 1.0
  for j in 1...m {
    w[j - 1] = factorial
    factorial /= Double(j)
    v[j - 1] = (1 - pow(h, Double(j))) * factorial
  }
  let tt = pow(max(2 * h - 1, 0), Double(m)) - 2 * pow(h, Double(m))
  v[m - 1] = (1 + tt) * factorial
  var matrix = [Double](repeating: 0, count: m * m)
  for i in 1..<m {
    for r in (i - 1)..<m { matrix[r * m + i] = w[r - (i - 1)] }
  }
  for r in 0..<m { matrix[r * m] = v[r] }
  for c in 0..<m { matrix[(m - 1) * m + c] = v[m - 1 - c] }

  var power = [Double](repeating: 0, count: m * m)
  for i in 0..<m { power[i * m + i] = 1 }
  var remaining = n
  var exponent = 0
  var matrixExponent = 0
  while remaining > 0 {
    if remaining % 2 == 1 {
      power = multiply(power, matrix, m)
      exponent += matrixExponent
    }
    matrix = multiply(matrix, matrix, m)
    matrixExponent *= 2
    if matrix[(k - 1) * m + (k - 1)].magnitude > scaleUp {
      for i in matrix.indices { matrix[i] *= scaleDown }
      matrixExponent += 128
    }
    remaining /= 2
  }
  var p = power[(k - 1) * m + (k - 1)]
  for i in 1...n {
    p = Double(i) * p / Double(n)
    if p.magnitude < scaleDown {
      p *= scaleUp
      exponent -= 128
    }
  }
  if exponent != 0 { p = Double(sign: .plus, exponent: exponent, significand: 1) * p }
  return clampProbability(p)
}

private func multiply(_ a: [Double], _ b: [Double], _ m: Int) -> [Double] {
  var c = [Double](repeating: 0, count: m * m)
  for i in 0..<m {
    for l in 0..<m {
      let ail = a[i * m + l]
      if ail == 0 { continue }
      for j in 0..<m { c[i * m + j] += ail * b[l * m + j] }
    }
  }
  return c
}

/// Pr(Dₙ ≤ x) by Pomeranz's recursion: 2n+1 rows, each the convolution of the previous row with one
/// of three Poisson-like weight vectors, only a sliding window of each row being non-zero.
private func pomeranzCDF(n: Int, x: Double) -> Double {
  let t = Double(n) * x
  let ll = Int(t.rounded(.down))
  let f = t - Double(ll)
  let g = min(f, 1 - f)
  let ceilf = f > 0 ? 1 : 0
  let roundf = f > 0.5 ? 1 : 0
  let npwrs = 2 * (ll + 1)
  var gpower = [Double](repeating: 1, count: npwrs)
  var twogpower = [Double](repeating: 1, count: npwrs)
  var onem2gpower = [Double](repeating: 1, count: npwrs)
  let gOverN = g / Double(n), twoGOverN = 2 * g / Double(n), oneMinusTwoGOverN = (1 - 2 * g) / Double(n)
  for m in 1..<npwrs {
    gpower[m] = gpower[m - 1] * gOverN / Double(m)
    twogpower[m] = twogpower[m - 1] * twoGOverN / Double(m)
    onem2gpower[m] = onem2gpower[m - 1] * oneMinusTwoGOverN / Double(m)
  }
  var v0 = [Double](repeating: 0, count: npwrs)
  var v1 = [Double](repeating: 0, count: npwrs)
  v1[0] = 1
  var v0s = 0, v1s = 0
  var exponent = 0
  var (j1, _) = pomeranzWindow(0, n, ll, ceilf, roundf)
  for i in 1..<(2 * n + 2) {
    let k1 = j1
    swap(&v0, &v1)
    swap(&v0s, &v1s)
    for idx in v1.indices { v1[idx] = 0 }
    let window = pomeranzWindow(i, n, ll, ceilf, roundf)
    j1 = window.0
    let j2 = window.1
    let pwrs = (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 == 1 ? twogpower : onem2gpower)
    let ln2 = j2 - k1 + 1
    if ln2 > 0 {
      let start = k1 - v0s
      let end = min(start + ln2, npwrs)
      let convStart = j1 - k1
      let convLen = j2 - j1 + 1
      var maxValue = 0.0
      for outIndex in 0..<max(convLen, 0) {
        let c = convStart + outIndex          // index into the full convolution
        var s = 0.0
        var a = max(0, c - (min(ln2, npwrs) - 1))
        while a <= c && start + a < end {
          s += v0[start + a] * pwrs[c - a]
          a += 1
        }
        v1[outIndex] = s
        maxValue = max(maxValue, s)
      }
      if maxValue > 0 && maxValue < scaleDown {
        for idx in v1.indices { v1[idx] *= scaleUp }
        exponent -= 128
      }
      v1s = v0s + j1 - k1
    }
  }
  var answer = v1[n - v1s]
  for m in 1...n {
    if answer.magnitude > scaleUp {
      answer *= scaleDown
      exponent += 128
    }
    answer *= Double(m)
  }
  if exponent != 0 { answer = Double(sign: .plus, exponent: exponent, significand: 1) * answer }
  return clampProbability(answer)
}

/// The first and last non-zero column of row `i` of the Pomeranz recursion.
private func pomeranzWindow(_ i: Int, _ n: Int, _ ll: Int, _ ceilf: Int, _ roundf: Int) -> (Int, Int) {
  var j1: Int, j2: Int
  if i == 0 {
    j1 = -ll - ceilf - 1
    j2 = ll + ceilf - 1
  } else {
    let half = (i + 1) / 2
    if (i + 1) % 2 == 0 {
      if half == n + 1 {
        j1 = n - ll - ceilf - 1
        j2 = n + ll + ceilf - 1
      } else {
        j1 = half - 1 - ll - roundf - 1
        j2 = half + ll - 1 + ceilf - 1
      }
    } else {
      j1 = half - 1 - ll - 1
      j2 = half + ll + roundf - 1
    }
  }
  return (max(j1 + 2, 0), min(j2, n))
}

/// Pr(Dₙ ≤ x) by the Pelz–Good expansion K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2}, z = x√n, each
/// Kᵢ in its Jacobi-theta form (fast-converging for the small z where this branch is used).
private func pelzGoodCDF(n: Int, x: Double) -> Double {
  if x <= 0 { return 0 }
  if x >= 1 { return 1 }
  let pi2 = Double.pi * Double.pi, pi4 = pi2 * pi2, pi6 = pi4 * pi2
  let z = Double(n).squareRoot() * x
  let z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2
  let qlog = -pi2 / 8 / z2
  if qlog < -708 { return 0 }
  var q = exp(qlog)
  let k1a = -z2, k1b = pi2 / 4
  let k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16
  let k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16
  let k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * z4 * z4
  var k = [0.0, 0.0, 0.0, 0.0]
  let maxk = Int((16 * z / Double.pi).rounded(.up))
  var kk = maxk
  while kk >= 1 {
    let m = Double(2 * kk - 1)
    let m2 = m * m, m4 = m2 * m2, m6 = m4 * m2
    let qpower = pow(q, Double(8 * kk))
    let coefficients = [1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6]
    for i in 0..<4 { k[i] = k[i] * qpower + coefficients[i] }
    kk -= 1
  }
  let sqrt2pi = (2 * Double.pi).squareRoot()
  let divisors = [z, 6 * z4, 72 * z4 * z3, 6480 * z4 * z6]
  for i in 0..<4 { k[i] = k[i] * q * sqrt2pi / divisors[i] }
  q = exp(-pi2 / 2 / z2)
  var k2extra = 0.0, k3extra = 0.0
  let sqrt3z = 3.0.squareRoot() * z
  kk = maxk
  while kk >= 1 {
    let ks = Double(kk)
    let qp = pow(q, ks * ks)
    k2extra += ks * ks * qp
    let kspi = Double.pi * ks
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks * ks * qp
    kk -= 1
  }
  k[2] += k2extra * pi2 * sqrt2pi / (-36 * z3)
  k[3] += k3extra * pi2 * sqrt2pi / (216 * z6)
  let nd = Double(n)
  return k[0] + k[1] / nd.squareRoot() + k[2] / nd + k[3] / (nd * nd.squareRoot())
}
