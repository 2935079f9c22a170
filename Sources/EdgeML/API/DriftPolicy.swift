import KubeCore

/// Drift tests on a model's inputs and outputs, and retraining (crds/driftpolicies.edgeml.io.yaml; DESIGN.md §2).
public struct DriftPolicy: CustomResource {
  public static let kind = "DriftPolicy"
  public static let plural = "driftpolicies"
  public var metadata: ObjectMeta
  public var spec: DriftPolicySpec
  public var status: DriftPolicyStatus?
  public let original: JSONValue
  public init(metadata: ObjectMeta, spec: DriftPolicySpec, status: DriftPolicyStatus?, original: JSONValue) {
    self.metadata = metadata
    self.spec = spec
    self.status = status
    self.original = original
  }
}

public struct DriftPolicySpec: Codable, Sendable, Equatable {
  public var modelRef: LocalObjectReference
  public var source: DriftSource
  public var reference: DriftReference
  public var features: [DriftFeature]
  public var datasetDrift: DatasetDrift?
  public var correction: String?
  public var schedule: DriftSchedule?
  public var performance: PerformanceTrigger?
  public var retraining: RetrainingSpec
}

public struct DriftSource: Codable, Sendable, Equatable {
  public var podMetrics: PodMetricsSource?
  public var prometheus: PrometheusDriftSource?
  public var samples: SamplesSource?
}

/// Per-bucket counts read from Prometheus (docs/drift-policy.md, "Reading from Prometheus").
public struct PrometheusDriftSource: Codable, Sendable, Equatable {
  /// Base URL, e.g. `http://prometheus.monitoring:9090`.
  public var address: String
  /// An instant-vector PromQL query of per-bucket counts; `$window`, `$feature`, `$namespace` and
  /// `$model` are replaced before it is sent.
  public var query: String
  /// Upper bounds of the histogram buckets the drift agents export, per numerical feature
  /// (`edgeml_drift_agent_feature_value_bucket`); not needed when the query reads other histograms.
  public var buckets: [String: [Double]]?

  public init(address: String, query: String, buckets: [String: [Double]]? = nil) {
    self.address = address
    self.query = query
    self.buckets = buckets
  }
}

public struct PodMetricsSource: Codable, Sendable, Equatable {
  public var path: String?
  public var prefix: String?
}

public struct SamplesSource: Codable, Sendable, Equatable {
  public var path: String?
}

public struct DriftReference: Codable, Sendable, Equatable {
  public var configMapRef: KeySelector?
  public var uri: String?
  public var digest: String?
  public var baseline: BaselineReference?
}

public struct BaselineReference: Codable, Sendable, Equatable {
  public var window: String
}

public struct DriftFeature: Codable, Sendable, Equatable {
  public var name: String
  public var type: FeatureType
  public var test: String?
  public var threshold: Double?
}

public enum FeatureType: String, Codable, Sendable { case numerical, categorical }

public struct DatasetDrift: Codable, Sendable, Equatable {
  public var share: Double?
}

public struct DriftSchedule: Codable, Sendable, Equatable {
  public var interval: String?
  public var window: String?
  public var minSamples: Int?
}

public struct PerformanceTrigger: Codable, Sendable, Equatable {
  public var provider: JSONValue
  public var successCondition: String
}

public struct RetrainingSpec: Codable, Sendable, Equatable {
  public var jobTemplate: JSONValue?
  public var cooldown: String?
  public var maxConcurrent: Int?
  public var historyLimit: Int?
  public var promote: PromoteSpec?
  public var federated: FederatedRetraining?
}

public struct PromoteSpec: Codable, Sendable, Equatable {
  public var rollout: JSONValue?
}

public struct FederatedRetraining: Codable, Sendable, Equatable {
  public var rounds: Int?
  public var minClients: Int?
  public var strategy: String?
  public var serverImage: String
  public var clientImage: String
  public var nodeSelector: [String: String]?
  /// How long a round waits for stragglers once `minClients` answered (a Go duration).
  public var roundTimeout: String?
  /// Extra `flwr run --run-config` entries, passed to the app as TOML strings.
  public var runConfig: [String: String]?
}

public struct DriftPolicyStatus: Codable, Sendable, Equatable {
  public var observedGeneration: Int?
  public var lastEvaluation: DriftEvaluation?
  public var conditions: [StatusCondition]?
  public var lastRetrainJob: String?
  public var retrainCount: Int?
  public var message: String?
  /// When the last evaluation was attempted, whether or not it reached a decision (the schedule
  /// and the backoff after a failed one are measured from it).
  public var lastAttemptTime: String?
  /// Evaluations in a row that could not be carried out (agents, reference): the backoff grows with it.
  public var attemptFailures: Int?
  /// When the newest retraining Job was triggered (`cooldown` runs from here).
  public var lastTriggerTime: String?
  /// Retraining Jobs that failed or produced no model, in a row (the wait before the next grows with it).
  public var retrainFailures: Int?
  /// The retraining Jobs the controller still keeps (at most `historyLimit` finished ones), newest last.
  public var retrainJobs: [RetrainJobRecord]?
  /// A retrained model waiting for a person (no `promote.rollout`): roll it out by hand.
  public var awaitingPromotion: CandidateModel?
  public init() {}
}

/// One retraining Job as the DriftPolicy's status remembers it.
public struct RetrainJobRecord: Codable, Sendable, Equatable {
  public var name: String
  /// The trigger's sequence number (1, 2, …); the Job's name ends with it.
  public var trigger: Int
  public var triggeredAt: String?
  /// Running, Succeeded, Failed or NoModel (succeeded without a readable model in its termination message).
  public var phase: String
  /// The model the Job produced.
  public var model: CandidateModel?
  /// The Rollout created for it (`promote.rollout`).
  public var rollout: String?
  public var message: String?
  public init(name: String, trigger: Int, triggeredAt: String?, phase: String) {
    self.name = name
    self.trigger = trigger
    self.triggeredAt = triggeredAt
    self.phase = phase
  }
}

public struct DriftEvaluation: Codable, Sendable, Equatable {
  public var time: String?
  /// The data window evaluated, [windowStart, windowEnd).
  public var windowStart: String?
  public var windowEnd: String?
  /// Serving pods whose agents answered.
  public var pods: Int?
  public var samples: Int?
  public var driftShare: Double?
  public var datasetDrift: Bool?
  public var features: [FeatureResult]?
  public init() {}
}

public struct FeatureResult: Codable, Sendable, Equatable {
  public var name: String?
  public var test: String?
  public var statistic: Double?
  public var pValue: Double?
  /// The decision threshold used: a p-value (tests) or a distance.
  public var threshold: Double?
  public var drifted: Bool?
  public init(name: String, test: String, statistic: Double, pValue: Double?, threshold: Double, drifted: Bool) {
    self.name = name
    self.test = test
    self.statistic = statistic
    self.pValue = pValue
    self.threshold = threshold
    self.drifted = drifted
  }
}
