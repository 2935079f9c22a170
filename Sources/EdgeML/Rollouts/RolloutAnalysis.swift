import KubeCore

/// The analysis of a Rollout's current step, as its status keeps it: one `MetricResult` per metric
/// (counters and the last measurements) in `status.analysisRuns`, started afresh at each step.
public enum RolloutAnalysis {
  /// The metrics the current step analyses (none when the step is not an analysis; all of them for
  /// a fleet wave).
  public static func metrics(of rollout: Rollout) -> [AnalysisMetric] {
    // A fleet wave analyses every metric once its nodes serve the candidate.
    if rollout.spec.strategy.fleet != nil { return rollout.spec.analysis?.metrics ?? [] }
    guard let steps = rollout.spec.strategy.canary?.steps, let step = rollout.status?.currentStep, step < steps.count,
          let analysis = steps[step].analysis else { return [] }
    let all = rollout.spec.analysis?.metrics ?? []
    guard let names = analysis.metrics, !names.isEmpty else { return all }
    return names.compactMap { name in all.first { $0.name == name } }
  }

  /// The results in status, by metric name.
  public static func results(of rollout: Rollout) -> [String: MetricResult] {
    var out: [String: MetricResult] = [:]
    for json in rollout.status?.analysisRuns ?? [] {
      if let r = try? ModelCoding.decode(MetricResult.self, from: json) { out[r.name] = r }
    }
    return out
  }

  /// `results` as status keeps them, in the order of `metrics`.
  public static func encode(_ results: [String: MetricResult], order metrics: [AnalysisMetric]) -> [JSONValue] {
    metrics.compactMap { results[$0.name] }.map { ModelCoding.encode($0) }
  }

  /// Each metric's verdict for the planner: decided by `assessMetric` (Argo Rollouts' limits and
  /// count), else when its next measurement is due (`measurementInterval` after the last one).
  public static func verdicts(for rollout: Rollout, now: Timestamp) -> [String: RolloutPlanner.MetricVerdict] {
    let results = results(of: rollout)
    var out: [String: RolloutPlanner.MetricVerdict] = [:]
    for metric in metrics(of: rollout) {
      let result = results[metric.name] ?? MetricResult(name: metric.name)
      let assessment = assessMetric(metric, result: result)
      switch assessment.phase {
      case .successful: out[metric.name] = .successful
      case .failed: out[metric.name] = .failed(lastMessage(result) ?? assessment.reason)
      case .inconclusive: out[metric.name] = .inconclusive(lastMessage(result) ?? assessment.reason)
      case .error: out[metric.name] = .inconclusive("\(assessment.reason): \(lastMessage(result) ?? "")")
      case .pending: out[metric.name] = .running(after: .zero)
      case .running:
        guard let last = result.measurements.last, last.phase != .running, let at = try? Timestamp(rfc3339: last.startedAt) else {
          // A Job still running: look again at the interval.
          out[metric.name] = .running(after: .zero)
          continue
        }
        let interval = measurementInterval(of: metric, analysis: rollout.spec.analysis)
        let due = at.secondsSinceEpoch + interval.nanoseconds / 1_000_000_000
        out[metric.name] = .running(after: .seconds(max(0, due - now.secondsSinceEpoch)))
      }
    }
    return out
  }

  static func lastMessage(_ result: MetricResult) -> String? {
    // A provider's message names the value it judged; a value alone says what was read.
    result.measurements.last.flatMap { m in m.message ?? m.value.map { "result \($0)" } }
  }
}
