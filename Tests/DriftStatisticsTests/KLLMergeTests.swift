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
