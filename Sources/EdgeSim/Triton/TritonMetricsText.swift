import Foundation

/// Renders a simulated Triton's per-model metrics in the Prometheus text format: names, types,
/// help texts and labels of shared/reference/jetson/triton.md §4 (core `src/metrics.cc`,
/// `src/constants.h`); summaries as in Triton's metrics.md example (`_count`, `_sum`, then one
/// line per quantile with `quantile` after `model` and `version`).
struct TritonMetricsText {
  var models: [TritonModel]
  var counters: [TritonModel: TritonCounters]
  var loadSeconds: Double
  /// The summary quantiles, or nil when summaries are off (Triton's default).
  var summaryQuantiles: [Double]?

  func render() -> String {
    var out = ""
    func labels(_ m: TritonModel) -> String { "model=\"\(m.name)\",version=\"\(m.version)\"" }
    func family(_ name: String, _ type: String, _ help: String, _ value: (TritonModel, TritonCounters) -> String) {
      out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
      for m in models { out += "\(name){\(labels(m))} \(value(m, counters[m] ?? TritonCounters()))\n" }
    }
    func int(_ d: Double) -> String { String(Int64(d.rounded(.down))) }
    family("nv_inference_request_success", "counter", "Number of successful inference requests, all batch sizes") { String($1.success) }
    out += "# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes\n# TYPE nv_inference_request_failure counter\n"
    // Every reason has a series from the model's load (metric_model_reporter.cc); simulated failures are the model's own: BACKEND.
    for m in models {
      for reason in ["REJECTED", "CANCELED", "BACKEND", "OTHER"] {
        let n = reason == "BACKEND" ? counters[m]?.failure ?? 0 : 0
        out += "nv_inference_request_failure{model=\"\(m.name)\",reason=\"\(reason)\",version=\"\(m.version)\"} \(n)\n"
      }
    }
    family("nv_inference_count", "counter", "Number of inferences performed (does not include cached requests)") { String($1.success) }
    family("nv_inference_exec_count", "counter", "Number of model executions performed (does not include cached requests)") { String($1.success) }
    family("nv_inference_request_duration_us", "counter", "Cumulative inference request duration in microseconds (includes cached requests)") { int($1.requestMicros) }
    family("nv_inference_queue_duration_us", "counter", "Cumulative inference queuing duration in microseconds (includes cached requests)") { int($1.queueMicros) }
    family("nv_inference_compute_input_duration_us", "counter", "Cumulative compute input duration in microseconds (does not include cached requests)") { int(($1.requestMicros - $1.queueMicros) * 0.05) }
    family("nv_inference_compute_infer_duration_us", "counter", "Cumulative compute inference duration in microseconds (does not include cached requests)") { int(($1.requestMicros - $1.queueMicros) * 0.9) }
    family("nv_inference_compute_output_duration_us", "counter", "Cumulative inference compute output duration in microseconds (does not include cached requests)") { int(($1.requestMicros - $1.queueMicros) * 0.05) }
    family("nv_inference_pending_request_count", "gauge", "Instantaneous number of pending requests awaiting execution per-model.") { _, _ in "0" }
    family("nv_model_load_duration_secs", "gauge", "Model load time in seconds") { _, _ in String(format: "%.3f", loadSeconds) }
    if let quantiles = summaryQuantiles {
      summary(&out, "nv_inference_request_summary_us", "Summary of inference request duration in microseconds (includes cached requests)",
              quantiles, \.requestMicros, sum: \.requestMicros)
      summary(&out, "nv_inference_queue_summary_us", "Summary of inference queuing duration in microseconds (includes cached requests)",
              quantiles, \.queueMicros, sum: \.queueMicros)
    }
    return out
  }

  private func summary(_ out: inout String, _ name: String, _ help: String, _ quantiles: [Double],
                       _ latency: KeyPath<TritonCounters.Sample, Double>, sum: KeyPath<TritonCounters, Double>) {
    out += "# HELP \(name) \(help)\n# TYPE \(name) summary\n"
    for m in models {
      let c = counters[m] ?? TritonCounters()
      let labels = "model=\"\(m.name)\",version=\"\(m.version)\""
      out += "\(name)_count{\(labels)} \(c.success)\n"
      out += "\(name)_sum{\(labels)} \(Int64(c[keyPath: sum].rounded(.down)))\n"
      for (q, v) in zip(quantiles, c.quantiles(quantiles, of: latency)) {
        out += "\(name){\(labels),quantile=\"\(Self.format(q))\"} \(v.isNaN ? "NaN" : String(Int64(v.rounded())))\n"
      }
    }
  }

  /// A quantile as Triton prints it: `0.5`, `0.99`, `0.999`.
  static func format(_ q: Double) -> String {
    var s = String(format: "%.6f", q)
    while s.hasSuffix("0") { s.removeLast() }
    if s.hasSuffix(".") { s.removeLast() }
    return s
  }
}
