import Foundation

/// The agent's own metrics in Prometheus text format (version 0.0.4).
///
/// Names follow DESIGN §7 (`edgeml_` prefix, `_total` on counters, base units); label values are
/// the configured feature names and the fixed refusal reasons, so their number is bounded.
enum AgentMetrics {
  static func text(_ store: SummaryStore) -> String {
    let s = store.snapshot
    let features = store.configuration.features
    var out = ""
    func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
    family("edgeml_drift_agent_observations_total", "counter", "Observations accepted, per feature.")
    for f in features { out += "edgeml_drift_agent_observations_total{feature=\(label(f.name))} \(s.observations[f.name] ?? 0)\n" }
    family("edgeml_drift_agent_batches_accepted_total", "counter", "Observation batches accepted.")
    out += "edgeml_drift_agent_batches_accepted_total \(s.batchesAccepted)\n"
    family("edgeml_drift_agent_batches_refused_total", "counter", "Observation batches refused (nothing of them counted), per reason.")
    for reason in BatchRefusal.Reason.allCases { out += "edgeml_drift_agent_batches_refused_total{reason=\"\(reason.rawValue)\"} \(s.refused[reason] ?? 0)\n" }
    family("edgeml_drift_agent_category_overflow_total", "counter",
           "Categorical values counted under \(AgentConfiguration.overflowCategory) because their window already held the category cap, per feature.")
    for f in features where f.kind == .categorical {
      out += "edgeml_drift_agent_category_overflow_total{feature=\(label(f.name))} \(s.categoryOverflow[f.name] ?? 0)\n"
    }
    family("edgeml_drift_agent_windows", "gauge", "Summary windows held.")
    out += "edgeml_drift_agent_windows \(s.windowsHeld)\n"
    family("edgeml_drift_agent_windows_dropped_total", "counter", "Windows dropped as older than the retention.")
    out += "edgeml_drift_agent_windows_dropped_total \(s.windowsDropped)\n"
    family("edgeml_drift_agent_late_observations_total", "counter", "Observations whose window was already dropped (the clock stepped back).")
    out += "edgeml_drift_agent_late_observations_total \(s.lateObservations)\n"
    family("edgeml_drift_agent_summary_bytes", "gauge", "Bytes of the summaries held (serialized sketches, category names and counts).")
    out += "edgeml_drift_agent_summary_bytes \(s.summaryBytes)\n"
    // What a DriftPolicy's source.prometheus reads (docs/drift-agent.md, "Metrics"): since the
    // agent started, so PromQL's increase() over a window gives the window's counts.
    let binned = features.filter { s.bucketCounts[$0.name] != nil }
    if !binned.isEmpty {
      family("edgeml_drift_agent_feature_value", "histogram", "Values observed per numerical feature, in the buckets of --buckets.")
      for f in binned {
        let bounds = store.configuration.buckets[f.name] ?? []
        let counts = s.bucketCounts[f.name] ?? []
        var cumulative = 0
        for (i, c) in counts.enumerated() {
          cumulative += c
          let le = i < bounds.count ? "\(bounds[i])" : "+Inf"
          out += "edgeml_drift_agent_feature_value_bucket{feature=\(label(f.name)),le=\"\(le)\"} \(cumulative)\n"
        }
        out += "edgeml_drift_agent_feature_value_sum{feature=\(label(f.name))} \(s.valueSums[f.name] ?? 0)\n"
        out += "edgeml_drift_agent_feature_value_count{feature=\(label(f.name))} \(cumulative)\n"
      }
    }
    let categorical = features.filter { $0.kind == .categorical }
    if !categorical.isEmpty {
      family("edgeml_drift_agent_feature_category_total", "counter",
             "Values observed per categorical feature and category (at most the category cap, the rest as \(AgentConfiguration.overflowCategory)).")
      for f in categorical {
        for (category, c) in (s.categoryTotals[f.name] ?? [:]).sorted(by: { $0.key < $1.key }) {
          out += "edgeml_drift_agent_feature_category_total{feature=\(label(f.name)),category=\(label(category))} \(c)\n"
        }
      }
    }
    return out
  }

  /// A label value in quotes, escaped as the text format requires (backslash, quote, newline).
  static func label(_ value: String) -> String {
    "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n") + "\""
  }
}
