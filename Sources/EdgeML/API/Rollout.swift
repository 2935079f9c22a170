import KubeCore

/// A progressive change of an EdgeModel's model (crds/rollouts.edgeml.io.yaml; DESIGN.md §2).
public struct Rollout: CustomResource {
  public static let kind = "Rollout"
  public static let plural = "rollouts"
  public var metadata: ObjectMeta
  public var spec: RolloutSpec
  public var status: RolloutStatus?
  public let original: JSONValue
  public init(metadata: ObjectMeta, spec: RolloutSpec, status: RolloutStatus?, original: JSONValue) {
    self.metadata = metadata
    self.spec = spec
    self.status = status
    self.original = original
  }
}

public struct RolloutSpec: Codable, Sendable, Equatable {
  public var modelRef: LocalObjectReference
  public var candidate: RolloutCandidate
  public var strategy: RolloutStrategy
  public var trafficRouting: TrafficRouting?
  public var analysis: AnalysisSpec?
  public var abortOnFailure: Bool?
}

public struct RolloutCandidate: Codable, Sendable, Equatable {
  public var model: CandidateModel
}

public struct CandidateModel: Codable, Sendable, Equatable {
  public var uri: String
  public var digest: String?
  public var version: String?
}

/// Exactly one of canary, abTest or fleet (a CEL rule in the CRD).
public struct RolloutStrategy: Codable, Sendable, Equatable {
  public var canary: CanaryStrategy?
  public var abTest: ABTestStrategy?
  public var fleet: FleetStrategy?
}

public struct CanaryStrategy: Codable, Sendable, Equatable {
  public var steps: [CanaryStep]
}

public struct CanaryStep: Codable, Sendable, Equatable {
  public var setWeight: Int?
  public var pause: PauseStep?
  public var analysis: AnalysisStep?
}

public struct PauseStep: Codable, Sendable, Equatable {
  public var duration: String?
}

public struct AnalysisStep: Codable, Sendable, Equatable {
  public var metrics: [String]?
}

public struct ABTestStrategy: Codable, Sendable, Equatable {
  public var variants: [ABVariant]
  public var match: ABMatch?
  public var duration: String?
  public var metric: ABMetric
  public var decision: ABDecision?
}

public struct ABVariant: Codable, Sendable, Equatable {
  public var name: String
  public var weight: Int
}

public struct ABMatch: Codable, Sendable, Equatable {
  public var header: String?
  public var cookie: String?
}

public struct ABMetric: Codable, Sendable, Equatable {
  /// For a proportion: the counter of successes the pods export (Triton's
  /// `nv_inference_request_success`); for a continuous metric, its name.
  public var name: String
  public var kind: String?
  /// For a proportion: the counter of failures (default `nv_inference_request_failure`).
  public var failures: String?
  /// For a continuous metric: the counter of requests `name` sums over (default
  /// `nv_inference_request_success`).
  public var count: String?
  /// For a continuous metric: `lower` (default) or `higher` is better.
  public var better: String?
}

public struct ABDecision: Codable, Sendable, Equatable {
  public var test: String?
  public var alpha: Double?
  public var minSamples: Int?
  /// An always-valid test that may be looked at every interval (DESIGN.md §2).
  public var sequential: Bool?
  /// Roll the winner out (or keep the stable model when it wins) without waiting for a person.
  public var autoPromote: Bool?
}

public struct FleetStrategy: Codable, Sendable, Equatable {
  public var waves: [FleetWave]
  public var maxUnavailable: IntOrString?
  public var waveOrder: WaveOrder?
}

public struct FleetWave: Codable, Sendable, Equatable {
  public var nodes: Int?
  public var percent: Int?
}

public struct WaveOrder: Codable, Sendable, Equatable {
  public var labelKey: String?
}

/// Exactly one router (a CEL rule in the CRD).
public struct TrafficRouting: Codable, Sendable, Equatable {
  public var replicaRatio: EmptyObject?
  public var gatewayAPI: GatewayAPIRouting?
  public var traefik: TraefikRouting?
  public var nginx: NginxRouting?
}

public struct GatewayAPIRouting: Codable, Sendable, Equatable {
  public var httpRoute: String
}

public struct TraefikRouting: Codable, Sendable, Equatable {
  public var traefikService: String
}

public struct NginxRouting: Codable, Sendable, Equatable {
  public var ingress: String
}

public struct AnalysisSpec: Codable, Sendable, Equatable {
  public var interval: String?
  public var metrics: [AnalysisMetric]?
}

/// One metric of `spec.analysis`: where it is measured and when a measurement passes
/// (docs/analysis.md; limits follow Argo Rollouts' AnalysisRun, see `assessMetric`).
public struct AnalysisMetric: Codable, Sendable, Equatable {
  public var name: String
  public var provider: MetricProvider
  /// CEL over `result` (a double, or a list of doubles for a vector): true means `Successful`.
  public var successCondition: String
  /// CEL over `result`: true means `Failed`, whatever `successCondition` says.
  public var failureCondition: String?
  /// Failed measurements tolerated; one more fails the metric. -1: never fail on failures. Default 0.
  public var failureLimit: Int?
  /// Inconclusive measurements tolerated; one more makes the metric inconclusive. Default 0.
  public var inconclusiveLimit: Int?
  /// Measurements to take; nil means once when no `interval` is set, else until the step ends.
  public var count: Int?
  /// Time between measurements of this metric (a Go duration); overrides `spec.analysis.interval`.
  public var interval: String?

  public init(name: String, provider: MetricProvider, successCondition: String, failureCondition: String? = nil,
              failureLimit: Int? = nil, inconclusiveLimit: Int? = nil, count: Int? = nil, interval: String? = nil) {
    self.name = name
    self.provider = provider
    self.successCondition = successCondition
    self.failureCondition = failureCondition
    self.failureLimit = failureLimit
    self.inconclusiveLimit = inconclusiveLimit
    self.count = count
    self.interval = interval
  }
}

/// Where a metric is measured: exactly one of the three (the CRD's CEL rule says so).
public struct MetricProvider: Codable, Sendable, Equatable {
  public var prometheus: PrometheusQuery?
  public var podMetrics: PodMetricQuery?
  public var job: JobMetric?

  public init(prometheus: PrometheusQuery? = nil, podMetrics: PodMetricQuery? = nil, job: JobMetric? = nil) {
    self.prometheus = prometheus
    self.podMetrics = podMetrics
    self.job = job
  }
}

/// A PromQL instant query against a Prometheus server.
public struct PrometheusQuery: Codable, Sendable, Equatable {
  /// Base URL, e.g. `http://prometheus.monitoring:9090`.
  public var address: String
  /// PromQL; `{{candidate}}` and `{{stable}}` are replaced by label matchers (docs/analysis.md).
  public var query: String

  public init(address: String, query: String) {
    self.address = address
    self.query = query
  }
}

/// One metric scraped from the serving pods' `/metrics` and combined across pods.
public struct PodMetricQuery: Codable, Sendable, Equatable {
  /// The metric family's name as the pods export it, e.g. `nv_inference_request_summary_us`.
  public var metric: String
  /// avg | sum | max | min | p50 | p90 | p99; default avg.
  public var aggregation: String?
  /// Only samples carrying all of these labels count, e.g. `{model: yolo, version: "4"}`.
  public var labels: [String: String]?

  public init(metric: String, aggregation: String? = nil, labels: [String: String]? = nil) {
    self.metric = metric
    self.aggregation = aggregation
    self.labels = labels
  }
}

/// A batch/v1 Job whose outcome is the measurement.
public struct JobMetric: Codable, Sendable, Equatable {
  /// A JobTemplateSpec (`metadata` and `spec`).
  public var template: JSONValue

  public init(template: JSONValue) { self.template = template }
}

public struct RolloutStatus: Codable, Sendable, Equatable {
  public var observedGeneration: Int?
  public var phase: RolloutPhase?
  /// Index of the canary step in progress; `steps.count` once every step is done.
  public var currentStep: Int?
  /// When the current step began (RFC 3339): a timed pause ends, and analysis counts, from here.
  public var stepStartedAt: String?
  /// Traffic percent on the stable model, as the router carries it now.
  public var stableWeight: Int?
  /// Traffic percent on the candidate, as the router carries it now.
  public var candidateWeight: Int?
  /// What the rollout moves to (`RolloutPlanner.candidateHash`): a change of the candidate or the
  /// strategy starts the rollout over.
  public var candidateHash: String?
  /// Why the rollout is paused, when it is.
  public var pause: RolloutPause?
  /// Why the rollout was aborted, when it was.
  public var abort: RolloutAbort?
  /// When every step was done and the candidate took over as the stable model.
  public var promotedAt: String?
  /// The EdgeModel's `spec.model` the candidate replaced (`RolloutPlanner.modelHash`): the
  /// EdgeModel serves the candidate while its `spec.model` stays this (docs/rollouts.md).
  public var promotedOver: String?
  /// A manual gate written by `kubectl edgeml` through the status subresource, consumed (removed)
  /// by the controller, which records it in `lastRequest`.
  public var request: RolloutRequest?
  /// The last manual gate the controller acted on, and what came of it.
  public var lastRequest: HandledRequest?
  public var analysisRuns: [JSONValue]?
  /// The A/B experiment: counts per variant, the test's p-value, effect and interval, the decision.
  public var abTest: ABTestStatus?
  /// A fleet rollout's nodes (strategy.fleet), as the EdgeModel last reported them.
  public var fleet: FleetReport?
  public var conditions: [StatusCondition]?
  public var message: String?
  public init() {}
}

/// Where an A/B experiment stands (strategy.abTest).
public struct ABTestStatus: Codable, Sendable, Equatable {
  /// When the router first carried the split.
  public var startedAt: String?
  public var lastLookAt: String?
  public var looks: Int?
  /// Each pod's counters when it was first seen, so only requests during the experiment count.
  public var baselines: [String: PodCounts]?
  public var variants: [ABVariantStatus]?
  public var pValue: Double?
  /// Candidate minus stable (success rates).
  public var effect: Double?
  public var confidenceInterval: ABInterval?
  public var relativeLift: Double?
  /// Undecided, NoDifference or Winner.
  public var decision: String?
  public var winner: String?
  public var reason: String?
  /// The sequential test's state between looks (running minimum p-value, mixing variance, …).
  public var sequential: JSONValue?
  /// A continuous metric at a fixed horizon: each variant's samples (stable first), bounded.
  public var samples: [[Double]]?
  /// A continuous metric: each variant's running summary of its samples (stable first).
  public var means: [RunningMean]?
  public init() {}
}

public struct PodCounts: Codable, Sendable, Equatable {
  public var successes: Int
  public var failures: Int
  /// A continuous metric's cumulative sum (then `successes` is the count it sums over).
  public var sum: Double?
  public init(successes: Int, failures: Int, sum: Double? = nil) {
    self.successes = successes
    self.failures = failures
    self.sum = sum
  }
}

/// Welford's running count, mean and sum of squared deviations (Welford 1962, "Note on a method
/// for calculating corrected sums of squares and products"): exact enough to keep in status and
/// update one sample at a time.
public struct RunningMean: Codable, Sendable, Equatable {
  public var count: Int
  public var mean: Double
  public var m2: Double
  public init(count: Int = 0, mean: Double = 0, m2: Double = 0) {
    self.count = count
    self.mean = mean
    self.m2 = m2
  }
  public mutating func add(_ x: Double) {
    count += 1
    let delta = x - mean
    mean += delta / Double(count)
    m2 += delta * (x - mean)
  }
  /// The sample variance (n − 1), 0 below two samples.
  public var variance: Double { count > 1 ? m2 / Double(count - 1) : 0 }
}

public struct ABVariantStatus: Codable, Sendable, Equatable {
  public var name: String
  public var successes: Int
  public var trials: Int
  public var rate: Double?
  /// A continuous metric: samples so far and their mean.
  public var samples: Int?
  public var mean: Double?
  public init(name: String, successes: Int, trials: Int, rate: Double?) {
    self.name = name
    self.successes = successes
    self.trials = trials
    self.rate = rate
  }
}

public struct ABInterval: Codable, Sendable, Equatable {
  public var lower: Double?
  public var upper: Double?
  public init(lower: Double?, upper: Double?) {
    self.lower = lower
    self.upper = upper
  }
}

public enum RolloutPhase: String, Codable, Sendable {
  case progressing = "Progressing", paused = "Paused", promoted = "Promoted", aborted = "Aborted", degraded = "Degraded"
}

public struct RolloutPause: Codable, Sendable, Equatable {
  /// PauseStep, Manual, AnalysisInconclusive, CandidateFailed, Conflict.
  public var reason: String
  public var since: String
  /// When a timed pause step ends (RFC 3339).
  public var until: String?
  public init(reason: String, since: String, until: String? = nil) {
    self.reason = reason
    self.since = since
    self.until = until
  }
}

public struct RolloutAbort: Codable, Sendable, Equatable {
  /// AbortRequested, AnalysisFailed, CandidateFailed.
  public var reason: String
  public var message: String
  public var at: String
  /// The step the rollout was at.
  public var step: Int?
  public init(reason: String, message: String, at: String, step: Int?) {
    self.reason = reason
    self.message = message
    self.at = at
    self.step = step
  }
}

/// A manual gate: `kubectl edgeml promote|abort|pause|resume|retry`.
public struct RolloutRequest: Codable, Sendable, Equatable {
  public var action: RolloutAction
  /// `promote --full`: every remaining step skipped.
  public var full: Bool?
  public var requestedAt: String?
  public var requestedBy: String?
  public init(action: RolloutAction, full: Bool? = nil, requestedAt: String? = nil, requestedBy: String? = nil) {
    self.action = action
    self.full = full
    self.requestedAt = requestedAt
    self.requestedBy = requestedBy
  }
}

public enum RolloutAction: String, Codable, Sendable, CaseIterable {
  case promote, abort, pause, resume, retry
}

public struct HandledRequest: Codable, Sendable, Equatable {
  public var action: RolloutAction
  public var full: Bool?
  public var requestedAt: String?
  public var requestedBy: String?
  public var handledAt: String
  /// Accepted, or why it was ignored ("nothing to resume: the rollout is not paused").
  public var outcome: String
}
