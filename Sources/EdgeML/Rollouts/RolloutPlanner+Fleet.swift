import KubeCore

/// The `fleet` strategy: the model moves node by node, in waves, on an EdgeModel in DaemonSet mode
/// (one serving pod per node). Each wave sets how many nodes run the candidate by its end; the
/// EdgeModel controller moves them (`EdgeModelPlanner.fleetPlan`) at most `maxUnavailable` at a
/// time, and reports the nodes in `EdgeModel.status.candidate.fleet`. A wave is done when its nodes
/// serve the candidate, Ready; then the rollout's analysis (every metric of `spec.analysis`) runs
/// on them before the next wave. A moved node that fails (NotReady, its engine or pod failed) stops
/// the rollout at that wave and names the node (docs/rollouts.md, "Fleet waves").
extension RolloutPlanner {
  /// Nodes that run the candidate by the end of wave `wave` (counted from 0), of `eligible`: a
  /// `nodes` wave adds that many to the waves before it; a `percent` wave brings the total to that
  /// share of the nodes, rounded up (as a DaemonSet's percentage `maxUnavailable` is), never less
  /// than before.
  public static func fleetTarget(_ fleet: FleetStrategy, wave: Int, eligible: Int) -> Int {
    var target = 0
    for (i, w) in fleet.waves.enumerated() where i <= wave {
      if let n = w.nodes {
        target += max(0, n)
      } else if let p = w.percent {
        target = max(target, (eligible * min(max(p, 0), 100) + 99) / 100)
      }
    }
    return min(eligible, target)
  }

  /// The target the EdgeModel works towards now: the current wave's, or every node once the waves
  /// are done (promotion moves the rest).
  public static func fleetTarget(_ rollout: Rollout, eligible: Int) -> Int {
    guard let fleet = rollout.spec.strategy.fleet else { return 0 }
    let wave = rollout.status?.currentStep ?? 0
    if rollout.status?.promotedAt != nil || wave >= fleet.waves.count { return eligible }
    return fleetTarget(fleet, wave: wave, eligible: eligible)
  }

  /// `maxUnavailable` as a node count (a percentage rounds up, at least 1: a DaemonSet's rolling
  /// update reads it the same way, apps/v1 RollingUpdateDaemonSet).
  public static func fleetMaxUnavailable(_ fleet: FleetStrategy, eligible: Int) -> Int {
    switch fleet.maxUnavailable {
    case .int(let n)?: return max(1, n)
    case .string(let s)?:
      if s.hasSuffix("%"), let p = Int(s.dropLast()) { return max(1, (eligible * p + 99) / 100) }
      return max(1, Int(s) ?? 1)
    case nil: return 1
    }
  }
}

extension RolloutPlanner.Planning {
  var waves: [FleetWave] { spec.strategy.fleet?.waves ?? [] }

  /// Walks the waves from the current one as far as the nodes allow.
  mutating func runFleet(_ model: EdgeModel) {
    guard let fleet = spec.strategy.fleet else { return }
    for _ in 0...waves.count {
      guard status.phase == .progressing else { return }
      if step >= waves.count {
        promote(model)
        return
      }
      guard let report = candidate(model)?.fleet, let eligible = report.eligibleNodes else {
        waiting("NodesUpdating", "wave \(step): waiting for EdgeModel \(spec.modelRef.name) to report its nodes")
        return
      }
      status.fleet = report
      let updated = report.updatedNodes ?? 0
      status.candidateWeight = eligible > 0 ? updated * 100 / eligible : 0
      status.stableWeight = 100 - (status.candidateWeight ?? 0)
      if let failed = report.failedNodes?.first {
        let why = "wave \(step): node \(failed.node) failed on the candidate (\(failed.reason)): \(failed.message)"
        if spec.abortOnFailure ?? true {
          abort("NodeFailed", why)
        } else {
          pause("NodeFailed", why + "; kubectl edgeml resume continues once the node is fixed, abort rolls back")
        }
        return
      }
      let target = RolloutPlanner.fleetTarget(fleet, wave: step, eligible: eligible)
      guard report.targetNodes == target, updated >= target else {
        waiting("WaveInProgress", "wave \(step): \(updated)/\(target) node(s) on the candidate, \(eligible) in all, at most "
          + "\(RolloutPlanner.fleetMaxUnavailable(fleet, eligible: eligible)) unavailable at a time")
        return
      }
      if !(spec.analysis?.metrics ?? []).isEmpty {
        guard analyse(AnalysisStep(metrics: nil)) else { return }
      }
      event("Normal", "WaveCompleted", "wave \(step): \(updated)/\(eligible) node(s) serve the candidate")
      next()
    }
  }
}
