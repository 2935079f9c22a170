import ControllerRuntime
import EdgeMLVocabulary
import KubeCore

/// A fleet rollout (Rollout `strategy.fleet`) on a DaemonSet-mode model: the EdgeModel's own
/// DaemonSets carry the candidate's template with `updateStrategy: OnDelete`, so no pod changes by
/// itself; the pods of the nodes a wave moves are evicted (policy/v1 Eviction, so the node group's
/// PodDisruptionBudget is honoured too) and the DaemonSet controller re-creates them on the
/// candidate. Which nodes run what is read back from the pods (their engine key), never kept
/// anywhere else: a controller killed at any moment sees the same fleet again.
///
/// - Abort: the rollout is no longer active, the template goes back to the stable model with a
///   rolling update, and the DaemonSet controller returns the moved nodes one at a time.
/// - Promotion: the template is already the candidate's, so the nodes already moved keep their pods;
///   the rest are moved the same way, then the rolling update strategy comes back.
extension EdgeModelPlanner {
  struct FleetPlan: Sendable, Equatable {
    var report: FleetReport
    /// Serving pods to evict now, by name.
    var evictions: [String]
    /// Every node able to move (Ready, schedulable) serves the candidate, Ready.
    var complete: Bool
  }

  /// The fleet's nodes and the pods to evict for the current wave.
  ///
  /// - Parameters:
  ///   - candidateKeys: the candidate's engine key per node group (same order as `groups`).
  ///   - applied: every DaemonSet of the model already carries the candidate's template with
  ///     OnDelete (a pod evicted before would come back on the stable model).
  ///   - target: nodes that should serve the candidate by the end of the wave, given the eligible
  ///     count this function works out (`RolloutPlanner.fleetTarget`).
  static func fleetPlan(fleet: FleetStrategy, groups: [Placement.NodeGroup], candidateKeys: [String], nodes: [JetsonNode],
                        pods: [JSONValue], applied: Bool, target: (_ eligible: Int) -> Int) -> FleetPlan {
    // A pod's group is its label's (a node that went NotReady, tainted, may have left the groups
    // placement makes, but its pod is still the fleet's to judge).
    let slugs = Dictionary(groups.enumerated().map { ($1.slug, $0) }, uniquingKeysWith: { a, _ in a })
    let movable = Set(groups.flatMap(\.readyNodes))
    let nodeReady = Dictionary(nodes.map { ($0.name, $0.ready) }, uniquingKeysWith: { a, _ in a })
    var live: [String: JSONValue] = [:]
    var groupOf: [String: Int] = [:]
    var leaving: Set<String> = []
    for pod in pods {
      let node = pod[path: ["spec", "nodeName"]]?.stringValue ?? ""
      guard !node.isEmpty, let g = slugs[pod[path: ["metadata", "labels", Labels.nodeGroup]]?.stringValue ?? ""] else { continue }
      if holdsPlace(pod) {
        live[node] = pod
        groupOf[node] = g
      } else if pod[path: ["metadata", "deletionTimestamp"]] != nil {
        leaving.insert(node)
      }
    }
    func onCandidate(_ node: String) -> Bool {
      guard let pod = live[node], let g = groupOf[node] else { return false }
      return pod[path: ["metadata", "annotations", Labels.engineKey]]?.stringValue == candidateKeys[g]
    }
    let updated = Set(live.keys.filter(onCandidate))
    // A node whose pod was just evicted and not yet re-created is on its way to the candidate.
    let inFlight = leaving.subtracting(live.keys)
    let readyUpdated = updated.filter { isReady(live[$0]!) && nodeReady[$0] == true }
    // Unavailable: nodes of the fleet (movable, or moved) without a Ready serving pod. A node down
    // before it was moved is not counted: it would stall every wave of a fleet with a node offline.
    let fleetNodes = movable.union(updated)
    let eligible = fleetNodes.count
    let unavailable = fleetNodes.filter { n in !(live[n].map(isReady) == true && nodeReady[n] == true) }.count

    var failed: [FailedNode] = []
    for node in updated.sorted() {
      let pod = live[node]!
      if nodeReady[node] != true {
        failed.append(FailedNode(node: node, reason: "NodeNotReady", message: "node \(node) is not Ready since it was moved to the candidate"))
      } else if let failure = engineOutcome(pod).failure {
        let text = [failure.reason, failure.message].compactMap { $0 }.joined(separator: ": ")
        failed.append(FailedNode(node: node, reason: "EngineFailed", message: text.isEmpty ? "engine build failed" : text))
      } else if pod[path: ["status", "phase"]]?.stringValue == "Failed" {
        failed.append(FailedNode(node: node, reason: "PodFailed", message: "pod \(pod[path: ["metadata", "name"]]?.stringValue ?? "") failed"))
      }
    }

    let want = target(eligible)
    var evictions: [String] = []
    let budget = RolloutPlanner.fleetMaxUnavailable(fleet, eligible: eligible) - unavailable
    let toMove = want - updated.count - inFlight.count
    if applied, failed.isEmpty, budget > 0, toMove > 0 {
      let next = waveOrder(movable, by: fleet.waveOrder?.labelKey, nodes: nodes).filter { node in
        guard let pod = live[node] else { return false }
        return !onCandidate(node) && isReady(pod)
      }
      evictions = next.prefix(min(budget, toMove)).compactMap { live[$0]?[path: ["metadata", "name"]]?.stringValue }
    }
    var report = FleetReport()
    report.eligibleNodes = eligible
    report.targetNodes = want
    report.updatedNodes = readyUpdated.count
    report.failedNodes = failed.isEmpty ? nil : Array(failed.prefix(64))
    return FleetPlan(report: report, evictions: evictions, complete: !movable.isEmpty && movable.isSubset(of: readyUpdated))
  }

  /// The order nodes move in: by the value of the wave-order label (nodes without it last), then by
  /// name, so every pass (and every controller after a restart) picks the same next nodes.
  static func waveOrder(_ names: Set<String>, by labelKey: String?, nodes: [JetsonNode]) -> [String] {
    guard let labelKey else { return names.sorted() }
    let labels = Dictionary(nodes.map { ($0.name, $0.labels[labelKey]) }, uniquingKeysWith: { a, _ in a })
    return names.sorted { a, b in
      switch (labels[a] ?? nil, labels[b] ?? nil) {
      case let (x?, y?) where x != y: return x < y
      case (_?, nil): return true
      case (nil, _?): return false
      default: return a < b
      }
    }
  }

  /// Whether every DaemonSet of the model already carries the fleet rollout `hash`'s template.
  static func fleetApplied(_ daemonSets: [JSONValue], names: [String], hash: String) -> Bool {
    let marked = Set(daemonSets.compactMap { ds -> String? in
      guard ds[path: ["metadata", "annotations", Labels.fleetRollout]]?.stringValue == hash else { return nil }
      return ds[path: ["metadata", "name"]]?.stringValue
    })
    return !names.isEmpty && names.allSatisfy(marked.contains)
  }

  /// What a pod's `engine` init container said: its result when it finished, its failure when it
  /// failed (now, or in the attempt before a restart).
  static func engineOutcome(_ pod: JSONValue) -> (result: EngineResult?, failure: EngineResult?) {
    guard let engine = (pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []).first(where: { $0["name"] == "engine" }) else {
      return (nil, nil)
    }
    if let t = engine[path: ["state", "terminated"]] {
      let r = EngineResult(terminationMessage: t["message"]?.stringValue ?? "")
      return t["exitCode"]?.intValue == 0 ? (r ?? EngineResult(), nil) : (nil, r ?? failedWithoutResult(t))
    }
    if let t = engine[path: ["lastState", "terminated"]], t["exitCode"]?.intValue != 0 {
      // Restarting after a failure (CrashLoopBackOff between attempts): the last attempt's word stands.
      return (nil, EngineResult(terminationMessage: t["message"]?.stringValue ?? "") ?? failedWithoutResult(t))
    }
    return (nil, nil)
  }
}
