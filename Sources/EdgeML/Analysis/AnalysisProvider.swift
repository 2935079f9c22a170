import KubeCore

/// Takes one measurement of a metric.
///
/// A provider never throws: whatever goes wrong — a Prometheus that does not answer, a query it
/// refuses, a pod that cannot be scraped — is a `Measurement` with phase `error` and a message that
/// says what, so the status shows it and `assessMetric` counts it against the error limit.
///
/// Implementations: `PrometheusProvider`, `PodMetricsProvider`, `JobProvider`; `AnalysisProviders`
/// picks the one a metric names.
public protocol AnalysisProvider: Sendable {
  /// Measures `metric` now and judges the value with its conditions.
  func measure(_ metric: AnalysisMetric, context: AnalysisContext) async -> Measurement
}

/// What a measurement needs to know besides the metric: which Rollout, which run, what time it is,
/// and how to find the candidate's and the stable version's series and pods.
public struct AnalysisContext: Sendable {
  /// The Rollout being analysed (namespace, name, uid): Jobs are created in its namespace and owned by it.
  public var rolloutNamespace: String
  public var rolloutName: String
  public var rolloutUID: String
  /// Identifies this analysis among the Rollout's (e.g. `"step-2"`, `"wave-3"`): with the metric and the
  /// measurement index it names a job measurement's Job.
  public var runID: String
  /// The index of the measurement being taken (`MetricResult.nextMeasurementIndex`).
  public var measurementIndex: Int
  /// The time of the measurement: Prometheus evaluates the query at this instant.
  public var now: Timestamp
  /// PromQL label matchers selecting the candidate's series, without braces, e.g.
  /// `model="detector",version="4"`: replaces `{{candidate}}` in a query.
  public var candidateMatchers: String
  /// The same for the stable version: replaces `{{stable}}`.
  public var stableMatchers: String
  /// The candidate's serving pods' metrics endpoints, for `podMetrics`.
  public var pods: [ScrapeTarget]

  public init(rolloutNamespace: String, rolloutName: String, rolloutUID: String, runID: String, measurementIndex: Int = 0,
              now: Timestamp, candidateMatchers: String = "", stableMatchers: String = "", pods: [ScrapeTarget] = []) {
    self.rolloutNamespace = rolloutNamespace
    self.rolloutName = rolloutName
    self.rolloutUID = rolloutUID
    self.runID = runID
    self.measurementIndex = measurementIndex
    self.now = now
    self.candidateMatchers = candidateMatchers
    self.stableMatchers = stableMatchers
    self.pods = pods
  }
}

/// One pod's metrics endpoint.
public struct ScrapeTarget: Sendable, Equatable {
  /// The pod's name, for messages.
  public var pod: String
  /// The URL to GET, e.g. `http://10.42.0.7:8002/metrics` (Triton's metrics port).
  public var url: String

  public init(pod: String, url: String) {
    self.pod = pod
    self.url = url
  }
}

/// Dispatches each metric to the provider its `provider` field names.
public struct AnalysisProviders: AnalysisProvider {
  public var prometheus: any AnalysisProvider
  public var podMetrics: any AnalysisProvider
  public var job: any AnalysisProvider

  public init(prometheus: any AnalysisProvider, podMetrics: any AnalysisProvider, job: any AnalysisProvider) {
    self.prometheus = prometheus
    self.podMetrics = podMetrics
    self.job = job
  }

  public func measure(_ metric: AnalysisMetric, context: AnalysisContext) async -> Measurement {
    if metric.provider.prometheus != nil { return await prometheus.measure(metric, context: context) }
    if metric.provider.podMetrics != nil { return await podMetrics.measure(metric, context: context) }
    if metric.provider.job != nil { return await job.measure(metric, context: context) }
    return Measurement(metric: metric.name, phase: .error, message: "metric has no provider", startedAt: context.now)
  }
}

extension Measurement {
  /// The measurement for a value a provider read: judged by the metric's conditions.
  static func judging(_ value: MetricValue, metric: AnalysisMetric, startedAt: Timestamp) -> Measurement {
    let verdict: (phase: MeasurementPhase, message: String?)
    do { verdict = try AnalysisConditions(metric).evaluate(value) } catch { verdict = (.error, error.description) }
    return Measurement(metric: metric.name, phase: verdict.phase, value: value.text, message: verdict.message, startedAt: startedAt)
  }

  /// An `error` measurement.
  static func failure(_ message: String, metric: AnalysisMetric, startedAt: Timestamp) -> Measurement {
    Measurement(metric: metric.name, phase: .error, message: message, startedAt: startedAt)
  }
}
