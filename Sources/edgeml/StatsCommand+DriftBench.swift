import ArgumentParser
import DriftStatistics
import EdgeML
import KubeCore
#if canImport(Glibc)
import Glibc   // getrusage
#endif

/// `edgeml stats bench-evaluation`: what one DriftPolicy evaluation costs the controller — every
/// pod's `DriftSummaryReport` parsed from the bytes an agent sends and merged as it arrives, through
/// the controller's own path (`DriftIO.forEachAnswer`, `SummaryMerge`), and every feature tested and
/// corrected — printed as JSON (docs/benchmarks.md; DESIGN.md §5's "1,000 features × 100 pods merged
/// and tested"). Figures, not a pass/fail check.
struct StatsDriftBenchCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench-evaluation", abstract: "Time and memory of one DriftPolicy evaluation (features × pods).", shouldDisplay: false)

  @Option(help: "Features per report.") var features = 1000
  @Option(help: "Pods (agents) whose reports are merged.") var pods = 100
  @Option(help: "Observations per feature in each pod's window.") var observations = 1000
  @Option(help: "Distinct pod reports generated (the rest repeat them; each is still parsed and merged).") var distinct = 10
  @Option(help: "Evaluations timed.") var repeats = 3
  @Option(help: "Answers parsed at once, as the controller scrapes agents (its default).") var inFlight = DriftIO.scrapeConcurrency

  func run() async throws {
    guard features > 0, pods > 0, observations > 0, distinct > 0, repeats > 0, inFlight > 0 else {
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

    // Parse time is summed over the answers (parsed `inFlight` at once, as the controller's
    // scrapes do); merge time is the time spent merging answers as they arrive (serial); gather
    // is the wall time of both together, what the controller waits for.
    var timings: [(parse: Double, merge: Double, gather: Double, test: Double)] = []
    var drifted = 0
    let answers = Array(0..<pods)
    for _ in 0..<repeats {
      let clock = ContinuousClock()
      var parseSeconds = 0.0
      var mergeSeconds = 0.0
      var merge = SummaryMerge(features: policyFeatures)
      var failure: (any Error)?
      let t0 = clock.now
      await DriftIO.forEachAnswer(answers, concurrency: inFlight, scrape: { [bodies] p -> (Result<DriftSummaryReport, any Error>, Double) in
        let start = ContinuousClock.now
        let report = Result { () throws -> DriftSummaryReport in try DriftSummaryReport(json: try JSONValue(parsing: bodies[p % bodies.count])) }
        return (report, (ContinuousClock.now - start).seconds)
      }) { _, answer in
        parseSeconds += answer.1
        let start = clock.now
        do { try merge.add(try answer.0.get()) } catch {
          failure = error
          return false
        }
        mergeSeconds += (clock.now - start).seconds
        return true
      }
      let t1 = clock.now
      if let failure { throw failure }
      let outcome = try DriftEvaluator.evaluate(features: policyFeatures, reference: reference, current: merge.summaries, minSamples: 1,
                                                correction: .bh, share: 0.5)
      let t2 = clock.now
      if case .decided(let results, _, _, _) = outcome { drifted = results.filter { $0.drifted == true }.count }
      timings.append((parseSeconds, mergeSeconds, (t1 - t0).seconds, (t2 - t1).seconds))
    }
    let best = timings.min { $0.gather + $0.test < $1.gather + $1.test }!
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    let output: JSONValue = [
      "features": JSONValue(features), "pods": JSONValue(pods), "observationsPerPodFeature": JSONValue(observations),
      "reportBytesPerPod": JSONValue(bytesPerPod), "answersInFlight": JSONValue(inFlight),
      "parseSeconds": JSONValue(best.parse), "mergeSeconds": JSONValue(best.merge),
      "parseAndMergeSeconds": JSONValue(best.gather), "testSeconds": JSONValue(best.test),
      "evaluationSeconds": JSONValue(best.gather + best.test),
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
