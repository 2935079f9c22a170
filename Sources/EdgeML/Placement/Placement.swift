import Crypto
import KubeCore

/// Which Jetson nodes may run an EdgeModel and how they group into engine-compatible sets
/// (DESIGN.md §2–3). Pure: the same spec and nodes give the same answer, in the same order.
public enum Placement {
  /// One node that cannot run the model, and the first reason why (in the order the checks run).
  public struct Rejection: Sendable, Equatable {
    public var node: String
    public var reason: String
  }

  /// Nodes that share one TensorRT engine: same module, TensorRT version, GPU architecture and DLA
  /// use. TensorRT plans are tied to the TensorRT version and to the device they were built on
  /// (NVIDIA TensorRT developer guide, "engine compatibility"; shared/reference/jetson/trtexec.md §4),
  /// so nodes of different modules never share one, even at equal compute capability.
  public struct NodeGroup: Sendable, Equatable {
    /// What makes the group: nodes agreeing on these share an engine.
    public let module: String
    public let tensorRT: String
    public let gpuArch: String
    /// The DLA core the engine uses in this group, nil for GPU only.
    public let dlaCore: Int?
    /// Nodes of the group that pass every static check, sorted by name (readiness not considered,
    /// so a node that fails for a while keeps its place in the pod template).
    public var nodes: [String]
    /// Of `nodes`, those Ready and schedulable now.
    public var readyNodes: [String]
    /// The lowest L4T release among the nodes (for status).
    public var l4t: String
    /// Every L4T release among the nodes (the pod template selects them by label).
    public var l4ts: [String]
    /// Whether the group's nodes expose `nvidia.com/gpu` (then pods request one).
    public var deviceplugin: Bool
    /// A short, stable identifier of the group (not of the model version): names its workload.
    /// Worked out once, when the group is made (it is read for every pod and object of the group).
    public let slug: String

    public init(module: String, tensorRT: String, gpuArch: String, dlaCore: Int?, nodes: [String], readyNodes: [String],
                l4t: String, l4ts: [String], deviceplugin: Bool) {
      self.module = module
      self.tensorRT = tensorRT
      self.gpuArch = gpuArch
      self.dlaCore = dlaCore
      self.nodes = nodes
      self.readyNodes = readyNodes
      self.l4t = l4t
      self.l4ts = l4ts
      self.deviceplugin = deviceplugin
      let digest = SHA256.hash(data: Array(Self.identity(module: module, tensorRT: tensorRT, gpuArch: gpuArch, dlaCore: dlaCore).utf8))
      slug = module + "-" + String(lowerHex: digest.prefix(4))
    }

    static func identity(module: String, tensorRT: String, gpuArch: String, dlaCore: Int?) -> String {
      "\(module)|\(tensorRT)|\(gpuArch)|\(dlaCore.map(String.init) ?? "gpu")"
    }
  }

  public struct Result: Sendable, Equatable {
    public var total: Int
    public var rejections: [Rejection]
    public var groups: [NodeGroup]
    /// Nodes that can run the model now.
    public var eligibleCount: Int { groups.reduce(0) { $0 + $1.readyNodes.count } }

    /// "0/7 nodes eligible: 3 module not in [orin-nx-16gb], 2 L4T 35.4.1 < 36.2, 2 NotReady" — reasons
    /// counted, most frequent first (the shape of kube-scheduler's FitError message).
    public var summary: String {
      var counts: [String: Int] = [:]
      for r in rejections { counts[r.reason, default: 0] += 1 }
      let parts = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { "\($0.value) \($0.key)" }
      let head = "\(eligibleCount)/\(total) nodes eligible"
      return parts.isEmpty ? head : head + ": " + parts.joined(separator: ", ")
    }
  }

  /// Checks every node against the spec. Static checks (hardware and software facts, selectors,
  /// taints) decide group membership; readiness and cordons only whether a member counts now.
  public static func evaluate(_ spec: EdgeModelSpec, nodes: [JetsonNode]) -> Result {
    let placement = spec.placement
    let jetson = placement?.jetson
    let range = jetson?.l4t.flatMap(VersionRange.init)
    let tolerations = placement?.tolerations ?? []
    let wantsDLA = spec.engine?.dlaCore
    var rejections: [Rejection] = []
    var members: [String: NodeGroup] = [:]
    var lowest: [String: DottedVersion] = [:]
    for node in nodes.sorted(by: { $0.name < $1.name }) {
      if let reason = staticRejection(node, jetson: jetson, range: range, nodeSelector: placement?.nodeSelector ?? [:],
                                      tolerations: tolerations) {
        rejections.append(Rejection(node: node.name, reason: reason))
        continue
      }
      let dla = wantsDLA.flatMap { $0 < node.dlaCores ? $0 : nil }
      let id = NodeGroup.identity(module: node.module!, tensorRT: node.tensorRT!, gpuArch: node.gpuArch!, dlaCore: dla)
      if members[id] == nil {
        members[id] = NodeGroup(module: node.module!, tensorRT: node.tensorRT!, gpuArch: node.gpuArch!, dlaCore: dla,
                                nodes: [], readyNodes: [], l4t: node.l4t ?? "", l4ts: [], deviceplugin: node.allocatableGPUs != nil)
      }
      // Mutated in place (no copy of the growing arrays per node: large fleets stay linear).
      members[id]!.nodes.append(node.name)
      members[id]!.deviceplugin = members[id]!.deviceplugin && node.allocatableGPUs != nil
      if let l4t = node.l4t, !members[id]!.l4ts.contains(l4t) { members[id]!.l4ts.append(l4t) }
      if let v = node.l4t.flatMap(DottedVersion.init), lowest[id].map({ v < $0 }) ?? true {
        lowest[id] = v
        members[id]!.l4t = v.description
      }
      if let readiness = dynamicRejection(node) {
        rejections.append(Rejection(node: node.name, reason: readiness))
      } else {
        members[id]!.readyNodes.append(node.name)
      }
    }
    let groups = members.values.map { g in var g = g; g.l4ts.sort(); return g }.sorted { $0.slug < $1.slug }
    return Result(total: nodes.count, rejections: rejections, groups: groups)
  }

  static func staticRejection(_ node: JetsonNode, jetson: JetsonRequirements?, range: VersionRange?,
                              nodeSelector: [String: String], tolerations: [Toleration]) -> String? {
    for (k, v) in nodeSelector.sorted(by: { $0.key < $1.key }) where node.labels[k] != v {
      return "node selector \(k)=\(v) not matched"
    }
    if let t = node.taints.first(where: { ($0.effect == "NoSchedule" || $0.effect == "NoExecute") && !isLifecycleTaint($0) && !$0.tolerated(by: tolerations) }) {
      return "untolerated taint \(t.key)"
    }
    guard node.gpuCapable else { return "no GPU" }
    guard let module = node.module, node.tensorRT != nil, node.gpuArch != nil else { return "Jetson facts not labelled" }
    if let modules = jetson?.modules, !modules.isEmpty, !modules.contains(module) {
      return "module not in [\(modules.joined(separator: ", "))]"
    }
    if let min = jetson?.minMemoryMiB, min > 0 {
      guard let mem = node.memoryMiB else { return "memory unknown" }
      if mem < min { return "memory \(mem) MiB < \(min) MiB" }
    }
    if let range {
      guard let l4t = node.l4t, let v = DottedVersion(l4t) else { return "L4T unknown" }
      if let failing = range.failingClause(v) { return "L4T \(failing)" }
    }
    if jetson?.requireDLA == true, node.dlaCores == 0 { return "no DLA" }
    if jetson?.requireSecureBoot == true, !node.secureBoot { return "secure boot off" }
    return nil
  }

  /// Taints the node lifecycle controller and kubelet manage; they track readiness, which is judged
  /// separately (a NotReady node keeps its place in the group).
  static func isLifecycleTaint(_ t: Taint) -> Bool {
    t.key.hasPrefix("node.kubernetes.io/") || t.key.hasPrefix("node.cloudprovider.kubernetes.io/")
  }

  static func dynamicRejection(_ node: JetsonNode) -> String? {
    if !node.ready { return "NotReady" }
    if node.unschedulable { return "cordoned" }
    return nil
  }
}

/// Lower-case hex of a SHA-256 digest of `text`.
func sha256Hex(_ text: String) -> String {
  String(lowerHex: SHA256.hash(data: Array(text.utf8)))
}
