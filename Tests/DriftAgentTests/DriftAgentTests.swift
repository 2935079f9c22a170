import DriftAgent
import DriftStatistics
import Foundation
import Testing

/// The drift agent over real HTTP on loopback, its clock injected.
@Suite("Drift agent")
struct DriftAgentTests {
  static let features = [AgentConfiguration.Feature(name: "brightness", kind: .numerical),
                         AgentConfiguration.Feature(name: "label", kind: .categorical)]
  static let configuration = AgentConfiguration(features: features, windowSeconds: 60, retainSeconds: 3600)

  struct RefusalCase: CustomTestStringConvertible, Sendable {
    var body: String
    var reason: BatchRefusal.Reason
    var named: String
    var testDescription: String { reason.rawValue }
  }

  @Test("A batch with a wrong type, an unknown feature, NaN, infinity, unequal columns or bad JSON is refused with 400 naming the problem, and nothing of it is counted", arguments: [
    RefusalCase(body: #"{"features": {"brightness": [0.4, "0.5"], "label": ["car", "bus"]}}"#, reason: .wrongType, named: "brightness"),
    RefusalCase(body: #"{"features": {"brightness": [0.4, 0.5], "label": ["car", 3]}}"#, reason: .wrongType, named: "label"),
    RefusalCase(body: #"{"features": {"brightness": [0.4, null]}}"#, reason: .wrongType, named: "brightness"),
    RefusalCase(body: #"{"features": {"brightness": [0.4, 0.5], "contrast": [1, 2]}}"#, reason: .unknownFeature, named: "contrast"),
    RefusalCase(body: #"{"features": {"brightness": [0.4, NaN], "label": ["car", "bus"]}}"#, reason: .notFinite, named: "brightness"),
    RefusalCase(body: #"{"features": {"brightness": [-Infinity, 0.5]}}"#, reason: .notFinite, named: "brightness"),
    RefusalCase(body: #"{"features": {"brightness": [1e400, 0.5]}}"#, reason: .notFinite, named: "brightness"),
    RefusalCase(body: #"{"features": {"brightness": [0.4, 0.5, 0.6], "label": ["car", "bus"]}}"#, reason: .unequalLength, named: "label"),
    RefusalCase(body: #"{"features": {"brightness": [0.4, 0.5]"#, reason: .malformed, named: "expected"),
    RefusalCase(body: #"{"values": {"brightness": [0.4]}}"#, reason: .malformed, named: "values"),
  ])
  func refusals(_ c: RefusalCase) async throws {
    try await AgentFixture.run(Self.configuration) { agent in
      let (status, body) = try agent.post(c.body)
      #expect(status == 400, "\(body)")
      #expect(body.contains("\"error\""))
      #expect(body.contains(c.named), "\(body)")
      let report = try agent.summaries()
      #expect(report.features["brightness"]?.count == 0)
      #expect(report.features["label"]?.count == 0)
      #expect(try agent.metric("edgeml_drift_agent_observations_total{feature=\"brightness\"}") == 0)
      #expect(try agent.metric("edgeml_drift_agent_batches_refused_total{reason=\"\(c.reason.rawValue)\"}") == 1)
      // A good batch afterwards is counted whole.
      let (ok, accepted) = try agent.post(#"{"features": {"brightness": [0.4, 0.5], "label": ["car", "bus"]}}"#)
      #expect(ok == 202)
      #expect(accepted == #"{"accepted":2}"#)
      #expect(try agent.summaries().features["label"]?.counts == ["car": 1, "bus": 1])
    }
  }

  @Test("A body over the limit is answered 413 and nothing of it is counted")
  func bodyTooLarge() async throws {
    var config = Self.configuration
    config.maximumBodyBytes = 1024
    try await AgentFixture.run(config) { agent in
      let values = Array(repeating: "0.5", count: 400).joined(separator: ",")
      let (status, body) = try agent.post(#"{"features": {"brightness": [\#(values)]}}"#)
      #expect(status == 413, "\(body)")
      #expect(try agent.summaries().features["brightness"]?.count == 0)
      #expect(try agent.metric("edgeml_drift_agent_batches_refused_total{reason=\"too_large\"}") == 1)
    }
  }

  @Test("Summaries merged over many windows count every value exactly and keep quantiles within KLL's rank-error bound of the exact ones")
  func mergedWindows() async throws {
    try await AgentFixture.run(Self.configuration) { agent in
      var generator = SplitMix(seed: 11)
      var all: [Double] = []
      var labels: [String: Double] = [:]
      var single = KLLSketch()
      let start = agent.clock.now
      // 12 windows of 60 s, a batch of 100 every 6 s: 12,000 values.
      for _ in 0..<120 {
        let values = (0..<100).map { _ in generator.normal(mean: 0.5, sd: 0.1) }
        let categories = (0..<100).map { _ in ["car", "bus", "bike"][Int(generator.next() % 3)] }
        for c in categories { labels[c, default: 0] += 1 }
        all += values
        try single.insert(contentsOf: values)
        let body = #"{"features": {"brightness": [\#(values.map { "\($0)" }.joined(separator: ","))], "label": [\#(categories.map { "\"\($0)\"" }.joined(separator: ","))]}}"#
        let (status, text) = try agent.post(body)
        try #require(status == 202, "\(text)")
        agent.clock.advance(6)
      }
      let report = try agent.summaries(since: start - 3600, until: agent.clock.now + 1)
      let summaries = try report.summaries()
      #expect(report.source == "detector-0")
      // Windows are aligned to multiples of 60 s in Unix time: 1,800,000,000 is one, so 12 windows.
      #expect(report.start == start && report.end == start + 720)
      guard case .numerical(let merged)? = summaries["brightness"], case .categorical(let counts)? = summaries["label"] else {
        Issue.record("summaries missing: \(summaries.keys)")
        return
      }
      #expect(merged.count == 12_000 && single.count == 12_000)
      #expect(counts.counts == labels)
      let sorted = all.sorted()
      let epsilon = KLLSketch.normalizedRankError(k: 400)
      for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
        for sketch in [merged, single] {
          let estimate = try #require(sketch.quantile(q))
          // The estimate's true rank, as a share of the values, within ε of q.
          let rank = Double(sorted.partitioningIndex { $0 > estimate }) / Double(sorted.count)
          #expect(abs(rank - q) <= epsilon, "q \(q): rank \(rank)")
        }
      }
      #expect(try agent.metric("edgeml_drift_agent_windows") == 12)
      #expect(try agent.metric("edgeml_drift_agent_observations_total{feature=\"brightness\"}") == 12_000)
      // A range that covers two windows reports those two only, with their bounds.
      let part = try agent.summaries(since: start + 60, until: start + 180)
      #expect(part.start == start + 60 && part.end == start + 180)
      #expect(part.features["brightness"]?.count == 2_000)
    }
  }

  @Test("Held summaries stay under the documented bound through 2 million observations over 500 windows, old windows dropped and high-cardinality categories capped")
  func memoryBounded() throws {
    let config = AgentConfiguration(features: Self.features, windowSeconds: 60, retainSeconds: 1200, categoryCap: 50)
    let store = SummaryStore(configuration: config)
    var generator = SplitMix(seed: 5)
    var time = 1_800_000_000.0
    var peak = 0
    // 2,000,000 rows in batches of 1,000: 4 batches per 60 s window, 500 windows.
    for batchIndex in 0..<2_000 {
      let values = (0..<1_000).map { _ in generator.normal(mean: 0, sd: 1) }
      // Every label distinct: the worst case for categorical counts.
      let labels = (0..<1_000).map { "id-\(batchIndex)-\($0)" }
      let body = #"{"features": {"brightness": [\#(values.map { "\($0)" }.joined(separator: ","))], "label": [\#(labels.map { "\"\($0)\"" }.joined(separator: ","))]}}"#
      store.insert(try ObservationBatch(parsing: Array(body.utf8), configuration: config), at: time)
      time += 15
      peak = max(peak, store.snapshot.summaryBytes)
    }
    let s = store.snapshot
    #expect(s.observations["brightness"] == 2_000_000)
    #expect(s.windowsHeld == config.maximumWindows)
    #expect(s.windowsDropped == 500 - config.maximumWindows)
    #expect(peak <= config.summaryBytesBound, "peak \(peak) bytes, bound \(config.summaryBytesBound)")
    // Each window admitted 50 distinct labels; the other 3,950 count as edgeml.io/other.
    #expect(s.categoryOverflow["label"] == 500 * (4_000 - 50))
    let report = store.report(source: "x", since: 0, until: time + 60)
    // Merged over the 20 windows held: each window's own 50 labels, and the overflow.
    #expect(report.features["label"]?.counts?.count == config.maximumWindows * 50 + 1)
    #expect(report.features["label"]?.counts?[AgentConfiguration.overflowCategory] == Double(config.maximumWindows * 3_950))
    #expect(report.features["brightness"]?.count == config.maximumWindows * 4_000)
  }

  @Test("Raw samples are served only with --keep-samples, the last N per feature")
  func samples() async throws {
    try await AgentFixture.run(Self.configuration) { agent in
      let (status, _) = try agent.get("/v1/samples")
      #expect(status == 404)
    }
    var config = Self.configuration
    config.keepSamples = 3
    try await AgentFixture.run(config) { agent in
      _ = try agent.post(#"{"features": {"brightness": [1, 2, 3, 4], "label": ["a", "b", "c", "d"]}}"#)
      let (status, body) = try agent.get("/v1/samples")
      #expect(status == 200)
      #expect(body == #"{"features":{"brightness":[2,3,4],"label":["b","c","d"]}}"#)
    }
  }

  @Test("Bad query parameters are refused with 400; unknown routes 404")
  func badQueries() async throws {
    try await AgentFixture.run(Self.configuration) { agent in
      for (path, expected) in [("/v1/summaries?since=yesterday", 400), ("/v1/summaries?since=200&until=100", 400), ("/v2/anything", 404)] {
        let (status, body) = try agent.get(path)
        #expect(status == expected, "\(path): \(body)")
      }
      let (status, body) = try agent.get("/healthz")
      #expect(status == 200 && body == "ok")
    }
  }

  @Test("/metrics carries each numerical feature's histogram in its --buckets (cumulative, le inclusive, since the start) and each category's count, capped")
  func bucketMetrics() async throws {
    let config = AgentConfiguration(features: Self.features, buckets: ["brightness": [0.25, 0.5]], windowSeconds: 60, retainSeconds: 120, categoryCap: 2)
    try config.validate()
    try await AgentFixture.run(config) { agent in
      _ = try agent.post(#"{"features": {"brightness": [0.1, 0.25, 0.3, 0.9], "label": ["car", "bus", "car", "bike"]}}"#)
      agent.clock.advance(600)   // the windows go; the counters stay
      _ = try agent.post(#"{"features": {"brightness": [0.5]}}"#)
      let (status, text) = try agent.get("/metrics")
      #expect(status == 200)
      for line in [#"edgeml_drift_agent_feature_value_bucket{feature="brightness",le="0.25"} 2"#,
                   #"edgeml_drift_agent_feature_value_bucket{feature="brightness",le="0.5"} 4"#,
                   #"edgeml_drift_agent_feature_value_bucket{feature="brightness",le="+Inf"} 5"#,
                   #"edgeml_drift_agent_feature_value_count{feature="brightness"} 5"#,
                   "# TYPE edgeml_drift_agent_feature_value histogram",
                   #"edgeml_drift_agent_feature_category_total{feature="label",category="car"} 2"#,
                   #"edgeml_drift_agent_feature_category_total{feature="label",category="bus"} 1"#,
                   #"edgeml_drift_agent_feature_category_total{feature="label",category="edgeml.io/other"} 1"#] {
        #expect(text.contains(line + "\n"), "\(line)\n\(text)")
      }
      #expect(!text.contains(#"category="bike""#))
    }
  }

  @Test("A --buckets argument must be NAME= finite ascending bounds of a numerical feature", arguments: [
    "brightness", "=0.1", "brightness=0.2,0.1", "brightness=0.1,,0.2", "brightness=nan", "brightness=0.1,inf",
  ])
  func badBucketsArgument(_ text: String) {
    #expect(throws: AgentConfigurationError.self) { try AgentConfiguration.parseBuckets(text) }
    var config = Self.configuration
    config.buckets = ["label": [0.5]]
    #expect(throws: AgentConfigurationError.self) { try config.validate() }
  }

  @Test("A feature argument that is not NAME:numerical or NAME:categorical is refused, naming it", arguments: [
    "brightness", "brightness:ordinal", ":numerical", "a b:numerical",
  ])
  func badFeatureArgument(_ text: String) {
    #expect(throws: AgentConfigurationError.self) { try AgentConfiguration.Feature(parsing: text) }
  }
}

/// SplitMix64 (Steele, Lea & Flood, OOPSLA 2014) and Box–Muller normals, so the tests' data is reproducible.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
  mutating func normal(mean: Double, sd: Double) -> Double {
    let u1 = max(uniform(), 1e-300), u2 = uniform()
    return mean + sd * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }
}

extension Array where Element == Double {
  /// The first index whose element satisfies `belongs` (the array partitioned by it).
  func partitioningIndex(where belongs: (Double) -> Bool) -> Int {
    var lo = 0, hi = count
    while lo < hi {
      let mid = (lo + hi) / 2
      if belongs(self[mid]) { hi = mid } else { lo = mid + 1 }
    }
    return lo
  }
}
