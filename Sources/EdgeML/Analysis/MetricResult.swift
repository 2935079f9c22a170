/// Everything the status keeps about one metric of the current analysis: counters over every
/// measurement taken, and the last few measurements themselves.
///
/// The counters are what `assessMetric` decides on, so the history can be cut without changing a
/// decision: a Rollout measured every 30 s for an hour keeps 10 measurements, not 120. Argo Rollouts
/// keeps the same counters and also 10 measurements by default (argoproj/argo-rollouts
/// `pkg/apis/rollouts/v1alpha1/analysis_types.go` `MetricResult`; `utils/defaults`
/// `DefaultMeasurementHistoryLimit`).
public struct MetricResult: Codable, Sendable, Equatable {
  /// How many measurements `measurements` keeps, newest last.
  public static let measurementHistoryLimit = 10

  /// The metric's name in `spec.analysis.metrics`.
  public var name: String
  /// The assessment written with the counters (`assessMetric`); nil before the first one.
  public var phase: MetricPhase?
  /// The assessment's reason.
  public var message: String?
  /// Completed measurements that were not errors (Argo counts errors apart, in `error`).
  public var count: Int
  public var successful: Int
  public var failed: Int
  public var inconclusive: Int
  public var error: Int
  /// Errors since the last measurement that was not one.
  public var consecutiveError: Int
  /// The last `measurementHistoryLimit` measurements, oldest first.
  public var measurements: [Measurement]

  public init(name: String) {
    self.name = name
    count = 0; successful = 0; failed = 0; inconclusive = 0; error = 0; consecutiveError = 0
    measurements = []
  }

  /// Adds a measurement: a completed one updates the counters; one that completes a `running`
  /// measurement replaces it; the history is then cut to its limit.
  ///
  /// *Guarantees*: recording the same running measurement twice leaves one entry, so a reconcile that
  /// re-reads a running Job does not grow the history.
  public mutating func record(_ measurement: Measurement) {
    if let last = measurements.last, last.phase == .running { measurements.removeLast() }
    measurements.append(measurement)
    switch measurement.phase {
    case .successful: successful += 1; count += 1; consecutiveError = 0
    case .failed: failed += 1; count += 1; consecutiveError = 0
    case .inconclusive: inconclusive += 1; count += 1; consecutiveError = 0
    case .error: error += 1; consecutiveError += 1
    case .running: break
    }
    if measurements.count > Self.measurementHistoryLimit {
      measurements.removeFirst(measurements.count - Self.measurementHistoryLimit)
    }
  }

  /// The index the next measurement will have (completed ones so far, errors included): what names a
  /// job measurement's Job, so a restarted operator measures the same one again instead of a second.
  public var nextMeasurementIndex: Int { count + error }
}
