import Testing
@testable import DriftStatistics

@Test("A sketch's measured rank error is its largest CDF distance from the data, at every rank")
func maximumRankErrorIsTheLargestDistance() throws {
  // Four values, the sketch keeping 1 and 3 at weight 2: F̂ = 0, ½, ½, 1 and F = ¼, ½, ¾, 1 at
  // x = 0, 1, 2, 3 (data 0…3): the largest distance is ¼, at 0 and at 2.
  let halved = KLLSketch(k: 8, count: 4, minimum: 0, maximum: 3, levels: [[], [1, 3]], coinState: 0)
  #expect(try halved.maximumRankError(againstSorted: [0, 1, 2, 3]) == 0.25)
  // Ties count once, at their last rank: data 1, 1, 1, 5 against a sketch keeping 1 (weight 2) and 5, 1.
  let tied = KLLSketch(k: 8, count: 4, minimum: 1, maximum: 5, levels: [[1, 5], [1]], coinState: 0)
  #expect(try tied.maximumRankError(againstSorted: [1, 1, 1, 5]) == 0)
  // A sketch that kept every value has no error; the data must be the sketch's.
  var exact = KLLSketch(k: 8, seed: 1)
  try exact.insert(contentsOf: [3, 1, 2])
  #expect(try exact.maximumRankError(againstSorted: [1, 2, 3]) == 0)
  #expect(throws: DriftStatisticsError.lengthMismatch(expected: 3, actual: 2)) { try exact.maximumRankError(againstSorted: [1, 2]) }
}

@Test("A merge trial is reproducible from its seed and measures all the pods' values")
func mergeTrialIsReproducible() throws {
  let trial = KLLMergeTrial(k: 64, pods: 7)
  let a = try trial.run(seed: 3), b = try trial.run(seed: 3), c = try trial.run(seed: 4)
  #expect(a.sketch == b.sketch && a.maximumRankError == b.maximumRankError)
  #expect(a.sketch != c.sketch)
  // Pods hold 1,000 + 20·p values.
  #expect(a.sortedValues.count == (0..<7).map { 1_000 + 20 * $0 }.reduce(0, +))
  #expect(a.sketch.count == a.sortedValues.count)
  #expect(throws: DriftStatisticsError.self) { try KLLMergeTrial(pods: 0).run(seed: 1) }
}

/// `KLLMergeTrial` seeds (k = 400, 100 pods' sketches merged into the first, as the controller
/// merges answers): the first three, and 6, 29 and 43, which exceeded ε = 0.0068 with the eager
/// compaction of before 2026-12-07 (17 of seeds 1-200 did; docs/drift-statistics.md), so the test
/// fails on it.
@Test("Sketches of 100 pods merged stay within the stated rank error, with exact count, minimum and maximum",
      arguments: [1, 2, 3, 6, 29, 43] as [UInt64])
func hundredPodsMergedWithinBound(seed: UInt64) throws {
  let outcome = try KLLMergeTrial().run(seed: seed)
  let sketch = outcome.sketch
  #expect(outcome.maximumRankError <= KLLSketch.normalizedRankError(k: 400), "seed \(seed): worst rank error \(outcome.maximumRankError)")
  #expect(sketch.count == outcome.sortedValues.count)
  #expect(sketch.minimum == outcome.sortedValues.first && sketch.maximum == outcome.sortedValues.last)
  // Bounded whatever the number of pods: the total capacity, under 3k + 8 per level, not the 199,000 merged.
  #expect(sketch.retainedCount < 3 * sketch.k + 8 * sketch.levelCount)
}

@Test("The order of the merges does not matter: every order summarises the same values within ε")
func mergeOrderDoesNotMatter() throws {
  let epsilon = KLLSketch.normalizedRankError(k: 400)
  var sketches: [KLLSketch] = []
  for order in KLLMergeTrial.Order.allCases {
    let outcome = try KLLMergeTrial(order: order).run(seed: 21)
    #expect(outcome.maximumRankError <= epsilon, "\(order): worst rank error \(outcome.maximumRankError)")
    sketches.append(outcome.sketch)
  }
  // The same 199,000 values, whichever way they were merged.
  #expect(Set(sketches.map(\.count)).count == 1)
  #expect(Set(sketches.map(\.minimum)).count == 1 && Set(sketches.map(\.maximum)).count == 1)
  // Different coins, so different retained values — but the same distribution to within 2ε.
  for x in stride(from: -4.0, through: 4.0, by: 0.25) {
    let cdfs = sketches.map { $0.cdf(x) }
    #expect(cdfs.max()! - cdfs.min()! <= 2 * epsilon, "x = \(x): \(cdfs)")
  }
}

@Test("Merging an empty sketch changes nothing; merging into an empty sketch gives the other's summary")
func mergingEmptySketches() throws {
  var sketch = KLLSketch(k: 400, seed: 1)
  try sketch.insert(contentsOf: (0..<10_000).map { Double(($0 * 7_919) % 10_007) })
  let before = sketch
  try sketch.merge(KLLSketch(k: 400, seed: 2))
  #expect(sketch == before)
  var empty = KLLSketch(k: 400, seed: 3)
  try empty.merge(before)
  #expect(empty.levelValues == before.levelValues)
  #expect(empty.count == before.count && empty.minimum == before.minimum && empty.maximum == before.maximum)
  var nothing = KLLSketch(k: 400, seed: 4)
  try nothing.merge(KLLSketch(k: 400, seed: 5))
  #expect(nothing.count == 0 && nothing.retainedCount == 0 && nothing.quantile(0.5) == nil && nothing.minimum == .infinity)
  // An empty sketch of another k is still another k.
  #expect(throws: DriftStatisticsError.self) { try sketch.merge(KLLSketch(k: 200)) }
}

@Test("A sketch never retains more than its total capacity, inserting or merging, at any k", arguments: [8, 50, 400, 1_000])
func retainedStaysWithinCapacity(k: Int) throws {
  var stream = SeededRandom(seed: UInt64(k))
  var merged = KLLSketch(k: k, seed: 1)
  for pod in 0..<30 {
    var part = KLLSketch(k: k, seed: 100 + UInt64(pod))
    for i in 0..<(500 * (pod + 1)) {
      try part.insert(stream.normal(mean: Double(pod % 3)))
      if i % 97 == 0 { #expect(part.retainedCount <= totalCapacity(part)) }
    }
    try merged.merge(part)
    #expect(merged.retainedCount <= totalCapacity(merged))
  }
  #expect(merged.retainedCount < 3 * k + 8 * merged.levelCount)
}

@Test("Level capacities are DataSketches' max(8, k·(2/3)^depth rounded to nearest), computed exactly")
func levelCapacities() {
  // k = 200, DataSketches' default: 200·(2/3)^d = 200, 133.3, 88.9, 59.3, 39.5, 26.3, 17.6, 11.7, 7.8, 5.2.
  #expect(KLLSketch.levelCapacities(k: 200, levelCount: 10) == [8, 8, 12, 18, 26, 40, 59, 89, 133, 200])
  // 9·(2/3)² is exactly 4: no floating-point rounding to 5; the floor of 8 applies.
  #expect(KLLSketch.levelCapacity(k: 9, depth: 2) == 8 && KLLSketch.levelCapacity(k: 81, depth: 4) == 16)
  #expect(KLLSketch.levelCapacity(k: 400, depth: 63) == 8 && KLLSketch.levelCapacity(k: 400, depth: 200) == 8)
}

/// The sum of a sketch's level capacities for the levels it has.
private func totalCapacity(_ s: KLLSketch) -> Int { KLLSketch.levelCapacities(k: s.k, levelCount: s.levelCount).reduce(0, +) }
