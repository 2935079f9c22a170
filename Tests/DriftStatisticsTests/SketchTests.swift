import Testing
@testable import DriftStatistics

/// A deterministic pseudo-normal stream (SplitMix64 + Box–Muller), so tests need no global RNG.
struct TestStream {
  var state: UInt64
  mutating func uniform() -> Double {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
  }
  mutating func normal(mean: Double = 0, sd: Double = 1) -> Double {
    let u = max(uniform(), 1e-300), v = uniform()
    return mean + sd * (-2 * log(u)).squareRoot() * cosOf(2 * Double.pi * v)
  }
  private func cosOf(_ x: Double) -> Double { 1 - 2 * sinHalfSquared(x) }
  private func sinHalfSquared(_ x: Double) -> Double {   // sin²(x/2) by its Taylor series after range reduction
    var y = x / 2
    y -= (y / Double.pi).rounded() * Double.pi
    var term = y, sum = y
    for n in 1..<12 { term *= -y * y / Double((2 * n) * (2 * n + 1)); sum += term }
    return sum * sum
  }
}

private func sample(_ n: Int, seed: UInt64, mean: Double = 0) -> [Double] {
  var stream = TestStream(state: seed)
  return (0..<n).map { _ in stream.normal(mean: mean) }
}

private func sketch(_ values: [Double], pods: Int = 1, seed: UInt64 = 1) throws -> KLLSketch {
  // Sketch in `pods` parts and merge, as the controller merges sketches from inference pods.
  var merged = KLLSketch(seed: seed)
  let chunk = (values.count + pods - 1) / pods
  for p in 0..<pods {
    var part = KLLSketch(seed: seed &+ UInt64(p) &* 7919)
    try part.insert(contentsOf: values[min(p * chunk, values.count)..<min((p + 1) * chunk, values.count)])
    try merged.merge(part)
  }
  return merged
}

@Test("A KLL sketch of 1 M values stays under 64 KiB and within its stated rank error")
func sketchOfAMillionValues() throws {
  let values = sample(1_000_000, seed: 42)
  let s = try sketch(values, pods: 8)
  #expect(s.count == 1_000_000)
  #expect(s.serializedBytes < 64 * 1024)
  #expect(s.serialized().count == s.serializedBytes)
  let bound = KLLSketch.normalizedRankError(k: s.k)
  let worst = try s.maximumRankError(againstSorted: values.sorted())
  #expect(worst <= bound, "worst rank error \(worst) > bound \(bound)")
  #expect(s.retainedCount < 3 * s.k + 8 * s.levelCount)
}

@Test("Sketches made without a seed flip independent coins, and a seed makes a sketch reproducible")
func sketchSeeds() throws {
  let values = sample(5_000, seed: 9)
  var a = KLLSketch(), b = KLLSketch()
  try a.insert(contentsOf: values)
  try b.insert(contentsOf: values)
  // Different coins give different retained values for the same input (2⁻⁶⁴ odds of the same seed).
  #expect(a.coinState != b.coinState)
  #expect(a.levelValues != b.levelValues)
  var c = KLLSketch(seed: 5), d = KLLSketch(seed: 5)
  try c.insert(contentsOf: values)
  try d.insert(contentsOf: values)
  #expect(c == d)
}

@Test("A sketch survives serialisation byte for byte")
func sketchRoundTrips() throws {
  let s = try sketch(sample(50_000, seed: 3), pods: 3)
  let restored = try KLLSketch(serialized: s.serialized())
  #expect(restored == s)
  #expect(throws: DriftStatisticsError.self) { _ = try KLLSketch(serialized: Array(s.serialized().dropLast())) }
}

@Test("KS on merged sketches is within ε_ref + ε_cur of KS on the raw samples", arguments: [0.0, 0.05, 0.2])
func kolmogorovSmirnovOnSketches(shift: Double) throws {
  let a = sample(200_000, seed: 11), b = sample(150_000, seed: 12, mean: shift)
  let exact = try kolmogorovSmirnovTwoSample(reference: a, current: b)
  let sa = try sketch(a, pods: 4, seed: 5), sb = try sketch(b, pods: 3, seed: 6)
  let approx = try kolmogorovSmirnovTwoSample(reference: sa, current: sb)
  let bound = 2 * KLLSketch.normalizedRankError(k: sa.k)
  #expect((approx.statistic - exact.statistic).magnitude <= bound)
  if shift >= 0.2 { #expect((approx.pValue ?? 1) < 1e-10) }
}

@Test("PSI on sketches stays within 0.01 of PSI on the raw samples", arguments: [0.0, 0.1, 0.5])
func psiOnSketches(shift: Double) throws {
  let a = sample(100_000, seed: 21), b = sample(80_000, seed: 22, mean: shift)
  let exact = try populationStabilityIndex(reference: a, current: b)
  let approx = try populationStabilityIndex(reference: try sketch(a, pods: 5), current: try sketch(b, pods: 2))
  #expect((approx.statistic - exact.statistic).magnitude < 0.01, "\(approx.statistic) vs \(exact.statistic)")
}

@Test("Merged fixed-bin histograms give exactly the PSI of the pooled data")
func histogramsMergeExactly() throws {
  let reference = sample(10_000, seed: 31), current = sample(8_000, seed: 32, mean: 0.3)
  let histogram = try quantileHistograms(reference: reference, current: current, bins: 10)
  var merged = try FixedBinHistogram(edges: histogram.edges)
  for part in stride(from: 0, to: current.count, by: 1000) {
    var pod = try FixedBinHistogram(edges: histogram.edges)
    try pod.insert(contentsOf: current[part..<min(part + 1000, current.count)])
    try merged.merge(pod)
  }
  #expect(merged.counts == histogram.current)
  let fromHistogram = populationStabilityIndex(referenceCounts: histogram.reference, currentCounts: merged.counts)
  #expect(fromHistogram == (try populationStabilityIndex(reference: reference, current: current).statistic))
}

@Test("Categorical counts merge and align over the union of categories")
func categoricalCountsMerge() throws {
  var a = CategoricalCounts(), b = CategoricalCounts(), c = CategoricalCounts()
  try a.insert(contentsOf: ["x", "y", "x"])
  try b.insert(contentsOf: ["y", "z"])
  try a.merge(b)
  try c.insert(contentsOf: ["w"])
  let aligned = CategoricalCounts.aligned(a, c)
  #expect(aligned.categories == ["w", "x", "y", "z"])
  #expect(aligned.reference == [0, 2, 2, 1])
  #expect(aligned.current == [1, 0, 0, 0])
}

@Test("Radix-sorted order keys sort doubles like the standard library, -0 tying with +0", arguments: [10, 5000, 100_000])
func radixSortMatchesStandardSort(count: Int) throws {
  var stream = TestStream(state: UInt64(count))
  var values = (0..<count).map { i in i % 7 == 0 ? Double(i % 3) : stream.normal() * 1e3 }
  values += [-0.0, 0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude]
  let keys = try sortedOrderKeys(ContiguousArray(values), name: "test")
  let expected = values.sorted()
  #expect(keys.map(doubleFromOrderKey) == expected.map { $0 + 0.0 })
}
