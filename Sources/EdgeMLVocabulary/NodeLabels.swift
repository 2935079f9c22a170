/// The `edgeml.io/` node labels the node agent writes and placement reads
/// (docs/edgemodel-contracts.md §1).
///
/// One list for every target that must agree on them: the node agent sets them, the EdgeModel
/// planner selects nodes by them, EdgeSim's nodes carry them.
public enum NodeLabels {
  /// Every key the agent owns starts with this (the contract: "every label key with the prefix
  /// `edgeml.io/` and no other").
  public static let prefix = "edgeml.io/"

  public static let module = "edgeml.io/jetson.module"
  public static let soc = "edgeml.io/soc"
  public static let gpuArch = "edgeml.io/gpu.arch"
  public static let l4t = "edgeml.io/l4t"
  public static let jetpack = "edgeml.io/jetpack"
  public static let tensorRT = "edgeml.io/tensorrt"
  public static let cuda = "edgeml.io/cuda"
  public static let dlaCores = "edgeml.io/dla.cores"
  public static let memoryMiB = "edgeml.io/memory.mib"
  public static let powerMode = "edgeml.io/power.mode"
  public static let secureBoot = "edgeml.io/secureboot"
}

/// The labels and annotations the operator puts on what it creates (docs/edgemodel-contracts.md).
public enum ObjectLabels {
  /// The EdgeModel a workload, Service or pod belongs to (its name, in the same namespace).
  public static let model = "edgeml.io/model"
  /// The engine-compatible node group of a workload and its pods.
  public static let nodeGroup = "edgeml.io/node-group"
  /// The model version a pod serves.
  public static let version = "edgeml.io/model-version"
  public static let managedBy = "app.kubernetes.io/managed-by"
  public static let managedByValue = "edgeml-operator"
  /// Pod annotation: the engine compatibility key the pod's init container builds for.
  public static let engineKey = "edgeml.io/engine-key"
  /// Which side of a rollout a pod serves: `stable` or `candidate` (docs/rollouts.md).
  public static let track = "edgeml.io/track"
  public static let stableTrack = "stable"
  public static let candidateTrack = "candidate"
  /// Annotation: the digest of what the operator last applied to an object.
  public static let appliedHash = "edgeml.io/applied-hash"
  /// DaemonSet annotation: the candidate hash of the fleet rollout whose template it carries (with
  /// `updateStrategy: OnDelete`, so only the pods the rollout evicts move to it).
  public static let fleetRollout = "edgeml.io/fleet-rollout"
}
