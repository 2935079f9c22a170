extension EngineCacheKeeper {
  /// The metric families of the engine cache, served with the node's telemetry at `/metrics`.
  public enum MetricName {
    public static let bytes = "edgeml_engine_cache_bytes"
    public static let entries = "edgeml_engine_cache_entries"
    public static let budget = "edgeml_engine_cache_budget_bytes"
    public static let evictions = "edgeml_engine_cache_evictions_total"
    public static let evictedBytes = "edgeml_engine_cache_evicted_bytes_total"
  }

  /// The figures of the last pass in the Prometheus text exposition format 0.0.4; empty before the
  /// first pass. Every eviction reason is present from the start (at 0), so `rate()` sees the first
  /// eviction (prometheus.io/docs/practices/instrumentation, "Avoid missing metrics").
  public func prometheusText() -> String {
    let figures = self.figures
    guard figures.hasPassed else { return "" }
    var out = ""
    func family(_ name: String, _ type: String, _ help: String, _ samples: [(label: String?, value: Int)]) {
      out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
      for sample in samples {
        out += sample.label.map { "\(name){reason=\"\($0)\"} \(sample.value)\n" } ?? "\(name) \(sample.value)\n"
      }
    }
    family(MetricName.bytes, "gauge", "Bytes of every file in the node's engine cache directory.", [(nil, figures.bytes)])
    family(MetricName.entries, "gauge", "Engines in the node's cache (committed plans).", [(nil, figures.entries)])
    if let budget = figures.budgetBytes {
      family(MetricName.budget, "gauge", "Bytes the node agent keeps the engine cache within.", [(nil, budget)])
    }
    family(MetricName.evictions, "counter", "Engines the node agent removed from the cache, by reason (unreferenced, lru).",
           EvictionReason.allCases.map { ($0.rawValue, figures.evictions[$0] ?? 0) })
    family(MetricName.evictedBytes, "counter", "Bytes of the engines the node agent removed from the cache.", [(nil, figures.evictedBytes)])
    return out
  }
}
