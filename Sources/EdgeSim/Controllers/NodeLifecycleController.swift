import Foundation
import KubeCore
import Logging

/// Watches node heartbeats and evicts pods from lost nodes (pkg/controller/nodelifecycle and
/// pkg/controller/tainteviction).
///
/// A node whose Lease was not renewed for the grace period (`--node-monitor-grace-period`, 50 s
/// since v1.32, scaled) gets every condition set to `Unknown` ("Kubelet stopped posting node
/// status.") and the taints `node.kubernetes.io/unreachable` NoSchedule and NoExecute, and its pods
/// lose `Ready`. When the
/// kubelet posts `Ready=True` again, the taints go. A pod on a node with a NoExecute taint is
/// deleted at once if it does not tolerate it, or after its `tolerationSeconds` (scaled; 300 s via
/// the DefaultTolerationSeconds admission the emulator applies), counted from the taint's `timeAdded`.
struct NodeLifecycleController: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let logger: Logger
  let events: EventRecorder

  static let unreachable = "node.kubernetes.io/unreachable"


  /// Reconciles one node (key: cluster-scoped name).
  func reconcileNode(_ key: ObjectKey) async -> Duration? {
    guard let node = api.get(Keys.nodes, name: key.name) else { return nil }
    let lease = api.get(Keys.leases, namespace: "kube-node-lease", name: key.name)
    let renewed = parseRFC3339(lease?[path: ["spec", "renewTime"]]?.stringValue) ?? parseRFC3339(node.creationTimestamp) ?? Date()
    let grace = runtime.nodeGraceSeconds
    let silent = Date().timeIntervalSince(renewed)
    let now = rfc3339(Date())
    var taints = node[path: ["spec", "taints"]]?.arrayValue ?? []
    let hasTaint = taints.contains { $0["key"]?.stringValue == Self.unreachable }
    if silent > grace {
      if node.conditionStatus("Ready") != "Unknown" {
        var conditions = node[path: ["status", "conditions"]]?.arrayValue ?? []
        for i in conditions.indices {
          let type = conditions[i]["type"]?.stringValue ?? ""
          setCondition(&conditions, type: type, status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.",
                       now: now, extra: ["lastHeartbeatTime": conditions[i]["lastHeartbeatTime"] ?? .string(now)])
        }
        _ = try? api.mergePatch(Paths.node(key.name) + "/status", ["status": ["conditions": .array(conditions)]])
        events.record(node, kind: "Node", reason: "NodeNotReady", message: "Node \(key.name) status is now: NodeNotReady")
        markPodsNotReady(on: key.name, now: now)
      }
      if !hasTaint {
        taints.append(["key": .string(Self.unreachable), "effect": "NoSchedule", "timeAdded": .string(now)])
        taints.append(["key": .string(Self.unreachable), "effect": "NoExecute", "timeAdded": .string(now)])
        _ = try? api.mergePatch(Paths.node(key.name), ["spec": ["taints": .array(taints)]])
      }
      return nil
    }
    if hasTaint && node.conditionStatus("Ready") == "True" {
      taints.removeAll { $0["key"]?.stringValue == Self.unreachable }
      _ = try? api.mergePatch(Paths.node(key.name), ["spec": ["taints": taints.isEmpty ? JSONValue.null : .array(taints)]])
    }
    // Look again when the grace period would run out without a renewal.
    return .milliseconds(Int((grace - silent) * 1000) + 5)
  }

  /// The pods of a node that stopped reporting are no longer Ready (pkg/controller/util/node
  /// `MarkPodsNotReady`): endpoints and ReplicaSets stop counting them.
  private func markPodsNotReady(on node: String, now: String) {
    for pod in api.list(Keys.pods) where pod.nodeName == node && !pod.isTerminal && pod.conditionStatus("Ready") == "True" {
      var conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
      setCondition(&conditions, type: "Ready", status: "False", now: now, extra: ["lastProbeTime": nil])
      _ = try? api.mergePatch(Paths.pod(pod.namespace, pod.name) + "/status", ["status": ["conditions": .array(conditions)]])
      events.record(pod, kind: "Pod", type: "Warning", reason: "NodeNotReady", message: "Node is not ready")
    }
  }

  /// Taint-based eviction of one pod (tainteviction/taint_eviction.go `processPodOnNode`).
  func reconcilePod(_ key: ObjectKey) async -> Duration? {
    guard let pod = api.get(Keys.pods, namespace: key.namespace, name: key.name), !pod.isDeleting, !pod.nodeName.isEmpty,
          let node = api.get(Keys.nodes, name: pod.nodeName) else { return nil }
    let taints = (node[path: ["spec", "taints"]]?.arrayValue ?? []).filter { $0["effect"]?.stringValue == "NoExecute" }
    guard !taints.isEmpty else { return nil }
    let tolerations = pod[path: ["spec", "tolerations"]]?.arrayValue ?? []
    var wait: Double?
    for taint in taints {
      let matching = tolerations.filter { NodeFit.toleration(matches: $0, taint: taint) }
      if matching.isEmpty { wait = 0; break }
      // The shortest tolerationSeconds applies; none means "tolerate forever" (getMinTolerationTime).
      let seconds = matching.compactMap { $0["tolerationSeconds"]?.doubleValue }.min()
      guard let seconds else { continue }
      let added = parseRFC3339(taint["timeAdded"]?.stringValue) ?? Date()
      let left = max(0, seconds) * runtime.speed - Date().timeIntervalSince(added)
      wait = min(wait ?? left, left)
    }
    guard let wait else { return nil }
    if wait > 0 { return .milliseconds(Int(wait * 1000) + 1) }
    events.record(pod, kind: "Pod", reason: "TaintManagerEviction", message: "Marking for deletion Pod \(key.namespace)/\(key.name)")
    _ = try? api.delete(Paths.pod(key.namespace, key.name))
    return nil
  }
}
