import ControllerRuntime
import KubeClient
import KubeCore

/// How the operator's Rollout controller measures and routes by default.
public enum RolloutRouting {
  /// The field manager of the Rollout controller's writes.
  public static let fieldManager = "edgeml-rollout"

  /// Sets the candidate's weight on the rollout's router. The replica ratio has nothing to write:
  /// the EdgeModel controller scales the candidate for the step and the Service spreads traffic
  /// over the Ready pods.
  public static let route: RolloutReconciler.Route = { rollout, _, _ in
    let routing = rollout.spec.trafficRouting
    if routing == nil || routing?.replicaRatio != nil { return }
    throw TerminalError(RouterUnavailable(rollout: rollout.metadata.name ?? ""))
  }

  /// Before the analysis providers are wired in: every measurement is an error, so an analysis step
  /// ends inconclusive and the rollout pauses (never promoted on missing data).
  public static let unavailableMeasure: RolloutReconciler.Measure = { metric, _, context in
    AnalysisRecord(metric: metric.name, phase: .error, message: "no analysis provider is configured in this operator",
                   at: context.clock.timestamp.rfc3339)
  }

  struct RouterUnavailable: Error, CustomStringConvertible {
    var rollout: String
    var description: String { "Rollout \(rollout): this operator build routes by replica ratio only" }
  }
}
