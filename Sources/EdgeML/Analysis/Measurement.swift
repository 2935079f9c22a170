import KubeCore

/// How one measurement of a metric came out.
///
/// The words are Argo Rollouts' measurement phases (argoproj/argo-rollouts
/// `pkg/apis/rollouts/v1alpha1/analysis_types.go`, `AnalysisPhase`), so someone who knows an
/// AnalysisRun reads our status without a glossary.
public enum MeasurementPhase: String, Codable, Sendable, CaseIterable {
  /// The success condition held (and the failure condition, if any, did not).
  case successful = "Successful"
  /// The failure condition held, or the success condition did not when there is no failure condition.
  case failed = "Failed"
  /// Neither condition held, or the provider had no data to judge (an empty vector, NaN, no pods).
  case inconclusive = "Inconclusive"
  /// The measurement could not be taken: the provider did not answer, refused the query, or a
  /// condition does not compile or does not yield a boolean.
  case error = "Error"
  /// Still in flight (a Job that has not finished); replaced by its outcome on a later measure.
  case running = "Running"

  /// Whether the measurement is over (everything but `running`).
  public var isCompleted: Bool { self != .running }
}

/// One measurement of one metric, as `Rollout.status.analysisRuns[].measurements[]` holds it.
///
/// `value` is text, as Argo Rollouts keeps it, because a result is not always a JSON number:
/// Prometheus answers NaN and ±Inf, and a vector is a list (`"[12.5, 14]"`).
public struct Measurement: Codable, Sendable, Equatable {
  /// The metric's name in `spec.analysis.metrics`.
  public var metric: String
  public var phase: MeasurementPhase
  /// The result the conditions saw: `"42.5"` for a scalar, `"[1, 2.5]"` for a vector; nil when there was none.
  public var value: String?
  /// Why the phase is what it is, for a person (the Prometheus error, the condition that failed, …).
  public var message: String?
  /// When the measurement started (RFC 3339).
  public var startedAt: String
  /// When it finished (RFC 3339); nil while `running`.
  public var finishedAt: String?

  public init(metric: String, phase: MeasurementPhase, value: String? = nil, message: String? = nil,
              startedAt: Timestamp, finishedAt: Timestamp? = nil) {
    self.metric = metric
    self.phase = phase
    self.value = value
    self.message = message
    self.startedAt = startedAt.rfc3339
    self.finishedAt = finishedAt?.rfc3339 ?? (phase.isCompleted ? startedAt.rfc3339 : nil)
  }
}
