import DequeModule
import DriftStatistics
import Synchronization

/// The agent's memory: per-feature summaries of each window, a bounded ring of windows, the raw
/// samples when kept, and the agent's own counters.
///
/// Windows are `[k·window, (k+1)·window)` in Unix seconds. An observation counts in the window of
/// the moment it is accepted; a window older than `maximumWindows` windows before the newest is
/// dropped (whole), so memory is bounded whatever the traffic (docs/drift-agent.md, "Memory").
/// Thread-safe: one lock, held for a batch's insertion or a report's merge.
public final class SummaryStore: Sendable {
  struct Window {
    var start: Int64
    var sketches: [KLLSketch?]
    var counts: [CategoricalCounts?]
    /// Summary bytes of this window (`summaryBytes` of its features).
    var bytes: Int
  }

  struct Counters {
    var observations: [Int]
    var categoryOverflow: [Int]
    /// Per feature position: since the agent started, values per bucket of its `--buckets` (the
    /// last one above every bound; empty without buckets), and their sum.
    var bucketCounts: [[Int]]
    var valueSums: [Double]
    /// Per feature position: since the agent started, values per category (at most `categoryCap`
    /// distinct ones, the rest under `overflowCategory`).
    var categoryTotals: [[String: Int]]
    var batchesAccepted = 0
    var refused: [BatchRefusal.Reason: Int] = [:]
    var windowsDropped = 0
    var lateObservations = 0
  }

  struct State {
    var windows: Deque<Window> = []
    var heldBytes = 0
    var counters: Counters
    var samples: [Deque<(time: Double, value: SampleValue)>]
  }

  enum SampleValue {
    case number(Double)
    case string(String)
  }

  public let configuration: AgentConfiguration
  private let state: Mutex<State>

  public init(configuration: AgentConfiguration) {
    self.configuration = configuration
    let n = configuration.features.count
    let bucketCounts = configuration.features.map { f in [Int](repeating: 0, count: configuration.buckets[f.name].map { $0.count + 1 } ?? 0) }
    state = Mutex(State(counters: Counters(observations: Array(repeating: 0, count: n), categoryOverflow: Array(repeating: 0, count: n),
                                           bucketCounts: bucketCounts, valueSums: Array(repeating: 0, count: n),
                                           categoryTotals: Array(repeating: [:], count: n)),
                        samples: Array(repeating: [], count: configuration.keepSamples == nil ? 0 : n)))
  }

  /// The window that `time` (Unix seconds) falls in.
  public func windowStart(_ time: Double) -> Int64 {
    let w = Int64(configuration.windowSeconds)
    let t = Int64(time.rounded(.down))
    return t >= 0 ? t / w * w : -((-t + w - 1) / w) * w
  }

  /// Counts an accepted batch at `time` (Unix seconds).
  public func insert(_ batch: ObservationBatch, at time: Double) {
    let start = windowStart(time)
    let w = Int64(configuration.windowSeconds)
    state.withLock { s in
      s.counters.batchesAccepted += 1
      guard batch.rows > 0 else { return }
      // Find or make the window; a clock that stepped back into a dropped window loses the batch (counted).
      var index = s.windows.lastIndex { $0.start <= start }
      if index == nil || s.windows[index!].start != start {
        let oldestKept = (s.windows.last.map { max($0.start, start) } ?? start) - Int64(configuration.maximumWindows - 1) * w
        guard start >= oldestKept else { s.counters.lateObservations += batch.rows; return }
        let window = Window(start: start, sketches: Array(repeating: nil, count: configuration.features.count),
                            counts: Array(repeating: nil, count: configuration.features.count), bytes: 0)
        let at = index.map { $0 + 1 } ?? 0
        s.windows.insert(window, at: at)
        index = at
        while let first = s.windows.first, first.start < oldestKept {
          s.heldBytes -= first.bytes
          s.windows.removeFirst()
          s.counters.windowsDropped += 1
          index! -= 1
        }
      }
      let i = index!
      var window = s.windows[i]
      let before = window.bytes
      for (position, column) in batch.columns.enumerated() {
        guard let column else { continue }
        s.counters.observations[position] += column.count
        switch column {
        case .numerical(let values):
          s.counters.count(values, position: position, bounds: configuration.buckets[configuration.features[position].name])
          var sketch = window.sketches[position] ?? KLLSketch(k: configuration.sketchK)
          // Values were checked finite; a sketch of 2⁵³ values in one window cannot happen at any real rate.
          try? sketch.insert(contentsOf: values)
          window.sketches[position] = sketch
          if configuration.keepSamples != nil { for v in values { s.appendSample(position, time, .number(v), cap: configuration.keepSamples!) } }
        case .categorical(let values):
          var counts = window.counts[position] ?? CategoricalCounts()
          var overflow = 0
          let other = AgentConfiguration.overflowCategory
          // Distinct categories are admitted one by one up to the cap; the rest count as `other`.
          var distinct = counts.counts.count - (counts.counts[other] == nil ? 0 : 1)
          for v in values {
            var category = v
            if counts.counts[v] == nil {
              if distinct < configuration.categoryCap, v != other { distinct += 1 } else { category = other }
            }
            if category != v { overflow += 1 }
            try? counts.insert(contentsOf: CollectionOfOne(category))
          }
          window.counts[position] = counts
          s.counters.categoryOverflow[position] += overflow
          s.counters.total(values, position: position, cap: configuration.categoryCap)
          if configuration.keepSamples != nil { for v in values { s.appendSample(position, time, .string(v), cap: configuration.keepSamples!) } }
        }
      }
      window.bytes = Self.bytes(of: window)
      s.heldBytes += window.bytes - before
      s.windows[i] = window
    }
  }

  /// Counts a refused batch.
  public func refused(_ reason: BatchRefusal.Reason) {
    state.withLock { $0.counters.refused[reason, default: 0] += 1 }
  }

  /// The summary bytes of one window: each numerical feature's serialized sketch, each categorical
  /// feature's category names plus an 8-byte count apiece (what the report carries, before base64).
  static func bytes(of window: Window) -> Int {
    var total = 0
    for sketch in window.sketches { if let sketch { total += sketch.serializedBytes } }
    for counts in window.counts { if let counts { total += counts.counts.keys.reduce(0) { $0 + $1.utf8.count + 8 } } }
    return total
  }

  /// Every feature merged over the windows overlapping `[since, until)`.
  ///
  /// `start`/`end` of the report are the merged windows' bounds (`since`/`until` themselves when no
  /// window overlaps). Every configured feature is present, with a count of 0 when nothing was seen.
  public func report(source: String, since: Double, until: Double) -> DriftSummaryReport {
    let w = Double(configuration.windowSeconds)
    let selected = state.withLock { s in s.windows.filter { Double($0.start) < until && Double($0.start) + w > since } }
    var summaries: [String: FeatureSummary] = [:]
    for (position, feature) in configuration.features.enumerated() {
      switch feature.kind {
      case .numerical:
        var merged = KLLSketch(k: configuration.sketchK)
        // Same k, counts far below 2⁵³: merging cannot fail.
        for window in selected { if let sketch = window.sketches[position] { try? merged.merge(sketch) } }
        summaries[feature.name] = .numerical(merged)
      case .categorical:
        var merged = CategoricalCounts()
        for window in selected { if let counts = window.counts[position] { try? merged.merge(counts) } }
        summaries[feature.name] = .categorical(merged)
      }
    }
    let start = selected.first.map { Double($0.start) } ?? since
    let end = selected.last.map { Double($0.start) + w } ?? until
    return DriftSummaryReport(source: source, start: start, end: end, summaries: summaries)
  }

  /// The raw values kept (`keepSamples`) whose arrival lies in `[since, until)`, per feature; nil
  /// when the agent keeps none.
  public func samples(since: Double, until: Double) -> [(feature: AgentConfiguration.Feature, values: [SampleValueView])]? {
    guard configuration.keepSamples != nil else { return nil }
    return state.withLock { s in
      configuration.features.enumerated().map { position, feature in
        (feature, s.samples[position].filter { $0.time >= since && $0.time < until }.map { sample in
          switch sample.value {
          case .number(let v): SampleValueView.number(v)
          case .string(let v): SampleValueView.string(v)
          }
        })
      }
    }
  }

  /// A kept raw value.
  public enum SampleValueView: Sendable, Equatable {
    case number(Double)
    case string(String)
  }

  /// The agent's counters, for `/metrics` and tests.
  public struct Snapshot: Sendable, Equatable {
    public var observations: [String: Int]
    /// Per numerical feature with buckets: values per bucket since the start (not cumulative; the
    /// last is above every bound) and their sum.
    public var bucketCounts: [String: [Int]]
    public var valueSums: [String: Double]
    /// Per categorical feature: values per category since the start.
    public var categoryTotals: [String: [String: Int]]
    public var categoryOverflow: [String: Int]
    public var batchesAccepted: Int
    public var refused: [BatchRefusal.Reason: Int]
    public var windowsHeld: Int
    public var windowsDropped: Int
    public var lateObservations: Int
    public var summaryBytes: Int
  }

  public var snapshot: Snapshot {
    state.withLock { s in
      var observations: [String: Int] = [:], overflow: [String: Int] = [:]
      var buckets: [String: [Int]] = [:], sums: [String: Double] = [:], totals: [String: [String: Int]] = [:]
      for (i, f) in configuration.features.enumerated() {
        observations[f.name] = s.counters.observations[i]
        overflow[f.name] = s.counters.categoryOverflow[i]
        if !s.counters.bucketCounts[i].isEmpty {
          buckets[f.name] = s.counters.bucketCounts[i]
          sums[f.name] = s.counters.valueSums[i]
        }
        if f.kind == .categorical { totals[f.name] = s.counters.categoryTotals[i] }
      }
      return Snapshot(observations: observations, bucketCounts: buckets, valueSums: sums, categoryTotals: totals,
                      categoryOverflow: overflow, batchesAccepted: s.counters.batchesAccepted,
                      refused: s.counters.refused, windowsHeld: s.windows.count, windowsDropped: s.counters.windowsDropped,
                      lateObservations: s.counters.lateObservations, summaryBytes: s.heldBytes)
    }
  }
}

extension SummaryStore.State {
  mutating func appendSample(_ position: Int, _ time: Double, _ value: SummaryStore.SampleValue, cap: Int) {
    if samples[position].count >= cap { samples[position].removeFirst() }
    samples[position].append((time, value))
  }
}

extension SummaryStore.Counters {
  /// Counts numerical values in the feature's buckets (a value ≤ a bound counts in that bound's
  /// bucket, as Prometheus' `le`), when it has buckets.
  mutating func count(_ values: [Double], position: Int, bounds: [Double]?) {
    guard let bounds else { return }
    for v in values {
      var lo = 0, hi = bounds.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if v <= bounds[mid] { hi = mid } else { lo = mid + 1 }
      }
      bucketCounts[position][lo] += 1
      valueSums[position] += v
    }
  }

  /// Counts categorical values since the start: at most `cap` distinct categories, the rest under
  /// `AgentConfiguration.overflowCategory`, so the metric's label values stay bounded.
  mutating func total(_ values: [String], position: Int, cap: Int) {
    let other = AgentConfiguration.overflowCategory
    for v in values {
      let known = categoryTotals[position][v] != nil
      let category = known || (v != other && categoryTotals[position].count - (categoryTotals[position][other] == nil ? 0 : 1) < cap) ? v : other
      categoryTotals[position][category, default: 0] += 1
    }
  }
}
