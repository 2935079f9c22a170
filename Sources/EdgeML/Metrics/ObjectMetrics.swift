import Synchronization

/// One time series: a metric name and its labels, in the order they are exported.
public struct SeriesID: Hashable, Sendable {
  public struct Label: Hashable, Sendable {
    public var name: String
    public var value: String
  }

  public var name: String
  public var labels: [Label]

  public init(_ name: String, _ labels: KeyValuePairs<String, String>) {
    self.name = name
    self.labels = labels.map { Label(name: $0.key, value: $0.value) }
  }

  public init(_ name: String, labels: [Label]) {
    self.name = name
    self.labels = labels
  }

  /// The same series with one more label.
  public func adding(_ name: String, _ value: String) -> SeriesID {
    SeriesID(self.name, labels: labels + [Label(name: name, value: value)])
  }
}

/// The series that describe one object each (a Rollout's phase, an EdgeModel's engines, a
/// DriftPolicy's p-values), kept in step with the object: a series the object no longer has is
/// removed, and all of them go when the object leaves the cache.
///
/// kube-state-metrics exports object state the same way (one series per object, removed with the
/// object, written out when scraped), so a dashboard or an alert never sees a deleted Rollout as
/// still aborted. Cardinality is bounded by the objects in the cluster, their engines (one per
/// node group) and their analysis metrics and features (both bounded by the spec).
///
/// The values are kept here and written in the Prometheus text format (0.0.4) at each scrape
/// (`render`), after the process's own registry. They used to be swift-prometheus gauges, whose
/// registry copies a family's whole table of series each time one is added: with 1,000
/// EdgeModels that was a fifth of the operator's CPU (perf, 2026-12-07), growing with the fleet.
///
/// *Guarantees*: calls for one key are serialised under one lock, so two controllers' workers
/// never leave a series behind between them.
public final class ObjectMetrics: Sendable {
  /// The operator's: its reconcilers publish here, and its /metrics renders it.
  public static let shared = ObjectMetrics()

  /// An object's gauges, made when scraped.
  public typealias Samples = @Sendable () -> [(SeriesID, Double)]

  private struct State {
    /// Each object's gauges, by key: what makes them, not the series themselves. An EdgeModel has
    /// eleven series (five phases, four engine states, …), each with its own label array; kept as
    /// series, 1,000 models held 3.1 MiB (measured with bench-operator.py, 2026-12-07), where the
    /// few values they are made from hold a tenth of that.
    var gauges: [String: Samples] = [:]
    var counters: [String: Set<SeriesID>] = [:]
    var counterValues: [SeriesID: Int64] = [:]
  }
  private let state = Mutex(State())

  public init() {}

  /// Sets the object's gauges to exactly `samples`: every gauge the object had that `samples` does
  /// not name is gone.
  public func setGauges(_ key: String, _ samples: [(SeriesID, Double)]) {
    let made: Samples = { samples }
    setGauges(key, samples.isEmpty ? nil : made)
  }

  /// Sets the object's gauges to what `samples` makes at each scrape (nil: none). `samples` should
  /// capture only the few values the series are made from.
  public func setGauges(_ key: String, _ samples: Samples?) {
    state.withLock { $0.gauges[key] = samples }
  }

  /// Adds `amount` to one of the object's counters (created at 0 the first time).
  public func increment(_ key: String, _ id: SeriesID, by amount: Int64 = 1) {
    state.withLock { state in
      state.counterValues[id, default: 0] += amount
      state.counters[key, default: []].insert(id)
    }
  }

  /// Removes every series of the object: it was deleted.
  public func forget(_ key: String) {
    state.withLock { state in
      state.gauges[key] = nil
      for id in state.counters.removeValue(forKey: key) ?? [] { state.counterValues[id] = nil }
    }
  }

  /// The object keys that have series now (for tests and debugging).
  public var keys: Set<String> {
    state.withLock { Set($0.gauges.keys).union($0.counters.keys) }
  }

  /// Every series in the Prometheus text exposition format, version 0.0.4: per metric name (in
  /// name order) one `# TYPE` line, then its samples, label values escaped as the format says
  /// (backslash, double quote and line feed). Gauges print like swift-prometheus's, counters as
  /// integers.
  public func render() -> [UInt8] {
    let (makers, counters) = state.withLock { ($0.gauges, $0.counterValues) }
    // Made outside the lock; keys are objects, and every series carries its object's labels, so
    // two objects never make the same series.
    var gauges: [(SeriesID, Double)] = []
    for make in makers.values { gauges += make() }
    var out: [UInt8] = []
    func family(_ type: String, _ samples: [(SeriesID, String)]) {
      let byName = Dictionary(grouping: samples, by: \.0.name)
      for name in byName.keys.sorted() {
        out.append(contentsOf: "# TYPE \(name) \(type)\n".utf8)
        for (id, value) in byName[name, default: []].sorted(by: { Self.sortKey($0.0) < Self.sortKey($1.0) }) {
          out.append(contentsOf: name.utf8)
          if !id.labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            for (i, label) in id.labels.enumerated() {
              if i > 0 { out.append(UInt8(ascii: ",")) }
              out.append(contentsOf: label.name.utf8)
              out.append(contentsOf: "=\"".utf8)
              Self.appendEscaped(label.value, to: &out)
              out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
          }
          out.append(UInt8(ascii: " "))
          out.append(contentsOf: value.utf8)
          out.append(UInt8(ascii: "\n"))
        }
      }
    }
    family("gauge", gauges.map { ($0.0, "\($0.1)") })
    family("counter", counters.map { ($0.key, String($0.value)) })
    return out
  }

  private static func sortKey(_ id: SeriesID) -> String {
    id.labels.map { "\($0.name)=\($0.value)" }.joined(separator: "\u{1}")
  }

  private static func appendEscaped(_ value: String, to out: inout [UInt8]) {
    for byte in value.utf8 {
      switch byte {
      case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
      case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
      case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
      default: out.append(byte)
      }
    }
  }
}
