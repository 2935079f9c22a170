/// How `kolmogorovSmirnovTwoSample` computes its p-value (scipy's `method`).
public enum KolmogorovSmirnovMethod: String, Sendable, CaseIterable {
  /// Exact when both samples have at most 10 000 values, asymptotic otherwise (scipy's `MAX_AUTO_N`).
  case auto
  /// The exact null distribution by lattice-path counting; falls back to `asymp` when the sizes make
  /// it impossible (lcm(n₁, n₂) ≥ 2³¹) or it overflows, exactly when scipy does.
  case exact
  /// Two-sided: the finite-n Kolmogorov distribution at n = round(n₁n₂/(n₁+n₂));
  /// one-sided: Hodges' (1958) approximation, eq. 5.3.
  case asymp
}

/// The result of a two-sample Kolmogorov–Smirnov test, with scipy's `statistic_location`/`statistic_sign`.
public struct KolmogorovSmirnovResult: Sendable, Equatable {
  /// The KS statistic D (for the exact method, h/lcm(n₁, n₂) as scipy returns it).
  public var statistic: Double
  /// The p-value in [0, 1].
  public var pValue: Double
  /// The observation at which the empirical CDFs differ by `statistic`.
  public var statisticLocation: Double
  /// +1 when the reference ECDF is above the current one there, -1 otherwise.
  public var statisticSign: Int
  /// [n₁, n₂].
  public var sampleSizes: [Int]
  /// The method that produced the p-value after `auto` and any fallback were resolved.
  public var methodUsed: KolmogorovSmirnovMethod

  /// The statistic, p-value and sizes in the module's common shape.
  public var driftTestResult: DriftTestResult {
    DriftTestResult(statistic: statistic, pValue: pValue, sampleSizes: sampleSizes)
  }
}

/// The two-sample Kolmogorov–Smirnov test, matching `scipy.stats.ks_2samp` (statistic, location, sign
/// and p-value, ties included).
///
/// Each sample is copied once into a `ContiguousArray` of order-preserving integer keys (the IEEE-754
/// bit pattern with the sign handled, -0 folded into +0 so that they tie as numpy's comparisons do)
/// and radix-sorted (`radixSort`; the standard library sort below 4096 values); one merge pass over the two sorted arrays then evaluates both ECDFs at every distinct value (the
/// right-continuous ECDF, i.e. scipy's `searchsorted(side='right')`), so ties are handled exactly
/// and the cost is two sorts plus O(n₁+n₂).
///
/// - Parameters:
///   - reference: the first sample (scipy's `data1`); ±infinity is allowed, NaN is not.
///   - current: the second sample (`data2`).
///   - alternative: `greater` tests whether the reference ECDF lies above the current one somewhere.
///   - method: see `KolmogorovSmirnovMethod`.
/// - Returns: the statistic, p-value, location, sign and sizes.
/// - Throws: `DriftStatisticsError.emptySample` or `.notANumber`.
/// - Complexity: O(n log n) for the sorts; the exact p-value adds O(n₁·window) for unequal sizes.
public func kolmogorovSmirnovTwoSample(
  reference: some Collection<Double>, current: some Collection<Double>,
  alternative: Alternative = .twoSided, method: KolmogorovSmirnovMethod = .auto
) throws(DriftStatisticsError) -> KolmogorovSmirnovResult {
  // One bulk copy to a concrete array first: iterating `some Collection` element by element across
  // the module boundary is unspecialised and cost more than the sort itself on 1M values.
  let a = try sortedOrderKeys(ContiguousArray(reference), name: "reference")
  let b = try sortedOrderKeys(ContiguousArray(current), name: "current")
  let ecdf = maximalECDFDifferences(sortedReference: a, sortedCurrent: b)
  var d: Double, location: Double, sign: Int
  let minS = min(1, max(0, -ecdf.minimum))
  if alternative == .less || (alternative == .twoSided && minS > ecdf.maximum) {
    (d, location, sign) = (minS, ecdf.minimumLocation, -1)
  } else {
    (d, location, sign) = (ecdf.maximum, ecdf.maximumLocation, 1)
  }
  let p = kolmogorovSmirnovPValue(statistic: d, n1: a.count, n2: b.count, alternative: alternative, method: method)
  return KolmogorovSmirnovResult(statistic: p.statistic, pValue: p.pValue, statisticLocation: location,
                                 statisticSign: sign, sampleSizes: [a.count, b.count], methodUsed: p.method)
}

/// The largest and smallest ECDF difference F₁ - F₂ over the pooled observations, with the first
/// pooled position (reference values before current ones, as scipy's concatenation) attaining each.
struct ECDFExtremes {
  var maximum = -Double.infinity
  var maximumLocation = Double.nan
  var minimum = Double.infinity
  var minimumLocation = Double.nan
}

func maximalECDFDifferences(sortedReference a: ContiguousArray<UInt64>, sortedCurrent b: ContiguousArray<UInt64>) -> ECDFExtremes {
  let n1 = a.count, n2 = b.count
  let n1d = Double(n1), n2d = Double(n2)
  var result = ECDFExtremes()
  // Locations are tracked separately for values present in each sample: scipy's argmax runs over
  // concat(sorted data1, sorted data2), so a reference value wins over any current value.
  var maxInA: UInt64? = nil, maxInB: UInt64? = nil, minInA: UInt64? = nil, minInB: UInt64? = nil
  a.withUnsafeBufferPointer { pa in
    b.withUnsafeBufferPointer { pb in
      var i = 0, j = 0
      while i < n1 || j < n2 {
        let v = (j >= n2 || (i < n1 && pa[i] <= pb[j])) ? pa[i] : pb[j]
        let i0 = i, j0 = j
        while i < n1 && pa[i] == v { i += 1 }
        while j < n2 && pb[j] == v { j += 1 }
        let inA = i > i0, inB = j > j0
        let diff = Double(i) / n1d - Double(j) / n2d
        if diff > result.maximum {
          result.maximum = diff
          maxInA = inA ? v : nil
          maxInB = inB ? v : nil
        } else if diff == result.maximum {
          if inA && maxInA == nil { maxInA = v }
          if inB && maxInB == nil { maxInB = v }
        }
        if diff < result.minimum {
          result.minimum = diff
          minInA = inA ? v : nil
          minInB = inB ? v : nil
        } else if diff == result.minimum {
          if inA && minInA == nil { minInA = v }
          if inB && minInB == nil { minInB = v }
        }
      }
    }
  }
  result.maximumLocation = (maxInA ?? maxInB).map(doubleFromOrderKey) ?? .nan
  result.minimumLocation = (minInA ?? minInB).map(doubleFromOrderKey) ?? .nan
  return result
}

/// The sample as sorted order-preserving keys; throws on an empty sample or NaN.
func sortedOrderKeys(_ values: ContiguousArray<Double>, name: String) throws(DriftStatisticsError) -> ContiguousArray<UInt64> {
  if values.isEmpty { throw .emptySample(name: name) }
  var sawNaN = false
  var keys = ContiguousArray<UInt64>(unsafeUninitializedCapacity: values.count) { buffer, initialized in
    values.withUnsafeBufferPointer { source in
      for (i, v) in source.enumerated() {
        sawNaN = sawNaN || v.isNaN
        buffer[i] = orderKey(v)
      }
    }
    initialized = values.count
  }
  if sawNaN { throw .notANumber(name: name) }
  radixSort(&keys)
  return keys
}

/// A UInt64 whose unsigned order is the numeric order of `x` (not NaN); -0 and +0 share a key.
@inline(__always) func orderKey(_ x: Double) -> UInt64 {
  let bits = (x + 0.0).bitPattern      // x + 0.0 turns -0.0 into +0.0
  return bits >> 63 == 0 ? bits | (1 << 63) : ~bits
}

@inline(__always) func doubleFromOrderKey(_ key: UInt64) -> Double {
  Double(bitPattern: key >> 63 == 1 ? key & ~(1 << 63) : ~key)
}

/// The p-value of a two-sample KS statistic `d` for sizes n₁, n₂, following `ks_2samp`'s choice of
/// method; also returns the statistic as scipy reports it (rounded to h/lcm by the exact method).
func kolmogorovSmirnovPValue(
  statistic: Double, n1: Int, n2: Int, alternative: Alternative, method: KolmogorovSmirnovMethod
) -> (statistic: Double, pValue: Double, method: KolmogorovSmirnovMethod) {
  var d = statistic
  let g = greatestCommonDivisor(n1, n2)
  let n1g = n1 / g, n2g = n2 / g
  var mode = method
  if mode == .auto {
    mode = max(n1, n2) <= 10_000 ? .exact : .asymp
  } else if mode == .exact && Double(n1g) >= Double(Int32.max) / Double(n2g) {
    mode = .asymp
  }
  if mode == .exact {
    let attempt = exactKolmogorovSmirnovPValue(n1: n1, n2: n2, g: g, d: d, alternative: alternative)
    d = attempt.d
    if let p = attempt.pValue { return (d, clampProbability(p), .exact) }
    mode = .asymp
  }
  let m = Double(max(n1, n2)), n = Double(min(n1, n2))
  let en = m * n / (m + n)
  let p: Double
  if alternative == .twoSided {
    let effectiveN = Int(en.rounded(.toNearestOrEven))
    // n₁ = n₂ = 1 gives round(0.5) = 0, where scipy's kstwo is undefined (NaN); we report the
    // only honest value for a single pair of observations.
    p = effectiveN >= 1 ? KolmogorovDistribution.sf(d, n: effectiveN) : 1
  } else {
    let z = en.squareRoot() * d
    let exponent = -2 * z * z - 2 * z * (m + 2 * n) / (m * n * (m + n)).squareRoot() / 3.0
    p = exp(exponent)
  }
  return (d, clampProbability(p), .asymp)
}

func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int {
  var (x, y) = (a, b)
  while y != 0 { (x, y) = (y, x % y) }
  return x
}
