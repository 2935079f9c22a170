import KubeCore
import Testing
@testable import EdgeML

/// `assessMetric`: a metric's phase from its counters, with Argo Rollouts' AnalysisRun semantics.
struct MetricAssessmentTests {
  static let t0 = Timestamp(secondsSinceEpoch: 1_800_000_000)

  static func result(_ phases: [MeasurementPhase]) -> MetricResult {
    var r = MetricResult(name: "m")
    for (i, p) in phases.enumerated() {
      r.record(Measurement(metric: "m", phase: p, startedAt: Timestamp(secondsSinceEpoch: t0.secondsSinceEpoch + Int64(i) * 60)))
    }
    return r
  }

  struct Row: Sendable, CustomTestStringConvertible {
    var label: String
    var phases: [MeasurementPhase]
    var count: Int?
    var interval: String?
    var failureLimit: Int?
    var inconclusiveLimit: Int?
    var expected: MetricPhase
    var reason: String?
    var testDescription: String { label }
  }

  @Test("A metric's phase follows from its measurements, failureLimit, inconclusiveLimit and count", arguments: [
    Row(label: "nothing measured yet", phases: [], expected: .pending),
    Row(label: "a job still running", phases: [.running], expected: .running),
    Row(label: "one measurement, no count, no interval: done", phases: [.successful], expected: .successful),
    Row(label: "one failure over failureLimit 0", phases: [.failed], expected: .failed, reason: "failed (1) > failureLimit (0)"),
    Row(label: "failures within the limit then count reached", phases: [.failed, .successful, .successful], count: 3, failureLimit: 1, expected: .successful),
    Row(label: "two failures over failureLimit 1", phases: [.failed, .successful, .failed], count: 5, failureLimit: 1, expected: .failed,
        reason: "failed (2) > failureLimit (1)"),
    Row(label: "failureLimit -1 never fails", phases: [.failed, .failed, .failed], count: 3, failureLimit: -1, expected: .successful),
    Row(label: "inconclusive over inconclusiveLimit", phases: [.inconclusive, .inconclusive], count: 5, inconclusiveLimit: 1, expected: .inconclusive,
        reason: "inconclusive (2) > inconclusiveLimit (1)"),
    Row(label: "an inconclusive one within the limit", phases: [.inconclusive, .successful], count: 2, inconclusiveLimit: 1, expected: .successful),
    Row(label: "count not reached", phases: [.successful, .successful], count: 3, expected: .running),
    Row(label: "errors do not count as measurements", phases: [.error, .successful, .error], count: 2, expected: .running),
    Row(label: "four errors in a row are tolerated", phases: [.error, .error, .error, .error], count: 2, expected: .running),
    Row(label: "the fifth error in a row decides", phases: [.error, .error, .error, .error, .error], count: 2, expected: .error,
        reason: "consecutiveErrors (5) > consecutiveErrorLimit (4)"),
    Row(label: "a success resets the error run", phases: [.error, .error, .error, .error, .successful, .error], count: 3, expected: .running),
    Row(label: "an interval without count runs until the step ends", phases: [.successful, .successful], interval: "30s", expected: .running),
    Row(label: "past both the failure and the error limit: error, as upstream's last check wins",
        phases: [.failed, .error, .error, .error, .error, .error], count: 9, expected: .error),
  ])
  func assess(_ row: Row) {
    var metric = AnalysisConditionsTests.metric(success: "result < 1")
    metric.count = row.count
    metric.interval = row.interval
    metric.failureLimit = row.failureLimit
    metric.inconclusiveLimit = row.inconclusiveLimit
    let assessment = assessMetric(metric, result: Self.result(row.phases))
    #expect(assessment.phase == row.expected)
    if let reason = row.reason { #expect(assessment.reason.hasPrefix(reason)) }
  }

  @Test("An unbounded metric is successful when its step ends without failures; an unmeasured one stays pending")
  func terminating() {
    var metric = AnalysisConditionsTests.metric(success: "result < 1")
    metric.interval = "1m"
    #expect(assessMetric(metric, result: Self.result([.successful, .failed]), isTerminating: true).phase == .failed)
    #expect(assessMetric(metric, result: Self.result([.successful]), isTerminating: true).phase == .successful)
    #expect(assessMetric(metric, result: Self.result([]), isTerminating: true).phase == .pending)
  }

  @Test("An analysis is running until every metric is decided, then takes its worst metric")
  func analysisPhase() {
    #expect(assessAnalysis([MetricAssessment(.successful, ""), MetricAssessment(.running, "")]) == .running)
    #expect(assessAnalysis([MetricAssessment(.successful, ""), MetricAssessment(.inconclusive, "")]) == .inconclusive)
    #expect(assessAnalysis([MetricAssessment(.failed, ""), MetricAssessment(.error, ""), MetricAssessment(.inconclusive, "")]) == .failed)
    #expect(assessAnalysis([]) == .successful)
  }

  @Test("The status keeps the last 10 measurements but counts every one, so a decision never changes when history is cut")
  func boundedHistory() {
    let phases = Array(repeating: MeasurementPhase.successful, count: 25) + [.failed]
    let r = Self.result(phases)
    #expect(r.measurements.count == MetricResult.measurementHistoryLimit)
    #expect(r.count == 26 && r.successful == 25 && r.failed == 1)
    #expect(r.measurements.last?.phase == .failed)
    #expect(r.nextMeasurementIndex == 26)
  }

  @Test("A running measurement is replaced by its outcome, and re-recording it does not grow the history")
  func runningReplaced() {
    var r = MetricResult(name: "m")
    r.record(Measurement(metric: "m", phase: .running, startedAt: Self.t0))
    r.record(Measurement(metric: "m", phase: .running, startedAt: Self.t0))
    #expect(r.measurements.count == 1 && r.count == 0 && r.nextMeasurementIndex == 0)
    r.record(Measurement(metric: "m", phase: .successful, startedAt: Self.t0))
    #expect(r.measurements.map(\.phase) == [.successful] && r.count == 1)
  }

  @Test("A measurement's times are RFC 3339 and it round-trips through the status JSON")
  func codable() throws {
    let m = Measurement(metric: "p99", phase: .failed, value: "NaN", message: "why", startedAt: Self.t0)
    #expect(m.startedAt == "2027-01-15T08:00:00Z" && m.finishedAt == m.startedAt)
    var r = MetricResult(name: "p99")
    r.record(m)
    let json = ModelCoding.encode(r)
    #expect(json[path: ["measurements"]]?.arrayValue?.first?["phase"] == "Failed")
    #expect(try ModelCoding.decode(MetricResult.self, from: json) == r)
  }

  @Test("A metric's interval overrides the analysis interval, which defaults to one minute")
  func intervals() {
    var metric = AnalysisConditionsTests.metric(success: "result < 1")
    #expect(measurementInterval(of: metric, analysis: nil).seconds == 60)
    #expect(measurementInterval(of: metric, analysis: AnalysisSpec(interval: "2m", metrics: nil)).seconds == 120)
    metric.interval = "30s"
    #expect(measurementInterval(of: metric, analysis: AnalysisSpec(interval: "2m", metrics: nil)).seconds == 30)
  }
}
