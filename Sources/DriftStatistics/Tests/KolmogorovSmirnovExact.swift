// Exact null distribution of the two-sample Kolmogorov–Smirnov statistic by lattice-path counting.
//
// Algorithms: Hodges, J. L. Jr., "The significance probability of the Smirnov two-sample test",
// Arkiv för Matematik 3(43), 469–486 (1958), following Drion, Gnedenko and Korolyuk; the recursion for
// 1 - p in the "inside" method is Viehmann, T., "Numerically more stable computation of the p-values
// for the two-sample Kolmogorov–Smirnov test", arXiv:2102.08037 (2021). The windowing, the equal-size
// Horner form and the fallback rules are those of scipy 1.17's `_attempt_exact_2kssamp`,
// `_compute_prob_outside_square`, `_count_paths_outside_method` (scipy/stats/_stats_py.py) and
// `_compute_outer_prob_inside_method` (scipy/stats/_stats_pythran.py), reimplemented here.

/// Returns the exact p-value (nil when the computation is impossible in doubles, as scipy signals with
/// a floating-point error) and the statistic rounded to the lattice, h/lcm(n₁, n₂).
func exactKolmogorovSmirnovPValue(n1: Int, n2: Int, g: Int, d: Double, alternative: Alternative) -> (d: Double, pValue: Double?) {
  let lcm = (n1 / g) * n2
  let h = Int((d * Double(lcm)).rounded(.toNearestOrEven))
  let dRounded = Double(h) / Double(lcm)
  if h == 0 { return (dRounded, 1) }
  var prob: Double
  if alternative == .twoSided {
    prob = n1 == n2 ? probabilityOutsideSquare(n: n1, h: h) : outerProbabilityInside(m: n1, n: n2, g: g, h: h)
  } else if n1 == n2 {
    // binom(2n, n-h)/binom(2n, n) as a product, which avoids the rounding of two huge binomials.
    prob = 1
    for j in 0..<h { prob *= Double(n1 - j) / (Double(n1 + j) + 1.0) }
  } else {
    guard let paths = countPathsOutside(m: n1, n: n2, g: g, h: h) else { return (dRounded, nil) }
    let total = binomialCoefficient(Double(n1 + n2), Double(n1))
    if paths > total || !total.isFinite { return (dRounded, nil) }
    prob = paths / total
  }
  guard prob.isFinite, prob >= 0, prob <= 1 else { return (dRounded, nil) }
  return (dRounded, prob)
}

/// Pr(D_{n,n} ≥ h/n) = 2 Σ_k (-1)^{k-1} C(2n, n-kh)/C(2n, n), evaluated as 2·A₀(1 - A₁(1 - A₂(…)))
/// so the alternating sum never cancels.
func probabilityOutsideSquare(n: Int, h: Int) -> Double {
  var p = 0.0
  var k = n / h
  while k >= 0 {
    var p1 = 1.0
    for j in 0..<h {
      p1 = Double(n - k * h - j) * p1 / Double(n + k * h + j + 1)
    }
    p = p1 * (1.0 - p)
    k -= 1
  }
  return 2 * p
}

/// The proportion of lattice paths from (0,0) to (m,n) that leave the band |x/m - y/n| < h/lcm, by the
/// column-by-column "inside" recursion carried out on 1 - proportion (Viehmann's stable form).
func outerProbabilityInside(m mIn: Int, n nIn: Int, g: Int, h: Int) -> Double {
  let (m, n) = mIn >= nIn ? (mIn, nIn) : (nIn, mIn)
  let mg = m / g, ng = n / g
  let hd = Double(h), mgd = Double(mg), ngd = Double(ng)
  var minj = 0
  var maxj = min(Int((hd / mgd).rounded(.up)), n + 1)
  var curlen = maxj - minj
  let lenA = min(2 * maxj + 2, n + 1)
  var a = ContiguousArray<Double>(repeating: 1, count: lenA)
  for idx in minj..<min(maxj, lenA) { a[idx] = 0 }
  for i in 1...m {
    let lastminj = minj, lastlen = curlen
    minj = max(Int(((ngd * Double(i) - hd) / mgd).rounded(.down)) + 1, 0)
    minj = min(minj, n)
    maxj = min(Int(((ngd * Double(i) + hd) / mgd).rounded(.up)), n + 1)
    if maxj <= minj { return 1.0 }
    var val = minj == 0 ? 0.0 : 1.0
    let di = Double(i)
    for jj in 0..<(maxj - minj) {
      let j = jj + minj
      val = (a[jj + minj - lastminj] * di + val * Double(j)) / (di + Double(j))
      a[jj] = val
    }
    curlen = maxj - minj
    if lastlen > curlen {
      let from = maxj - minj
      for idx in from..<min(from + (lastlen - curlen), lenA) { a[idx] = 1 }
    }
  }
  return a[maxj - minj - 1]
}

/// The number of lattice paths from (0,0) to (m,n) that touch m·y ≤ n·x - h·g (one-sided exceedance),
/// Hodges' first-passage decomposition; nil when the count overflows a double.
func countPathsOutside(m mIn: Int, n nIn: Int, g: Int, h: Int) -> Double? {
  let (m, n) = mIn >= nIn ? (mIn, nIn) : (nIn, mIn)
  let mg = m / g, ng = n / g
  let lxj = n + floorDivide(mg - h, mg)
  if lxj <= 0 { return binomialCoefficient(Double(m + n), Double(n)) }
  var xj = [Int](repeating: 0, count: lxj)
  for j in 0..<lxj { xj[j] = floorDivide(h + mg * j + ng - 1, ng) }
  var b = [Double](repeating: 0, count: lxj)
  b[0] = 1
  for j in 1..<max(lxj, 1) {
    var bj = binomialCoefficient(Double(xj[j] + j), Double(j))
    for i in 0..<j {
      bj -= binomialCoefficient(Double(xj[j] - xj[i] + j - i), Double(j - i)) * b[i]
    }
    guard bj.isFinite else { return nil }
    b[j] = bj
  }
  var paths = 0.0
  for j in 0..<lxj {
    paths += b[j] * binomialCoefficient(Double(m - xj[j] + n - j), Double(n - j))
  }
  return paths.isFinite ? paths : nil
}

/// ⌊a/b⌋ for b > 0, rounding toward -∞ as Python's `//` does.
@inline(__always) func floorDivide(_ a: Int, _ b: Int) -> Int {
  let q = a / b
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// C(n, k) for integral n ≥ 0 and k, as `scipy.special.binom` evaluates it: the multiplicative
/// formula when min(k, n-k) < 20 (exact for results below 2⁵³), otherwise through log-gamma.
func binomialCoefficient(_ n: Double, _ k: Double) -> Double {
  if k < 0 || k > n { return 0 }
  var kx = k
  if kx > n / 2 && n > 0 { kx = n - kx }
  if kx < 20 {
    var num = 1.0, den = 1.0
    var i = 1.0
    while i <= kx {
      num *= i + n - kx
      den *= i
      if num.magnitude > 1e50 { num /= den; den = 1 }
      i += 1
    }
    return num / den
  }
  return exp(logGamma(n + 1) - logGamma(kx + 1) - logGamma(n - kx + 1))
}
