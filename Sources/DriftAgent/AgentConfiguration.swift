import DriftStatistics

/// What one drift agent summarises and for how long: its features, the window length, how many
/// windows it keeps, and its bounds (distinct categories, raw samples, request body size).
///
/// *Guarantees:* whatever the traffic, the agent holds at most `maximumWindows` windows, each with
/// one KLL sketch per numerical feature and at most `categoryCap + 1` categories per categorical
/// feature, plus `keepSamples` raw values per feature when set (docs/drift-agent.md, "Memory").
public struct AgentConfiguration: Sendable, Equatable {
  /// One feature the agent accepts.
  public struct Feature: Sendable, Equatable {
    public var name: String
    public var kind: DefaultDriftTest.FeatureKind
    public init(name: String, kind: DefaultDriftTest.FeatureKind) { self.name = name; self.kind = kind }

    /// Reads `NAME:numerical` or `NAME:categorical` (the sidecar's `--feature` argument).
    /// - Throws: `AgentConfigurationError` naming the argument.
    public init(parsing text: String) throws(AgentConfigurationError) {
      guard let colon = text.lastIndex(of: ":") else {
        throw AgentConfigurationError("--feature \(text): expected NAME:numerical or NAME:categorical")
      }
      let name = String(text[..<colon]), kind = String(text[text.index(after: colon)...])
      guard !name.isEmpty, name.utf8.count <= 253, name.allSatisfy({ $0.isLetter || $0.isNumber || "_-.".contains($0) }) else {
        throw AgentConfigurationError("--feature \(text): the name must be 1-253 letters, digits, '_', '-' or '.'")
      }
      guard let parsed = DefaultDriftTest.FeatureKind(rawValue: kind) else {
        throw AgentConfigurationError("--feature \(text): the type must be numerical or categorical, not \"\(kind)\"")
      }
      self.init(name: name, kind: parsed)
    }
  }

  /// The name under which a window counts the values of a categorical feature beyond `categoryCap`
  /// distinct ones (a name no `--feature` value can collide with unnoticed: it is documented).
  public static let overflowCategory = "edgeml.io/other"

  public var features: [Feature]
  /// Upper bounds of the histogram buckets exported for a numerical feature on `/metrics`
  /// (`edgeml_drift_agent_feature_value_bucket`, what a DriftPolicy's `source.prometheus` reads), by feature name.
  public var buckets: [String: [Double]]
  /// Window length in whole seconds; windows start at multiples of it in Unix time.
  public var windowSeconds: Int
  /// How long windows are kept, in seconds; the agent holds `maximumWindows` of them.
  public var retainSeconds: Int
  /// Most distinct categories per categorical feature and window before values count as `overflowCategory`.
  public var categoryCap: Int
  /// Longest categorical value accepted, in UTF-8 bytes.
  public var maximumCategoryBytes: Int
  /// Raw values kept per feature for `GET /v1/samples` (nil: none kept, the endpoint answers 404).
  public var keepSamples: Int?
  /// Largest request body accepted (413 beyond).
  public var maximumBodyBytes: Int
  /// The KLL accuracy parameter; the controller merges sketches of equal `k` only, so it stays at
  /// `KLLSketch`'s default unless both sides change.
  public var sketchK: Int

  public init(features: [Feature], buckets: [String: [Double]] = [:], windowSeconds: Int = 60, retainSeconds: Int = 3600, categoryCap: Int = 200,
              maximumCategoryBytes: Int = 256, keepSamples: Int? = nil, maximumBodyBytes: Int = 4 << 20, sketchK: Int = 400) {
    self.features = features; self.buckets = buckets; self.windowSeconds = windowSeconds; self.retainSeconds = retainSeconds
    self.categoryCap = categoryCap; self.maximumCategoryBytes = maximumCategoryBytes; self.keepSamples = keepSamples
    self.maximumBodyBytes = maximumBodyBytes; self.sketchK = sketchK
  }

  /// How many windows the agent holds at most: the current one and those within `retainSeconds`.
  public var maximumWindows: Int { max(1, (retainSeconds + windowSeconds - 1) / windowSeconds) }

  /// The most summary bytes one window of one numerical feature can hold (a serialized KLL sketch).
  ///
  /// Derived from `KLLSketch`'s compaction rule: after each insertion the levels together retain
  /// at most the sketch's total capacity Σ max(8, round(k·(2/3)^depth)) < 3·k + 8·H items, H
  /// levels; the bound keeps the looser 4.5·k + 9·H of the earlier (eager) rule. A window of fewer
  /// than 2³² values has H ≤ 33. Each item is 8 bytes; the header 44 bytes and 4 per level.
  public var numericalWindowBytesBound: Int {
    let levels = 33
    return 44 + 4 * levels + 8 * (9 * sketchK / 2 + 9 * levels)
  }

  /// The most summary bytes one window of one categorical feature can hold: `categoryCap` names
  /// plus the overflow category, each at most `maximumCategoryBytes` long with an 8-byte count.
  public var categoricalWindowBytesBound: Int {
    (categoryCap * maximumCategoryBytes) + AgentConfiguration.overflowCategory.utf8.count + 8 * (categoryCap + 1)
  }

  /// The most summary bytes the agent holds (`edgeml_drift_agent_summary_bytes`), whatever the
  /// traffic: `maximumWindows` windows of every feature at its bound. Fewer than 2³² values per
  /// window and feature are assumed (over 70 million a second with 60 s windows).
  public var summaryBytesBound: Int {
    let numerical = features.filter { $0.kind == .numerical }.count, categorical = features.count - numerical
    return maximumWindows * (numerical * numericalWindowBytesBound + categorical * categoricalWindowBytesBound)
  }

  /// Checks the bounds and that feature names are unique.
  /// - Throws: `AgentConfigurationError` saying which value is wrong.
  public func validate() throws(AgentConfigurationError) {
    guard !features.isEmpty else { throw AgentConfigurationError("at least one --feature is required") }
    var seen = Set<String>()
    for f in features where !seen.insert(f.name).inserted { throw AgentConfigurationError("--feature \(f.name) is given twice") }
    guard windowSeconds >= 1 else { throw AgentConfigurationError("--window must be at least 1s") }
    guard retainSeconds >= windowSeconds else { throw AgentConfigurationError("--retain must be at least one --window") }
    // 100,000 windows of sketches would be gigabytes: a bound on the bound.
    guard maximumWindows <= 100_000 else { throw AgentConfigurationError("--retain / --window must be at most 100000 windows") }
    guard categoryCap >= 1, categoryCap <= 100_000 else { throw AgentConfigurationError("--category-cap must be between 1 and 100000") }
    if let keepSamples, !(1...10_000_000).contains(keepSamples) {
      throw AgentConfigurationError("--keep-samples must be between 1 and 10000000")
    }
    for (name, bounds) in buckets.sorted(by: { $0.key < $1.key }) {
      guard let f = features.first(where: { $0.name == name }), f.kind == .numerical else {
        throw AgentConfigurationError("--buckets \(name): not a numerical --feature of this agent")
      }
      guard (1...100).contains(bounds.count) else { throw AgentConfigurationError("--buckets \(name): give 1 to 100 bounds") }
    }
  }

  /// Reads `NAME=B1,B2,…` (the sidecar's `--buckets` argument): finite bounds in strictly ascending order.
  /// - Throws: `AgentConfigurationError` naming the argument.
  public static func parseBuckets(_ text: String) throws(AgentConfigurationError) -> (feature: String, bounds: [Double]) {
    guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
      throw AgentConfigurationError("--buckets \(text): expected NAME=B1,B2,… (ascending upper bounds)")
    }
    var bounds: [Double] = []
    for part in text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false) {
      guard let b = Double(part), b.isFinite else {
        throw AgentConfigurationError("--buckets \(text): \"\(part)\" is not a finite number")
      }
      if let last = bounds.last, !(last < b) { throw AgentConfigurationError("--buckets \(text): bounds must be strictly ascending") }
      bounds.append(b)
    }
    return (String(text[..<eq]), bounds)
  }
}

/// A configuration value the agent cannot run with.
public struct AgentConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
