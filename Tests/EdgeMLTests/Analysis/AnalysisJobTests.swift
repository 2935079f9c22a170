import KubeCore
import Testing
@testable import EdgeML

/// The `job` provider: one deterministic Job per measurement, its outcome from batch/v1 conditions.
struct AnalysisJobTests {
  static let context = AnalysisContext(rolloutNamespace: "edge", rolloutName: "detector-v4", rolloutUID: "uid-1", runID: "step-2",
                                       measurementIndex: 0, now: Timestamp(secondsSinceEpoch: 1_800_000_000))

  @Test("The Job's name is the same after a restart, differs per measurement and run, and is a valid label")
  func names() {
    let a = AnalysisJob.name(context: Self.context, metric: "smoke-test")
    #expect(a == AnalysisJob.name(context: Self.context, metric: "smoke-test"))
    var next = Self.context
    next.measurementIndex = 1
    #expect(a != AnalysisJob.name(context: next, metric: "smoke-test"))
    var otherRun = Self.context
    otherRun.runID = "step-4"
    #expect(a != AnalysisJob.name(context: otherRun, metric: "smoke-test"))
    #expect(a.hasPrefix("detector-v4-smoke-test-0-"))
    var long = Self.context
    long.rolloutName = String(repeating: "r", count: 60)
    let cut = AnalysisJob.name(context: long, metric: "Metric_With.Dots")
    #expect(cut.count <= 63)
    #expect(cut.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "-" })
  }

  @Test("The planned Job keeps the template's labels and spec, is owned by the Rollout and lives in its namespace")
  func plan() throws {
    let template: JSONValue = ["metadata": ["labels": ["team": "ml"]], "spec": ["backoffLimit": 0, "template": ["spec": ["restartPolicy": "Never"]]]]
    let job = AnalysisJob.plan(template: template, metric: "smoke-test", context: Self.context)
    #expect(job["kind"] == "Job" && job["apiVersion"] == "batch/v1")
    #expect(job[path: ["metadata", "namespace"]] == "edge")
    #expect(job[path: ["metadata", "labels", "team"]] == "ml")
    #expect(job[path: ["metadata", "labels", "edgeml.io/rollout"]] == "detector-v4")
    let owner = try #require(job[path: ["metadata", "ownerReferences"]]?.arrayValue?.first)
    #expect(owner["kind"] == "Rollout" && owner["uid"] == "uid-1" && owner["controller"] == true)
    #expect(job[path: ["spec", "backoffLimit"]] == 0)
  }

  @Test("Complete is successful, Failed (or FailureTarget) is failed with the reason, anything else is running", arguments: [
    (["status": ["conditions": [["type": "Complete", "status": "True"]]]] as JSONValue, MeasurementPhase.successful),
    (["status": ["conditions": [["type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"]]]] as JSONValue, .failed),
    (["status": ["conditions": [["type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded"]]]] as JSONValue, .failed),
    (["status": ["active": 1]] as JSONValue, .running),
    (["status": ["conditions": [["type": "Complete", "status": "False"]]]] as JSONValue, .running),
  ])
  func outcome(_ job: JSONValue, _ phase: MeasurementPhase) {
    #expect(AnalysisJob.outcome(job).phase == phase)
  }

  actor FakeJobs: AnalysisJobClient {
    var jobs: [String: JSONValue] = [:]
    var creates = 0
    func job(namespace: String, name: String) async throws -> JSONValue? { jobs["\(namespace)/\(name)"] }
    func create(job: JSONValue) async throws {
      creates += 1
      jobs["\(job[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(job[path: ["metadata", "name"]]?.stringValue ?? "")"] = job
    }
    func complete(_ key: String) { jobs[key]?["status"] = ["conditions": [["type": "Complete", "status": "True"]]] }
  }

  @Test("Measuring twice creates one Job; its completion makes the measurement successful")
  func provider() async throws {
    let jobs = FakeJobs()
    let provider = JobProvider(client: jobs)
    let metric = AnalysisMetric(name: "smoke-test", provider: MetricProvider(job: JobMetric(template: ["spec": [:]])), successCondition: "true")
    #expect(await provider.measure(metric, context: Self.context).phase == .running)
    #expect(await provider.measure(metric, context: Self.context).phase == .running)
    #expect(await jobs.creates == 1)
    await jobs.complete("edge/" + AnalysisJob.name(context: Self.context, metric: "smoke-test"))
    #expect(await provider.measure(metric, context: Self.context).phase == .successful)
  }
}
