import DriftStatistics
import Foundation
import KubeCore
import Synchronization
import Testing
@testable import EdgeML

/// The controller merges every agent's answer as it arrives (`DriftIO.forEachAnswer`, `SummaryMerge`)
/// instead of holding all of them: same result, bounded memory.
@Suite("Drift summaries merged as agents answer")
struct SummaryMergeTests {
  /// `pods` agents' answers as the bytes they send; the last third drifted (brightness shifted,
  /// labels biased).
  static func answers(pods: Int, observations: Int = 400) throws -> [[UInt8]] {
    var rng = SeededRandom(seed: 0xD51F7)
    return try (0..<pods).map { p in
      let drifted = p >= pods * 2 / 3
      let summaries = try DriftFixtures.summaries(&rng, n: observations, shift: drifted ? 0.4 : 0, labelBias: drifted ? 0.1 : 0)
      return ModelCoding.encode(DriftSummaryReport(source: "pod-\(p)", start: 0, end: 600, summaries: summaries)).serialized()
    }
  }

  static func parse(_ bytes: [UInt8]) throws -> DriftSummaryReport { try DriftSummaryReport(json: try JSONValue(parsing: bytes)) }

  @Test("Merging each agent's answer as it arrives gives the same statistics and p-values as merging all answers at once")
  func incrementalEqualsAllAtOnce() async throws {
    let policy = try DriftFixtures.policy()
    let features = policy.spec.features
    let bodies = try Self.answers(pods: 30)
    var rng = SeededRandom(seed: 7)
    let reference = try DriftFixtures.summaries(&rng, n: 2000)

    // As the controller does: 4 answers in flight, arriving in whatever order the scrapes finish.
    var merge = SummaryMerge(features: features)
    var arrival: [Int] = []
    await DriftIO.forEachAnswer(Array(bodies.indices), concurrency: 4, scrape: { p -> Result<DriftSummaryReport, any Error> in
      for _ in 0..<(p * 7 % 5) { await Task.yield() }   // uneven answer times: out-of-order arrival
      return Result { try Self.parse(bodies[p]) }
    }) { p, answer in
      arrival.append(p)
      do { try merge.add(try answer.get()) } catch { Issue.record("answer \(p) was not merged: \(error)") }
      return true
    }
    #expect(arrival.sorted() == Array(bodies.indices))   // every answer, once
    #expect(merge.reports == 30)

    // All at once, in the same order: every report held, then merged feature by feature.
    var held: [[String: FeatureSummary]] = []
    for p in arrival { held.append(try Self.parse(bodies[p]).summaries()) }
    var allAtOnce: [String: FeatureSummary] = [:]
    for summaries in held {
      for (name, summary) in summaries {
        if let existing = allAtOnce[name] {
          var combined = existing
          try combined.merge(summary)
          allAtOnce[name] = combined
        } else {
          allAtOnce[name] = summary
        }
      }
    }
    #expect(merge.summaries == allAtOnce)
    #expect(try DriftData.merge(arrival.map { try Self.parse(bodies[$0]) }, features: features) == allAtOnce)
    for name in ["brightness", "contrast", "speed", "label"] { #expect(merge.summaries[name]?.count == 30 * 400) }

    let correction = DriftEvaluator.correction(policy.spec.correction)
    let incremental = try DriftEvaluator.evaluate(features: features, reference: reference, current: merge.summaries, minSamples: 100,
                                                  correction: correction, share: 0.5)
    let batch = try DriftEvaluator.evaluate(features: features, reference: reference, current: allAtOnce, minSamples: 100,
                                            correction: correction, share: 0.5)
    #expect(incremental == batch)
    guard case .decided(let results, let samples, _, _) = incremental else {
      Issue.record("expected a decision, got \(incremental)")
      return
    }
    #expect(samples == 12_000)
    // A third of the pods drifted: brightness and label are detected, the others are not.
    #expect(results.filter { $0.drifted == true }.compactMap(\.name).sorted() == ["brightness", "label"])
  }

  @Test("At most the in-flight limit of answers is held at once, whatever the number of pods")
  func answersInFlightAreBounded() async {
    let held = Shared((started: 0, received: 0, most: 0))
    var received: Set<Int> = []
    await DriftIO.forEachAnswer(Array(0..<100), concurrency: 8, scrape: { p -> Int in
      held.state.withLock { h in
        h.started += 1
        h.most = max(h.most, h.started - h.received)
      }
      for _ in 0..<(p % 4) { await Task.yield() }
      return p
    }) { p, answer in
      #expect(p == answer)
      received.insert(p)
      held.state.withLock { $0.received += 1 }
      return true
    }
    #expect(received == Set(0..<100))
    let counts = held.state.withLock { $0 }
    #expect(counts.most == 8)   // answers not yet merged plus scrapes under way
  }

  @Test("After an answer that cannot be merged no further agent is scraped, and the error names the agent")
  func malformedAnswerStopsTheScrapes() async throws {
    var bodies = try Self.answers(pods: 20, observations: 50)
    var wrong = try JSONValue(parsing: bodies[3])
    wrong["apiVersion"] = "edgeml.io/drift-summary/v9"
    bodies[3] = wrong.serialized()
    let started = Shared(0)
    var merge = SummaryMerge(features: try DriftFixtures.policy().spec.features)
    var failure: DriftInputError?
    await DriftIO.forEachAnswer(Array(bodies.indices), concurrency: 2, scrape: { [bodies] p -> DriftSummaryReport? in
      started.state.withLock { $0 += 1 }
      return try? Self.parse(bodies[p])
    }) { _, report in
      guard let report else { return true }
      do throws(DriftInputError) { try merge.add(report) } catch {
        failure = error
        return false
      }
      return true
    }
    #expect(failure?.reason == "SummaryInvalid")
    #expect(failure?.message.contains("pod-3") == true)
    #expect(failure?.message.contains("edgeml.io/drift-summary/v9") == true)
    #expect(started.state.withLock { $0 } <= 4 + 2)   // the bad answer's position plus the scrapes already under way
  }

  @Test("A report reads the same as with Foundation's JSONDecoder, without it")
  func reportReadsAsJSONDecoderDoes() throws {
    let bytes = try Self.answers(pods: 1)[0]
    let ours = try Self.parse(bytes)
    let foundation = try JSONDecoder().decode(DriftSummaryReport.self, from: Data(bytes))
    #expect(ours == foundation)
    // Members in another order, unknown members and a null sketch are fine.
    let reordered = #"{"features":{"label":{"counts":{"car":2,"bus":1},"sketch":null,"count":3,"type":"categorical","extra":1}},"end":60,"start":0,"source":"pod-x","apiVersion":"edgeml.io/drift-summary/v1"}"#
    let report = try Self.parse(Array(reordered.utf8))
    #expect(report == (try JSONDecoder().decode(DriftSummaryReport.self, from: Data(reordered.utf8))))
    #expect(try report.summaries()["label"]?.count == 3)
  }

  @Test("A malformed report is refused with the member that is wrong", arguments: [
    (#"[1]"#, "the report is array"),
    (#"{"apiVersion":"edgeml.io/drift-summary/v1","source":"p","start":0,"end":60}"#, "\"features\" must be an object"),
    (#"{"apiVersion":"edgeml.io/drift-summary/v1","source":"p","start":"0","end":60,"features":{}}"#, "\"start\" must be a number"),
    (#"{"apiVersion":1,"source":"p","start":0,"end":60,"features":{}}"#, "\"apiVersion\" must be a string"),
    (#"{"apiVersion":"edgeml.io/drift-summary/v1","source":"p","start":0,"end":60,"features":{"x":{"type":"ordinal","count":1}}}"#,
     "feature x: type \"ordinal\""),
    (#"{"apiVersion":"edgeml.io/drift-summary/v1","source":"p","start":0,"end":60,"features":{"x":{"type":"numerical","count":1.5}}}"#,
     "feature x: \"count\" must be an integer"),
    (#"{"apiVersion":"edgeml.io/drift-summary/v1","source":"p","start":0,"end":60,"features":{"x":{"type":"categorical","count":1,"counts":[1]}}}"#,
     "feature x: \"counts\" must be an object"),
    (#"{"apiVersion":"edgeml.io/drift-summary/v1","source":"p","start":0,"end":60,"features":{"x":{"type":"categorical","count":1,"counts":{"a":"1"}}}}"#,
     "the count of a must be a number"),
  ])
  func malformedReports(_ text: String, _ message: String) throws {
    let error = #expect(throws: DriftInputError.self) { try Self.parse(Array(text.utf8)) }
    #expect(error?.reason == "SummaryInvalid")
    #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
  }
}

/// A value the scrapes (concurrent) and the receiver share in a test.
private final class Shared<Value: Sendable>: Sendable {
  let state: Mutex<Value>
  init(_ value: Value) { state = Mutex(value) }
}
