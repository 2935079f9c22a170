import ArgumentParser
import DriftStatistics
import KubeCore

/// `edgeml stats bench-sketch-merge`: how often sketches merged from many pods exceed the stated
/// rank error ε = `KLLSketch.normalizedRankError(k:)`, over many trials (`KLLMergeTrial`) — the
/// empirical check behind docs/drift-statistics.md's merged bound. Figures, not a pass/fail check:
/// the stated ε is a 99th percentile, so about 1% of trials over it is what the claim allows.
struct StatsSketchMergeBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-sketch-merge", abstract: "Rank error of KLL sketches merged from many pods, over many trials.",
    shouldDisplay: false)

  @Option(help: "Trials (each one new data and new coins).") var trials = 200
  @Option(help: "Sketches merged per trial.") var pods = 100
  @Option(help: "KLL accuracy parameter.") var k = 400
  @Option(help: "Seed of the first trial; trial t uses seed + t.") var seed = 1
  @Option(help: "Merge order: first (into the first pod's sketch, as the controller does), empty, reversed or pairwise.")
  var order = "first"

  func validate() throws {
    guard trials > 0, pods > 0 else { throw ValidationError("--trials and --pods must be positive") }
    guard (8...100_000).contains(k) else { throw ValidationError("--k must be from 8 to 100000") }
    guard seed >= 0, seed <= Int.max - trials else { throw ValidationError("--seed must be from 0 to \(Int.max - trials)") }
    guard KLLMergeTrial.Order(rawValue: order) != nil else {
      throw ValidationError("--order must be one of \(KLLMergeTrial.Order.allCases.map(\.rawValue).joined(separator: ", "))")
    }
  }

  func run() throws {
    let order = KLLMergeTrial.Order(rawValue: order) ?? .intoFirst   // checked in validate()
    let trial = KLLMergeTrial(k: k, pods: pods, order: order)
    let epsilon = KLLSketch.normalizedRankError(k: k)
    let clock = ContinuousClock()
    let start = clock.now
    var errors: [Double] = []
    var overSeeds: [Int] = []
    var retained = 0, levels = 0, values = 0
    for trialSeed in seed..<(seed + trials) {
      let outcome = try trial.run(seed: UInt64(trialSeed))
      errors.append(outcome.maximumRankError)
      if outcome.maximumRankError > epsilon { overSeeds.append(trialSeed) }
      retained = max(retained, outcome.sketch.retainedCount)
      levels = max(levels, outcome.sketch.levelCount)
      values = outcome.sketch.count
    }
    let elapsed = clock.now - start
    errors.sort()
    // Nearest-rank percentile.
    func percentile(_ p: Double) -> Double { errors[max(0, Int((p * Double(errors.count)).rounded(.up)) - 1)] }
    let output: JSONValue = [
      "k": JSONValue(k), "epsilon": JSONValue(epsilon), "trials": JSONValue(trials), "pods": JSONValue(pods),
      "valuesPerTrial": JSONValue(values), "order": .string(order.rawValue),
      "overEpsilon": JSONValue(overSeeds.count), "overFraction": JSONValue(Double(overSeeds.count) / Double(trials)),
      "overSeeds": .array(overSeeds.prefix(20).map { JSONValue($0) }),
      "maximumRankError": ["p50": JSONValue(percentile(0.5)), "p90": JSONValue(percentile(0.9)),
                           "p99": JSONValue(percentile(0.99)), "max": JSONValue(errors.last ?? 0)],
      "retainedMax": JSONValue(retained), "levelsMax": JSONValue(levels),
      "seconds": JSONValue(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18),
    ]
    print(output.serializedString())
  }
}
