import Foundation

extension NodeTelemetry {
  /// The metric families the agent serves at `/metrics` (README "Node agent").
  public enum MetricName {
    public static let power = "edgeml_node_power_watts"
    public static let powerBudget = "edgeml_node_power_budget_watts"
    public static let gpuLoad = "edgeml_node_gpu_load_ratio"
    public static let memory = "edgeml_node_memory_bytes"
    public static let temperature = "edgeml_node_temperature_celsius"
  }

  /// The reading in the Prometheus text exposition format 0.0.4: one gauge family per metric, a
  /// family without samples left out. Label values are bounded (rail, GPU and zone names of the
  /// board), as STYLE.md §7 asks.
  public func prometheusText() -> String {
    var out = ""
    func family(_ name: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
      guard !samples.isEmpty else { return }
      out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
      for sample in samples {
        let labels = sample.labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
        out += labels.isEmpty ? "\(name) \(sample.value)\n" : "\(name){\(labels)} \(sample.value)\n"
      }
    }
    family(MetricName.power, "Power drawn on an INA3221-monitored rail, in watts (bus mV x shunt mA).",
           rails.map { ([("rail", $0.name)], String($0.watts)) })
    family(MetricName.powerBudget, "Power budget of the active nvpmodel mode, in watts (none for MAXN).",
           powerBudgetWatts.map { [([("mode", powerMode ?? "")], String($0))] } ?? [])
    family(MetricName.gpuLoad, "GPU load from devfreq, 0 to 1.", gpus.map { ([("gpu", $0.gpu)], String($0.ratio)) })
    var memory: [(labels: [(String, String)], value: String)] = []
    if let memoryTotalBytes { memory.append(([("kind", "total")], String(memoryTotalBytes))) }
    if let memoryAvailableBytes { memory.append(([("kind", "available")], String(memoryAvailableBytes))) }
    family(MetricName.memory, "Memory from /proc/meminfo (MemTotal, MemAvailable), in bytes.", memory)
    family(MetricName.temperature, "Thermal zone temperature in degrees Celsius.",
           temperatures.map { ([("zone", $0.zone)], String($0.celsius)) })
    return out
  }

  /// Label value escaping of the text format: backslash, double quote and newline.
  private func escape(_ value: String) -> String {
    value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
      .replacingOccurrences(of: "\n", with: "\\n")
  }
}
