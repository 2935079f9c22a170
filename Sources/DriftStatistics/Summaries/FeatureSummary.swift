/// What a device keeps about one feature over one window: a KLL sketch of a numerical feature's
/// values or the counts of a categorical feature's values. Summaries of many pods and windows merge
/// into one, which the controller tests against the reference.
///
/// A numerical feature read from Prometheus is `binned` instead: counts per bucket of a histogram
/// whose bounds were fixed in advance (`FixedBinHistogram`, its `edges` the finite `le` bounds).
/// Prometheus counts a bucket as values ≤ its bound, so bin i here is (eᵢ₋₁, eᵢ], the outer bins
/// (-∞, e₀] and (e_last, +∞) (prometheus.io/docs/concepts/metric_types/#histogram).
public enum FeatureSummary: Sendable, Equatable {
  case numerical(KLLSketch)
  case categorical(CategoricalCounts)
  /// Counts of a numerical feature per histogram bucket (a Prometheus histogram).
  case binned(FixedBinHistogram)

  /// The kind of feature summarised.
  public var kind: DefaultDriftTest.FeatureKind {
    switch self {
    case .numerical, .binned: .numerical
    case .categorical: .categorical
    }
  }

  /// How many observations the summary holds.
  public var count: Int {
    switch self {
    case .numerical(let sketch): sketch.count
    case .categorical(let counts): Int(counts.counts.values.reduce(0, +))
    case .binned(let histogram): Int(histogram.total)
    }
  }

  /// What the summary is, in words: `numerical`, `categorical`, or `binned numerical`.
  public var description: String {
    switch self {
    case .numerical: "numerical"
    case .categorical: "categorical"
    case .binned: "binned numerical"
    }
  }

  /// Adds another summary of the same feature (another pod, another window).
  ///
  /// - Throws: `.invalidParameter` when one summary is numerical and the other categorical, and the
  ///   errors of `KLLSketch.merge` and `CategoricalCounts.merge` (counts beyond 2⁵³); this value is
  ///   then left unchanged.
  public mutating func merge(_ other: FeatureSummary) throws(DriftStatisticsError) {
    // The payload is moved out and `self` emptied while it merges, so the payload's storage is
    // uniquely referenced and grows in place: `switch (self, other)` with a `var` binding copied
    // every level of the sketch (or the whole dictionary of counts) on each merge.
    switch (other, consume self) {
    case (.numerical(let theirs), .numerical(var mine)):
      defer { self = .numerical(mine) }
      try mine.merge(theirs)
    case (.categorical(let theirs), .categorical(var mine)):
      defer { self = .categorical(mine) }
      try mine.merge(theirs)
    case (.binned(let theirs), .binned(var mine)):
      defer { self = .binned(mine) }
      try mine.merge(theirs)
    case (_, let unchanged):
      self = unchanged
      throw .invalidParameter("cannot merge a \(unchanged.description) summary with a \(other.description) one")
    }
  }
}

/// One drift agent's summaries of one window, as they travel from a device to the controller
/// (JSON, `GET /v1/summaries` of `edgeml drift-agent`; docs/drift-agent.md).
///
/// ```json
/// {"apiVersion": "edgeml.io/drift-summary/v1", "source": "detector-7f9c-abcde",
///  "start": 1796000000, "end": 1796000600,
///  "features": {"brightness": {"type": "numerical", "count": 1200, "sketch": "S0xMMQ…"},
///               "label": {"type": "categorical", "count": 1200, "counts": {"car": 700, "bus": 500}}}}
/// ```
/// `start`/`end` are Unix seconds (the window is [start, end)); `sketch` is the base64 of
/// `KLLSketch.serialized()`; `count` is redundant and checked on decoding.
public struct DriftSummaryReport: Codable, Sendable, Equatable {
  /// The format's identifier; a report carrying another is refused.
  public static let currentAPIVersion = "edgeml.io/drift-summary/v1"

  public struct Feature: Codable, Sendable, Equatable {
    public var type: DefaultDriftTest.FeatureKind
    public var count: Int
    /// Base64 of `KLLSketch.serialized()` (numerical features).
    public var sketch: String?
    /// Count per category (categorical features).
    public var counts: [String: Double]?
    /// A binned numerical feature (read from Prometheus): the buckets' finite upper bounds, ascending.
    public var buckets: [Double]?
    /// A binned numerical feature: the count of each bin, `buckets.count + 1` of them (the last one above every bound).
    public var bins: [Double]?

    /// An entry as it was read, unchecked: `summary(feature:)` checks it.
    public init(type: DefaultDriftTest.FeatureKind, count: Int, sketch: String?, counts: [String: Double]?,
                buckets: [Double]? = nil, bins: [Double]? = nil) {
      self.type = type
      self.count = count
      self.sketch = sketch
      self.counts = counts
      self.buckets = buckets
      self.bins = bins
    }

    public init(_ summary: FeatureSummary) {
      type = summary.kind
      count = summary.count
      switch summary {
      case .numerical(let sketch): self.sketch = Base64.encode(sketch.serialized())
      case .categorical(let counts): self.counts = counts.counts
      case .binned(let histogram):
        buckets = histogram.edges
        bins = histogram.counts
      }
    }

    /// The summary this entry carries.
    /// - Throws: `.invalidParameter` for a missing or malformed sketch or counts, or a `count`
    ///   that disagrees with them; count errors of `CategoricalCounts`.
    public func summary(feature name: String) throws(DriftStatisticsError) -> FeatureSummary {
      let decoded: FeatureSummary
      switch type {
      case .numerical where buckets != nil || bins != nil:
        guard let buckets, let bins else { throw .invalidParameter("feature \(name): a binned summary needs both \"buckets\" and \"bins\"") }
        do { decoded = .binned(try FixedBinHistogram(edges: buckets, counts: bins)) } catch {
          throw .invalidParameter("feature \(name): \(error)")
        }
      case .numerical:
        guard let sketch, let bytes = Base64.decode(sketch) else {
          throw .invalidParameter("feature \(name): a numerical summary needs a base64 \"sketch\"")
        }
        do { decoded = .numerical(try KLLSketch(serialized: bytes)) } catch {
          throw .invalidParameter("feature \(name): \(error)")
        }
      case .categorical:
        guard let counts else { throw .invalidParameter("feature \(name): a categorical summary needs \"counts\"") }
        decoded = .categorical(try CategoricalCounts(counts: counts))
      }
      guard decoded.count == count else {
        throw .invalidParameter("feature \(name): count \(count) does not match the summary's \(decoded.count)")
      }
      return decoded
    }
  }

  public var apiVersion: String
  /// Who sent it: the pod (or agent) name.
  public var source: String
  /// The window, Unix seconds: [start, end).
  public var start: Double
  public var end: Double
  public var features: [String: Feature]

  /// A report as it was read, unchecked: `summaries()` checks it.
  public init(apiVersion: String, source: String, start: Double, end: Double, features: [String: Feature]) {
    self.apiVersion = apiVersion
    self.source = source
    self.start = start
    self.end = end
    self.features = features
  }

  public init(source: String, start: Double, end: Double, summaries: [String: FeatureSummary]) {
    apiVersion = Self.currentAPIVersion
    self.source = source
    self.start = start
    self.end = end
    features = summaries.mapValues(Feature.init)
  }

  /// Every feature's summary, checked.
  /// - Throws: `.invalidParameter` naming the source and feature when the report is of another
  ///   version or an entry is malformed.
  public func summaries() throws(DriftStatisticsError) -> [String: FeatureSummary] {
    guard apiVersion == Self.currentAPIVersion else {
      throw .invalidParameter("\(source): unknown drift summary version \"\(apiVersion)\" (expected \(Self.currentAPIVersion))")
    }
    var out: [String: FeatureSummary] = [:]
    for (name, entry) in features {
      do { out[name] = try entry.summary(feature: name) } catch {
        throw .invalidParameter("\(source): \(error)")
      }
    }
    return out
  }
}

extension DefaultDriftTest.FeatureKind: Codable {}

/// RFC 4648 §4 base64 (standard alphabet, padded), so the summary format needs no Foundation.
enum Base64 {
  private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

  static func encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i < bytes.count {
      let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
      let word = b0 << 16 | b1 << 8 | b2
      out.append(alphabet[Int(word >> 18 & 63)])
      out.append(alphabet[Int(word >> 12 & 63)])
      out.append(i + 1 < bytes.count ? alphabet[Int(word >> 6 & 63)] : UInt8(ascii: "="))
      out.append(i + 2 < bytes.count ? alphabet[Int(word & 63)] : UInt8(ascii: "="))
      i += 3
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Each byte's 6-bit value in the alphabet, 0xFF for a byte outside it (`=` included).
  private static let values: [UInt8] = {
    var table = [UInt8](repeating: 0xFF, count: 256)
    for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
    return table
  }()

  /// nil for a string that is not padded base64 of the standard alphabet.
  ///
  /// Reads the string's UTF-8 in place and fills an output of the exact size: the sketches of a
  /// 1,000-feature report are a few megabytes of base64, decoded at every evaluation.
  static func decode(_ text: String) -> [UInt8]? {
    var text = text
    return text.withUTF8 { decode($0) }
  }

  static func decode(_ chars: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    guard chars.count % 4 == 0 else { return nil }
    guard chars.count > 0 else { return [] }
    // Padding only at the end, one or two `=` ("ab=c", "a===" are malformed).
    let equals = UInt8(ascii: "=")
    let padding = chars[chars.count - 1] != equals ? 0 : chars[chars.count - 2] != equals ? 1 : 2
    let outCount = chars.count / 4 * 3 - padding
    let table = values
    return table.withUnsafeBufferPointer { table -> [UInt8]? in
      var valid = true
      let out = [UInt8](unsafeUninitializedCapacity: outCount) { buffer, initialized in
        var o = 0
        var i = 0
        while i < chars.count {
          let last = i + 4 == chars.count
          let c0 = table[Int(chars[i])], c1 = table[Int(chars[i + 1])]
          // In the last quartet, padding stands for zero bits.
          let c2 = last && padding == 2 ? 0 : table[Int(chars[i + 2])]
          let c3 = last && padding >= 1 ? 0 : table[Int(chars[i + 3])]
          if (c0 | c1 | c2 | c3) & 0xC0 != 0 { valid = false; break }
          let word = UInt32(c0) << 18 | UInt32(c1) << 12 | UInt32(c2) << 6 | UInt32(c3)
          buffer[o] = UInt8(truncatingIfNeeded: word >> 16)
          if o + 1 < outCount { buffer[o + 1] = UInt8(truncatingIfNeeded: word >> 8) }
          if o + 2 < outCount { buffer[o + 2] = UInt8(truncatingIfNeeded: word) }
          o += 3
          i += 4
        }
        initialized = valid ? outCount : 0
      }
      return valid ? out : nil
    }
  }
}
