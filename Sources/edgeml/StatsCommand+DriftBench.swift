import ArgumentParser
import DriftStatistics
import EdgeML
import KubeCore
#if canImport(Glibc)
import Glibc   // getrusage
#endif

/// `edgeml stats bench-evaluation`: what one DriftPolicy evaluation costs the controller — every
/// pod's `DriftSummaryReport` parsed from the bytes an agent sends, merged across pods, and every
/// feature tested and corrected — printed as JSON (docs/benchmarks.md; DESIGN.md §5's "1,000
/// features × 100 pods merged and tested"). Figures, not a pass/fail check.
struct StatsDriftBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-evaluation", abstract: "Time and memory of one DriftPolicy evaluation (features × pods).", shouldDisplay: false)

  @Option(help: "Features per report.") var features = 1000
  @Option(help: "Pods (agents) whose reports are merged.") var pods = 100
  @Option(help: "Observations per feature in each pod's window.") var observations = 1000
  @Option(help: "Distinct pod reports generated (the rest repeat them; each is still parsed and merged).") var distinct = 10
  @Option(help: "Evaluations timed.") var repeats = 3

  func run() throws {
    guard features > 0, pods > 0, observations > 0, distinct > 0, repeats > 0 else {
      throw ValidationError("every count must be positive")
    }
    // Inputs: the JSON bytes of `distinct` reports, as an agent's HTTP answer carries them. Odd
    // features numerical (N(0,1), the last pod shifted), even ones categorical over 8 values.
    var rng = SeededRandom(seed: 0x5EED)
    var policyFeatures: [DriftFeature] = []
    for f in 0..<features {
      policyFeatures.append(try ModelCoding.decode(DriftFeature.self, from: [
        "name": .string("f\(f)"), "type": f % 2 == 0 ? "categorical" : "numerical"]))
    }
    func summaries(shift: Double) throws -> [String: FeatureSummary] {
      var out: [String: FeatureSummary] = [:]
      for f in 0..<features {
        if f % 2 == 0 {
          var c = CategoricalCounts()
          try c.insert(contentsOf: (0..<observations).map { _ in "c\(rng.next() % 8)" })
          out["f\(f)"] = .categorical(c)
        } else {
          var s = KLLSketch()
          for _ in 0..<observations { try s.insert(rng.normal() + shift) }
          out["f\(f)"] = .numerical(s)
        }
      }
      return out
    }
    var bodies: [[UInt8]] = []
    for d in 0..<distinct {
      let report = DriftSummaryReport(source: "pod-\(d)", start: 0, end: 600, summaries: try summaries(shift: d == distinct - 1 ? 0.5 : 0))
      bodies.append(ModelCoding.encode(report).serialized())
    }
    let reference = try summaries(shift: 0)
    let bytesPerPod = bodies.map(\.count).reduce(0, +) / bodies.count

    var timings: [(parse: Double, merge: Double, test: Double)] = []
    var drifted = 0
    for _ in 0..<repeats {
      let clock = ContinuousClock()
      var reports: [DriftSummaryReport] = []
      reports.reserveCapacity(pods)
      let t0 = clock.now
      for p in 0..<pods { reports.append(try ModelCoding.decode(DriftSummaryReport.self, from: try JSONValue(parsing: bodies[p % distinct]))) }
      let t1 = clock.now
      let merged = try DriftData.merge(reports, features: policyFeatures)
      let t2 = clock.now
      let outcome = try DriftEvaluator.evaluate(features: policyFeatures, reference: reference, current: merged, minSamples: 1,
                                                correction: .bh, share: 0.5)
      let t3 = clock.now
      if case .decided(let results, _, _, _) = outcome { drifted = results.filter { $0.drifted == true }.count }
      timings.append(((t1 - t0).seconds, (t2 - t1).seconds, (t3 - t2).seconds))
    }
    let best = timings.min { $0.parse + $0.merge + $0.test < $1.parse + $1.merge + $1.test }!
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    let output: JSONValue = [
      "features": JSONValue(features), "pods": JSONValue(pods), "observationsPerPodFeature": JSONValue(observations),
      "reportBytesPerPod": JSONValue(bytesPerPod),
      "parseSeconds": JSONValue(best.parse), "mergeSeconds": JSONValue(best.merge), "testSeconds": JSONValue(best.test),
      "evaluationSeconds": JSONValue(best.parse + best.merge + best.test),
      "featuresDrifted": JSONValue(drifted),
      // Linux reports ru_maxrss in KiB.
      "peakRSSMiB": JSONValue(Double(usage.ru_maxrss) / 1024),
    ]
    print(output.serializedString())
  }
}

extension Duration {
  fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
