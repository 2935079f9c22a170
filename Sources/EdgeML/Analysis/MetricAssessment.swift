import KubeCore

/// Where a metric of an analysis stands.
public enum MetricPhase: String, Codable, Sendable {
  /// No measurement yet.
  case pending = "Pending"
  /// More measurements are due (or one is in flight).
  case running = "Running"
  case successful = "Successful"
  case failed = "Failed"
  /// Too many inconclusive measurements: a person must look (the rollout pauses, never promotes).
  case inconclusive = "Inconclusive"
  /// Too many errors in a row: the provider cannot be read.
  case error = "Error"

  /// Whether the metric is decided (no more measurements are taken).
  public var isCompleted: Bool { self != .pending && self != .running }
}

/// A metric's phase and why.
public struct MetricAssessment: Sendable, Equatable {
  public var phase: MetricPhase
  /// A sentence for a person, e.g. "failed (2) > failureLimit (1)".
  public var reason: String

  public init(_ phase: MetricPhase, _ reason: String) {
    self.phase = phase
    self.reason = reason
  }
}

/// Errors in a row tolerated before a metric is `error`, as Argo Rollouts' default
/// `consecutiveErrorLimit` (argoproj/argo-rollouts `utils/defaults/defaults.go`,
/// `DefaultConsecutiveErrorLimit = 4`): one more, the fifth, decides.
public let analysisConsecutiveErrorLimit = 4

/// The number of measurements a metric takes: its `count`; else one when it has no `interval` of
/// its own; else nil (measured until the step that runs it ends).
///
/// Argo Rollouts' `Metric.EffectiveCount` reads the same way (argoproj/argo-rollouts
/// `pkg/apis/rollouts/v1alpha1/analysis_types.go`), except that its interval is per metric only;
/// `spec.analysis.interval` here is the default spacing of counted measurements and does not make a
/// metric run forever.
public func effectiveCount(of metric: AnalysisMetric) -> Int? {
  if let count = metric.count { return count }
  return metric.interval == nil ? 1 : nil
}

/// Decides a metric's phase from its counters and last measurement. Pure.
///
/// The order of the checks is Argo Rollouts' `assessMetricStatus` and
/// `assessMetricFailureInconclusiveOrError` (argoproj/argo-rollouts `analysis/analysis.go`):
/// 1. no measurement → `pending`; the last one still in flight → `running`;
/// 2. `failed > failureLimit` → `failed` (a `failureLimit` of -1 never fails);
/// 3. `inconclusive > inconclusiveLimit` → `inconclusive`;
/// 4. `consecutiveError > 4` → `error`;
/// 5. `count` measurements taken → `successful` (failures within the limits do not fail it);
/// 6. otherwise → `running`.
/// Checks 2–4 run in that order and the *last* that matches wins, as upstream overwrites its phase:
/// a metric past both its failure and its error limit is `error`.
///
/// - Parameters:
///   - metric: the metric's spec (limits and count; defaults 0, 0, `effectiveCount`).
///   - result: its counters and recent measurements from status.
///   - isTerminating: the step is over (aborted, promoted, skipped): an unbounded metric with no
///     failure is then `successful`, one never measured stays `pending`.
public func assessMetric(_ metric: AnalysisMetric, result: MetricResult, isTerminating: Bool = false) -> MetricAssessment {
  guard let last = result.measurements.last else {
    return MetricAssessment(.pending, isTerminating ? "analysis ended before a measurement was taken" : "no measurement yet")
  }
  if !last.phase.isCompleted { return MetricAssessment(.running, "measurement in progress") }

  var decided: MetricAssessment?
  let failureLimit = metric.failureLimit ?? 0
  if failureLimit >= 0 && result.failed > failureLimit {
    decided = MetricAssessment(.failed, "failed (\(result.failed)) > failureLimit (\(failureLimit))")
  }
  let inconclusiveLimit = metric.inconclusiveLimit ?? 0
  if result.inconclusive > inconclusiveLimit {
    decided = MetricAssessment(.inconclusive, "inconclusive (\(result.inconclusive)) > inconclusiveLimit (\(inconclusiveLimit))")
  }
  if result.consecutiveError > analysisConsecutiveErrorLimit {
    decided = MetricAssessment(.error, "consecutiveErrors (\(result.consecutiveError)) > consecutiveErrorLimit (\(analysisConsecutiveErrorLimit))")
  }
  if var decided {
    if let message = last.message, last.phase != .successful { decided.reason += ": last measurement: \(message)" }
    return decided
  }
  if let count = effectiveCount(of: metric), result.count >= count {
    return MetricAssessment(.successful, "\(result.successful) of \(result.count) measurements successful, within the limits")
  }
  if isTerminating {
    return MetricAssessment(.successful, "analysis ended with \(result.count) measurements, within the limits")
  }
  return MetricAssessment(.running, "\(result.count) of \(effectiveCount(of: metric).map(String.init) ?? "unbounded") measurements taken")
}

/// The phase of an analysis of several metrics: running until every metric is decided, then the
/// worst of them (Argo Rollouts' `IsWorse` order, argoproj/argo-rollouts `utils/analysis/helpers.go`:
/// successful < inconclusive < error < failed).
public func assessAnalysis(_ metrics: [MetricAssessment]) -> MetricPhase {
  func rank(_ p: MetricPhase) -> Int {
    switch p {
    case .pending, .running: return -1
    case .successful: return 0
    case .inconclusive: return 1
    case .error: return 2
    case .failed: return 3
    }
  }
  if metrics.isEmpty { return .successful }
  if metrics.contains(where: { !$0.phase.isCompleted }) { return .running }
  return metrics.max(by: { rank($0.phase) < rank($1.phase) })?.phase ?? .successful
}

/// Time between two measurements of `metric`: its own `interval`, else `spec.analysis.interval`,
/// else the CRD's default of one minute. An interval that does not parse (the CRD's pattern stops
/// most) falls back to the default too.
public func measurementInterval(of metric: AnalysisMetric, analysis: AnalysisSpec?) -> GoDuration {
  let oneMinute = GoDuration(nanoseconds: 60_000_000_000)
  guard let text = metric.interval ?? analysis?.interval else { return oneMinute }
  return (try? GoDuration(parsing: text)) ?? oneMinute
}
