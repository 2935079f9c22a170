import ControllerRuntime

/// The series the operator exports about its custom resources, computed from their status
/// (docs/observability.md lists them; the chart's dashboards and alerts use them).
///
/// Phases and engine states are exported as kube-state-metrics exports a pod's phase
/// (`kube_pod_status_phase`): one series per possible value, 1 for the current one and 0 for the
/// others, so `== 1` selects and `for:` in an alert works across a change. Weights are ratios (0–1)
/// and labels carry no unbounded values (STYLE.md §7): object names, node-group facts, the spec's
/// metric and feature names.
public enum ResourceMetrics {
  public static let edgeModelInfo = "edgeml_edgemodel_info"
  public static let edgeModelPhase = "edgeml_edgemodel_phase"
  public static let edgeModelReadyReplicas = "edgeml_edgemodel_ready_replicas"
  public static let engineState = "edgeml_edgemodel_engine_state"
  public static let rolloutPhase = "edgeml_rollout_phase"
  public static let rolloutStep = "edgeml_rollout_step"
  public static let rolloutCandidateWeight = "edgeml_rollout_candidate_weight_ratio"
  public static let rolloutAnalysis = "edgeml_rollout_analysis_total"
  public static let driftPValue = "edgeml_drift_p_value"
  public static let driftStatistic = "edgeml_drift_statistic"
  public static let driftDetected = "edgeml_drift_detected"

  /// The `ObjectMetrics` key of one object.
  public static func key(_ kind: String, _ request: ReconcileRequest) -> String { "\(kind)/\(request.description)" }

  /// An EdgeModel's version, phase, ready replicas and the state of each node group's engine.
  public static func edgeModel(namespace: String, name: String, specVersion: String?, status: EdgeModelStatus) -> [(SeriesID, Double)] {
    let object = SeriesID("", ["namespace": namespace, "edgemodel": name])
    var out: [(SeriesID, Double)] = [(rename(object, edgeModelInfo).adding("version", status.currentVersion ?? specVersion ?? ""), 1)]
    for phase in [EdgeModelPhase.pending, .building, .ready, .degraded, .failed] {
      out.append((rename(object, edgeModelPhase).adding("phase", phase.rawValue), status.phase == phase ? 1 : 0))
    }
    if let ready = status.readyReplicas { out.append((rename(object, edgeModelReadyReplicas), Double(ready))) }
    for engine in status.engines ?? [] {
      let group = rename(object, engineState).adding("module", engine.nodeGroup?.module ?? "")
        .adding("l4t", engine.nodeGroup?.l4t ?? "").adding("tensorrt", engine.nodeGroup?.tensorrt ?? "")
      for state in [EngineState.pending, .building, .built, .failed] {
        out.append((group.adding("state", state.rawValue), engine.state == state ? 1 : 0))
      }
    }
    return deduplicated(out)
  }

  /// A Rollout's phase, current step and candidate weight.
  public static func rollout(namespace: String, name: String, model: String, status: RolloutStatus) -> [(SeriesID, Double)] {
    let object = SeriesID("", ["namespace": namespace, "rollout": name, "edgemodel": model])
    var out: [(SeriesID, Double)] = []
    for phase in [RolloutPhase.progressing, .paused, .promoted, .aborted, .degraded] {
      out.append((rename(object, rolloutPhase).adding("phase", phase.rawValue), status.phase == phase ? 1 : 0))
    }
    if let step = status.currentStep { out.append((rename(object, rolloutStep), Double(step))) }
    if let weight = status.candidateWeight { out.append((rename(object, rolloutCandidateWeight), Double(weight) / 100)) }
    return out
  }

  /// The counter a completed analysis measurement adds one to (nil while it is still running):
  /// `result` is the measurement's phase in lower case (successful, failed, inconclusive, error).
  public static func analysis(namespace: String, rollout: String, model: String, measurement: Measurement) -> SeriesID? {
    guard measurement.phase.isCompleted else { return nil }
    return analysisSeries(namespace: namespace, rollout: rollout, model: model, metric: measurement.metric, phase: measurement.phase)
  }

  /// The counters of every result of one analysis metric: created at 0 with its first measurement,
  /// so `rate()` and `increase()` see the first failure too ("Avoid missing metrics",
  /// prometheus.io/docs/practices/instrumentation).
  public static func analysisResults(namespace: String, rollout: String, model: String, metric: String) -> [SeriesID] {
    MeasurementPhase.allCases.filter(\.isCompleted).map {
      analysisSeries(namespace: namespace, rollout: rollout, model: model, metric: metric, phase: $0)
    }
  }

  private static func analysisSeries(namespace: String, rollout: String, model: String, metric: String, phase: MeasurementPhase) -> SeriesID {
    SeriesID(rolloutAnalysis, ["namespace": namespace, "rollout": rollout, "edgemodel": model,
                               "metric": metric, "result": phase.rawValue.lowercased()])
  }

  /// A DriftPolicy's last evaluation, per feature: the p-value (tests that have one), the statistic,
  /// and whether the feature drifted (0/1).
  public static func drift(namespace: String, policy: String, results: [FeatureResult]) -> [(SeriesID, Double)] {
    var out: [(SeriesID, Double)] = []
    for r in results {
      let feature = SeriesID("", ["namespace": namespace, "policy": policy, "feature": r.name ?? ""])
      if let p = r.pValue { out.append((rename(feature, driftPValue), p)) }
      if let s = r.statistic { out.append((rename(feature, driftStatistic), s)) }
      out.append((rename(feature, driftDetected), r.drifted == true ? 1 : 0))
    }
    return deduplicated(out)
  }

  private static func rename(_ id: SeriesID, _ name: String) -> SeriesID { SeriesID(name, labels: id.labels) }

  /// The first sample of each series: two engines of one node group (or a feature named twice)
  /// would otherwise write one series twice.
  private static func deduplicated(_ samples: [(SeriesID, Double)]) -> [(SeriesID, Double)] {
    var seen = Set<SeriesID>()
    return samples.filter { seen.insert($0.0).inserted }
  }
}
