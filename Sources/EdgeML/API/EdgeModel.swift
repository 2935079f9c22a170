import KubeCore

/// An ML model served on Jetson nodes (crds/edgemodels.edgeml.io.yaml; DESIGN.md §2).
public struct EdgeModel: CustomResource {
  public static let kind = "EdgeModel"
  public static let plural = "edgemodels"
  public var metadata: ObjectMeta
  public var spec: EdgeModelSpec
  public var status: EdgeModelStatus?
  public let original: JSONValue
  public init(metadata: ObjectMeta, spec: EdgeModelSpec, status: EdgeModelStatus?, original: JSONValue) {
    self.metadata = metadata
    self.spec = spec
    self.status = status
    self.original = original
  }
}

public struct EdgeModelSpec: Codable, Sendable, Equatable {
  public var model: ModelSource
  public var engine: EngineSpec?
  public var placement: PlacementSpec?
  public var serving: ServingSpec
}

/// The model artifact and how to trust it.
public struct ModelSource: Codable, Sendable, Equatable {
  public var uri: String
  public var digest: String?
  public var format: ModelFormat?
  public var version: String?
  /// The most bytes one fetch may write on a node (a quantity); the engine's default is 4Gi.
  public var sizeLimit: IntOrString?
  public var encryption: ModelEncryption?
  public var signature: ModelSignature?
  /// How a model named by an MLflow alias (`mlflow://NAME@ALIAS`) follows the alias (docs/mlflow.md).
  public var follow: ModelFollow?
}

/// What the operator does when the MLflow alias of `model.uri` moves to another version.
public struct ModelFollow: Codable, Sendable, Equatable {
  public var mode: FollowMode?
  /// How often the alias is resolved, a duration (`30s`, `5m`); default `ModelFollow.defaultInterval`.
  public var interval: String?
  /// The Rollout spec fields (strategy, trafficRouting, analysis, abortOnFailure) of each Rollout
  /// started for a new version in mode `rollout`; `modelRef` and `candidate` are the operator's.
  public var rollout: JSONValue?
  public init(mode: FollowMode? = nil, interval: String? = nil, rollout: JSONValue? = nil) {
    self.mode = mode
    self.interval = interval
    self.rollout = rollout
  }
}

/// `update`: the serving pods move to the new version at once (a new engine build, a rolling
/// update); `rollout`: a Rollout moves them, with its steps and analysis.
public enum FollowMode: String, Codable, Sendable { case update, rollout }

public enum ModelFormat: String, Codable, Sendable { case onnx, tensorrtPlan = "tensorrt-plan" }

public struct ModelEncryption: Codable, Sendable, Equatable {
  public var keySecretRef: KeySelector
}

public struct ModelSignature: Codable, Sendable, Equatable {
  public var publicKeySecretRef: KeySelector
  public var uri: String
}

/// How the init container builds the TensorRT engine.
public struct EngineSpec: Codable, Sendable, Equatable {
  public var precision: Precision?
  public var calibration: Calibration?
  public var dlaCore: Int?
  public var allowGPUFallback: Bool?
  public var workspaceMiB: Int?
  public var shapes: EngineShapes?
  public var builderImage: String?
  public var cache: EngineCache?
  public var acceptance: EngineAcceptance?
}

public enum Precision: String, Codable, Sendable { case fp32, fp16, int8, best }

public struct Calibration: Codable, Sendable, Equatable {
  public var uri: String
  public var digest: String
}

public struct EngineShapes: Codable, Sendable, Equatable {
  public var min: String?
  public var opt: String?
  public var max: String?
}

public struct EngineCache: Codable, Sendable, Equatable {
  public var hostPath: String?
  /// A ReadWriteMany claim the nodes of a group share, so each group builds its engine once.
  public var sharedClaimName: String?
}

public struct EngineAcceptance: Codable, Sendable, Equatable {
  public var maxLatencyMs: Double?
  public var minThroughputQPS: Double?
}

/// Which nodes may run the model, and how many pods.
public struct PlacementSpec: Codable, Sendable, Hashable {
  public var jetson: JetsonRequirements?
  public var nodeSelector: [String: String]?
  public var tolerations: [Toleration]?
  public var mode: PlacementMode?
  public var replicas: Int?
  /// The PodDisruptionBudget of each node group's serving pods (default: maxUnavailable 1).
  public var disruptionBudget: DisruptionBudgetSpec?
}

/// Exactly one of the two (a CEL rule in the CRD), as in a PodDisruptionBudget.
public struct DisruptionBudgetSpec: Codable, Sendable, Hashable {
  public var maxUnavailable: IntOrString?
  public var minAvailable: IntOrString?
}

public struct JetsonRequirements: Codable, Sendable, Hashable {
  public var modules: [String]?
  public var minMemoryMiB: Int?
  public var l4t: String?
  public var requireDLA: Bool?
  public var requireSecureBoot: Bool?
}

public struct Toleration: Codable, Sendable, Hashable {
  public var key: String?
  public var `operator`: String?
  public var value: String?
  public var effect: String?
  public var tolerationSeconds: Int?
}

public enum PlacementMode: String, Codable, Sendable, Hashable { case deployment = "Deployment", daemonSet = "DaemonSet" }

/// The inference server.
public struct ServingSpec: Codable, Sendable, Equatable {
  public var image: String
  public var modelRepositoryLayout: RepositoryLayout?
  public var ports: ServingPorts?
  public var runtimeClassName: String?
  public var resources: ResourceRequirements?
}

public enum RepositoryLayout: String, Codable, Sendable { case triton, plain }

public struct ServingPorts: Codable, Sendable, Equatable {
  public var http: Int?
  public var grpc: Int?
  public var metrics: Int?
}

public struct ResourceRequirements: Codable, Sendable, Equatable {
  public var limits: [String: IntOrString]?
  public var requests: [String: IntOrString]?
}

public struct EdgeModelStatus: Codable, Sendable, Equatable {
  public var observedGeneration: Int?
  public var phase: EdgeModelPhase?
  public var conditions: [StatusCondition]?
  public var placement: PlacementStatus?
  public var engines: [EngineStatus]?
  public var readyReplicas: Int?
  public var currentVersion: String?
  public var builder: BuilderRecord?
  /// The candidate a Rollout runs beside the stable model, while one does.
  public var candidate: CandidateStatus?
  /// What the MLflow alias of `spec.model.uri` names, the version served, and their digests (models
  /// from MLflow whose `spec.model.digest` is not given).
  public var follow: FollowStatus?
  /// The digests the operator read for `mlflow://NAME/VERSION` models that Rollouts name without
  /// one (a candidate, or a promoted candidate the stable workloads serve), while they are planned:
  /// a restarted operator reads none of them again (docs/mlflow.md, "Rollout candidates").
  public var pins: [ModelPin]?
  public init() {}
}

/// The sha256 of an MLflow model version's file, read by the operator once (MLflow keeps none).
public struct ModelPin: Codable, Sendable, Equatable {
  /// `mlflow://NAME/VERSION`.
  public var uri: String
  public var digest: String
  public init(uri: String, digest: String) {
    self.uri = uri
    self.digest = digest
  }
}

/// Where a followed MLflow alias stands, and the digests the operator pinned (docs/mlflow.md).
public struct FollowStatus: Codable, Sendable, Equatable {
  /// The `mlflow://NAME@ALIAS` (or `mlflow://NAME/VERSION` without a digest) this status is about;
  /// another `spec.model.uri` starts over.
  public var uri: String?
  /// The version the alias named at the last successful look.
  public var resolvedVersion: String?
  /// When `resolvedVersion` last changed.
  public var resolvedAt: String?
  /// The sha256 of `resolvedVersion`'s model file, read by the operator once (MLflow keeps none).
  public var resolvedDigest: String?
  /// The version the stable workloads build and serve, pinned as `mlflow://NAME/VERSION`.
  public var servingVersion: String?
  /// The sha256 of `servingVersion`'s model file: the `--model-digest` its engine builds check.
  public var servingDigest: String?
  /// The Rollout moving the model to `resolvedVersion` (mode `rollout`), while there is one.
  public var rollout: String?
  public var message: String?
  public init() {}
}

/// The candidate workloads of a Rollout in progress, as the EdgeModel controller planned them.
public struct CandidateStatus: Codable, Sendable, Equatable {
  /// The Rollout that asked for them.
  public var rollout: String?
  /// `RolloutPlanner.candidateHash` of the Rollout they were planned for.
  public var hash: String?
  public var version: String?
  /// The candidate weight the replicas were planned for.
  public var weight: Int?
  /// Candidate pods wanted, and ready (Ready, not terminating, on the candidate's engines).
  public var replicas: Int?
  public var readyReplicas: Int?
  public var engines: [EngineStatus]?
  /// The rollout is promoting and the stable workloads are Ready on the candidate's engines.
  public var stableServesCandidate: Bool?
  /// A fleet rollout (strategy.fleet): the nodes moved to the candidate so far.
  public var fleet: FleetReport?
  /// Why the candidate has no workloads yet: its `mlflow://NAME/VERSION` has no digest and its
  /// model file could not be read to pin one (the Rollout waits on it).
  public var message: String?
  public init() {}
}

/// Where a fleet rollout stands on the nodes, as the EdgeModel controller sees its pods.
public struct FleetReport: Codable, Sendable, Equatable {
  /// Nodes that run the model (every node of its node groups, Ready or not).
  public var eligibleNodes: Int?
  /// Nodes that should run the candidate by the end of the current wave.
  public var targetNodes: Int?
  /// Nodes whose serving pod runs the candidate and is Ready.
  public var updatedNodes: Int?
  /// Nodes moved to the candidate whose pod or node failed, with what went wrong.
  public var failedNodes: [FailedNode]?
  public init() {}
}

public struct FailedNode: Codable, Sendable, Equatable {
  public var node: String
  public var reason: String
  public var message: String
  public init(node: String, reason: String, message: String) {
    self.node = node
    self.reason = reason
    self.message = message
  }
}

/// The engine builder image a model's pod templates use, and the model it was chosen for.
public struct BuilderRecord: Codable, Sendable, Equatable {
  public var image: String?
  public var model: String?
  public init(image: String?, model: String?) {
    self.image = image
    self.model = model
  }
}

public enum EdgeModelPhase: String, Codable, Sendable { case pending = "Pending", building = "Building", ready = "Ready", degraded = "Degraded", failed = "Failed" }

public struct PlacementStatus: Codable, Sendable, Equatable {
  public var eligibleNodes: Int?
  public var nodeGroups: Int?
  public var unschedulableReason: String?
}

public struct EngineStatus: Codable, Sendable, Equatable {
  public var key: String?
  public var nodeGroup: NodeGroupFacts?
  public var state: EngineState?
  public var buildSeconds: Double?
  public var cacheHits: Int?
  public var sizeBytes: Int?
  public var message: String?
}

public struct NodeGroupFacts: Codable, Sendable, Equatable {
  public var module: String?
  public var l4t: String?
  public var tensorrt: String?
  public var gpuArch: String?
}

/// Where a node group's engine is: its pods wait for a node (`pending`: the scheduler found none, so
/// nothing builds), an `engine` init container runs or starts on a node (`building`), or it finished.
public enum EngineState: String, Codable, Sendable { case pending = "Pending", building = "Building", built = "Built", failed = "Failed" }
