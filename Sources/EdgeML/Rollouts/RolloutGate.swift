import KubeCore

/// The manual gates of a Rollout (`kubectl edgeml promote|abort|pause|resume|retry`), as a request
/// in the Rollout's status subresource.
///
/// *Why the status subresource*: a GitOps tool owns the Rollout's spec, annotations and labels (what
/// is in git); it never owns `status`, which it neither applies nor compares. A request written
/// there cannot be reverted by a sync and shows as no drift, and the controller, which writes
/// status anyway, consumes it (removes it and records `lastRequest`) in the same write. A user
/// needs `patch` on `rollouts/status` (the `edgeml-rollout-gates` ClusterRole, aggregated to
/// `edit`). Argo Rollouts' plugin also writes status for promote and abort (`status.abort`,
/// `status.promoteFull`, docs "kubectl argo rollouts promote").
public enum RolloutGate {
  /// The merge patch of the status subresource that asks for `action`.
  public static func request(_ action: RolloutAction, full: Bool = false, by user: String?, at time: String) -> JSONValue {
    var request: JSONObject = ["action": .string(action.rawValue), "requestedAt": .string(time)]
    if full { request["full"] = true }
    if let user, !user.isEmpty { request["requestedBy"] = .string(String(user.prefix(256))) }
    return ["status": ["request": .object(request)]]
  }

  /// What the controller made of the request asked at `time`, once it acted on it.
  public static func outcome(of rollout: Rollout, requestedAt time: String) -> String? {
    guard let last = rollout.status?.lastRequest, last.requestedAt == time else { return nil }
    return last.outcome
  }

  /// A person's view of a rollout: where it is, what it waits for, what decided.
  public static func describe(_ r: Rollout) -> String {
    let s = r.status
    let steps = r.spec.strategy.canary?.steps ?? []
    var lines: [String] = []
    lines.append("Name:       \(r.metadata.namespace ?? "")/\(r.metadata.name ?? "")")
    lines.append("Model:      \(r.spec.modelRef.name) → candidate \(r.spec.candidate.model.version ?? r.spec.candidate.model.uri)")
    lines.append("Phase:      \(s?.phase?.rawValue ?? "Pending (not seen by the controller yet)")")
    if let step = s?.currentStep, !steps.isEmpty {
      lines.append("Step:       \(min(step, steps.count))/\(steps.count)" + (step < steps.count ? " (\(describe(steps[step])))" : " (all done)"))
    }
    if let fleet = r.spec.strategy.fleet {
      let wave = s?.currentStep ?? 0
      lines.append("Wave:       \(min(wave, fleet.waves.count))/\(fleet.waves.count)" + (wave < fleet.waves.count ? " (\(describe(fleet.waves[wave])))" : " (all done)"))
      if let f = s?.fleet {
        lines.append("Nodes:      \(f.updatedNodes ?? 0)/\(f.eligibleNodes ?? 0) on the candidate, \(f.targetNodes ?? 0) by the end of this wave")
        for n in f.failedNodes ?? [] { lines.append("  failed:   \(n.node) (\(n.reason)): \(n.message)") }
      }
    } else {
      lines.append("Traffic:    stable \(s?.stableWeight ?? 100)%, candidate \(s?.candidateWeight ?? 0)%")
    }
    if let p = s?.pause { lines.append("Paused:     \(p.reason) since \(p.since)" + (p.until.map { ", until \($0)" } ?? "")) }
    if let a = s?.abort { lines.append("Aborted:    \(a.reason) at \(a.at): \(a.message)") }
    if let m = s?.message { lines.append("Message:    \(m)") }
    if let l = s?.lastRequest {
      lines.append("Last gate:  \(l.action.rawValue)\(l.full == true ? " --full" : "") by \(l.requestedBy ?? "?") at \(l.handledAt): \(l.outcome)")
    }
    if let q = s?.request { lines.append("Pending:    \(q.action.rawValue) by \(q.requestedBy ?? "?"), not yet acted on") }
    let results = (s?.analysisRuns ?? []).compactMap { try? ModelCoding.decode(MetricResult.self, from: $0) }
    if !results.isEmpty {
      lines.append("Analysis:")
      for r in results {
        lines.append("  \(r.name): \(r.phase?.rawValue ?? "Pending") (\(r.successful) successful, \(r.failed) failed, \(r.inconclusive) inconclusive, \(r.error) errors)"
          + (r.message.map { " — \($0)" } ?? ""))
        for m in r.measurements.suffix(3) {
          lines.append("    \(m.startedAt)  \(m.phase.rawValue)" + (m.value.map { "  value=\($0)" } ?? "") + (m.message.map { "  \($0)" } ?? ""))
        }
      }
    }
    if !steps.isEmpty {
      lines.append("Steps:")
      for (i, step) in steps.enumerated() {
        let mark = i < (s?.currentStep ?? 0) ? "✓" : i == (s?.currentStep ?? 0) && s?.phase != .promoted ? "▶" : " "
        lines.append("  \(mark) \(i): \(describe(step))")
      }
    }
    return lines.joined(separator: "\n")
  }

  static func describe(_ wave: FleetWave) -> String {
    wave.nodes.map { "\($0) more node(s)" } ?? wave.percent.map { "up to \($0)% of the nodes" } ?? "?"
  }

  static func describe(_ step: CanaryStep) -> String {
    if let w = step.setWeight { return "setWeight \(w)" }
    if let p = step.pause { return p.duration.map { "pause \($0)" } ?? "pause until resumed" }
    if let a = step.analysis { return "analysis" + (a.metrics.map { " of \($0.joined(separator: ", "))" } ?? "") }
    return "?"
  }
}
