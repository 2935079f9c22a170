import Foundation
import KubeCore

/// Drift on command: what the simulated clients send the pods' drift agents, moved per model,
/// feature and node label (docs/edgesim.md, "Drift on command").
extension EdgeSim {
  /// From now on, the clients send `drift.model`'s drift agents on the matching nodes values of
  /// `drift.feature` moved as `drift` says; it replaces an earlier shift of the same model, feature,
  /// namespace and node selector. The requests due before are made up under the old distribution.
  ///
  /// ```swift
  /// try sim.shiftDrift(FeatureDrift(model: "detector", feature: "brightness", nodeSelector: ["site": "a"], shift: 0.5))
  /// ```
  /// - Throws: `EdgeSimError.invalidDrift` for a non-finite shift, a scale ≤ 0 or unusable weights.
  public func shiftDrift(_ drift: FeatureDrift) throws(EdgeSimError) {
    try drift.validate()
    updateTraffic { c in
      c.drifts.removeAll { drift.replaces($0) }
      c.drifts.append(drift)
    }
  }

  /// Ends the shifts commanded from Swift for a model's feature (all its features when `feature` is nil).
  public func clearDrift(namespace: String? = nil, model: String, feature: String? = nil) {
    updateTraffic { c in c.drifts.removeAll { $0.namespace == namespace && $0.model == model && (feature == nil || $0.feature == feature) } }
  }

  /// The drift in force from the `edgeml-sim-drift` ConfigMap (what `edgeml sim drift` wrote).
  public var commandedDrifts: [FeatureDrift] { servers.traffic.commandedDrifts }

  /// Reads the ConfigMap's entries (every key one drift, as JSON); an entry that does not parse is
  /// skipped with a Warning Event on the ConfigMap naming it, the others still apply.
  func followDriftCommands(_ configMap: JSONValue, deleted: Bool) {
    var drifts: [FeatureDrift] = []
    if !deleted {
      let data = configMap["data"]?.objectValue ?? [:]
      for (key, value) in data.sorted(by: { $0.0 < $1.0 }) {
        do {
          drifts.append(try FeatureDrift(configMapKey: key, value: value.stringValue ?? ""))
        } catch {
          EventRecorder(api: scheduler.api.as("edgesim"), component: "edgesim", host: "")
            .record(configMap, kind: "ConfigMap", type: "Warning", reason: "InvalidDrift", message: "\(error)")
        }
      }
    }
    servers.traffic.setCommandedDrifts(drifts)
  }
}
