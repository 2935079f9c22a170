import KubeCore

/// The `job` provider's pure parts: which Job a measurement runs, and what its status means.
public enum AnalysisJob {
  /// Label on every analysis Job: the Rollout's name.
  public static let rolloutLabel = "edgeml.io/rollout"
  /// Label on every analysis Job: the metric's name.
  public static let metricLabel = "edgeml.io/analysis-metric"

  /// The Job's name for one measurement: readable (`<rollout>-<metric>-<index>`, cut to fit) and
  /// unique per (Rollout uid, run, metric, measurement index) through a hash suffix.
  ///
  /// *Guarantees*: deterministic, so an operator restarted after creating the Job finds it instead
  /// of creating a second; at most 63 characters, a valid DNS-1123 label (batch/v1 copies a Job's
  /// name into its pods' `job-name` label, which allows no more).
  public static func name(context: AnalysisContext, metric: String) -> String {
    let hash = String(sha256Hex("\(context.rolloutUID)/\(context.runID)/\(metric)/\(context.measurementIndex)").prefix(8))
    let readable = sanitize("\(context.rolloutName)-\(metric)-\(context.measurementIndex)")
    let head = String(readable.prefix(63 - 1 - hash.count))
    return trimDashes(head) + "-" + hash
  }

  /// The batch/v1 Job for one measurement, from the metric's JobTemplateSpec: the template's labels
  /// and annotations plus ours, owned by the Rollout (deleted with it; the Rollout controller is woken
  /// when it changes), in the Rollout's namespace.
  public static func plan(template: JSONValue, metric: String, context: AnalysisContext) -> JSONValue {
    var labels = template[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
    labels[rolloutLabel] = .string(context.rolloutName)
    labels[metricLabel] = .string(sanitize(metric))
    var metadata: JSONObject = [
      "name": .string(name(context: context, metric: metric)),
      "namespace": .string(context.rolloutNamespace),
      "labels": .object(labels),
      "ownerReferences": [[
        "apiVersion": .string(EdgeMLAPI.apiVersion), "kind": "Rollout", "name": .string(context.rolloutName),
        "uid": .string(context.rolloutUID), "controller": true, "blockOwnerDeletion": true,
      ]],
    ]
    if let annotations = template[path: ["metadata", "annotations"]] { metadata["annotations"] = annotations }
    return ["apiVersion": "batch/v1", "kind": "Job", "metadata": .object(metadata), "spec": template["spec"] ?? .object(JSONObject())]
  }

  /// A Job's outcome from its status: `Complete=True` → successful; `Failed=True` (or the newer
  /// `FailureTarget=True`, set while the pods are still being terminated) → failed; otherwise running.
  /// The condition types are batch/v1's (kubernetes.io/docs/concepts/workloads/controllers/job/,
  /// "Job termination and cleanup"; "Terminal Job conditions").
  public static func outcome(_ job: JSONValue) -> (phase: MeasurementPhase, message: String?) {
    let name = job[path: ["metadata", "name"]]?.stringValue ?? "?"
    let conditions = job[path: ["status", "conditions"]]?.arrayValue ?? []
    func isTrue(_ type: String) -> JSONValue? {
      conditions.first { $0["type"]?.stringValue == type && $0["status"]?.stringValue == "True" }
    }
    if isTrue("Complete") != nil { return (.successful, nil) }
    if let failed = isTrue("Failed") ?? isTrue("FailureTarget") {
      let reason = failed["reason"]?.stringValue ?? "Failed"
      let message = failed["message"]?.stringValue.map { ": \($0)" } ?? ""
      return (.failed, "Job \(name) failed: \(reason)\(message)")
    }
    let active = job[path: ["status", "active"]]?.intValue ?? 0
    return (.running, "Job \(name) is running (\(active) active pods)")
  }

  /// Lower-case letters, digits and dashes only.
  static func sanitize(_ s: String) -> String {
    String(s.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "-" ? $0 : "-" })
  }

  static func trimDashes(_ s: String) -> String {
    var s = Substring(s)
    while s.hasSuffix("-") { s.removeLast() }
    while s.hasPrefix("-") { s.removeFirst() }
    return s.isEmpty ? "analysis" : String(s)
  }
}

/// What the `job` provider needs of the API server.
public protocol AnalysisJobClient: Sendable {
  /// The Job, or nil when it does not exist.
  func job(namespace: String, name: String) async throws -> JSONValue?
  /// Creates the Job; an `AlreadyExists` answer is not an error for the caller (another attempt won).
  func create(job: JSONValue) async throws
}

/// Measures a metric with a Job: creates the measurement's Job if it does not exist, and reports
/// its outcome; `running` until the Job completes or fails. The conditions are not used.
public struct JobProvider: AnalysisProvider {
  private let client: any AnalysisJobClient

  public init(client: any AnalysisJobClient) { self.client = client }

  public func measure(_ metric: AnalysisMetric, context: AnalysisContext) async -> Measurement {
    guard let template = metric.provider.job?.template else {
      return .failure("metric has no job provider", metric: metric, startedAt: context.now)
    }
    let name = AnalysisJob.name(context: context, metric: metric.name)
    do {
      if let job = try await client.job(namespace: context.rolloutNamespace, name: name) {
        let outcome = AnalysisJob.outcome(job)
        let created = job[path: ["metadata", "creationTimestamp"]]?.stringValue.flatMap { try? Timestamp(rfc3339: $0) }
        return Measurement(metric: metric.name, phase: outcome.phase, message: outcome.message, startedAt: created ?? context.now,
                           finishedAt: outcome.phase.isCompleted ? context.now : nil)
      }
      try await client.create(job: AnalysisJob.plan(template: template, metric: metric.name, context: context))
      return Measurement(metric: metric.name, phase: .running, message: "Job \(name) created", startedAt: context.now)
    } catch {
      return .failure("Job \(name): \(error)", metric: metric, startedAt: context.now)
    }
  }
}
