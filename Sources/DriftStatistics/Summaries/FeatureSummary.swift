/// What a device keeps about one feature over one window: a KLL sketch of a numerical feature's
/// values or the counts of a categorical feature's values. Summaries of many pods and windows merge
/// into one, which the controller tests against the reference.
public enum FeatureSummary: Sendable, Equatable {
  case numerical(KLLSketch)
  case categorical(CategoricalCounts)

  /// The kind of feature summarised.
  public var kind: DefaultDriftTest.FeatureKind {
    switch self {
    case .numerical: .numerical
    case .categorical: .categorical
    }
  }

  /// How many observations the summary holds.
  public var count: Int {
    switch self {
    case .numerical(let sketch): sketch.count
    case .categorical(let counts): Int(counts.counts.values.reduce(0, +))
    }
  }

  /// Adds another summary of the same feature (another pod, another window).
  ///
  /// - Throws: `.invalidParameter` when one summary is numerical and the other categorical, and the
  ///   errors of `KLLSketch.merge` and `CategoricalCounts.merge` (counts beyond 2⁵³); this value is
  ///   then left unchanged.
  public mutating func merge(_ other: FeatureSummary) throws(DriftStatisticsError) {
    switch (self, other) {
    case (.numerical(var mine), .numerical(let theirs)):
      try mine.merge(theirs)
      self = .numerical(mine)
    case (.categorical(var mine), .categorical(let theirs)):
      try mine.merge(theirs)
      self = .categorical(mine)
    default:
      throw .invalidParameter("cannot merge a \(kind.rawValue) summary with a \(other.kind.rawValue) one")
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

    public init(_ summary: FeatureSummary) {
      type = summary.kind
      count = summary.count
      switch summary {
      case .numerical(let sketch): self.sketch = Base64.encode(sketch.serialized())
      case .categorical(let counts): self.counts = counts.counts
      }
    }

    /// The summary this entry carries.
    /// - Throws: `.invalidParameter` for a missing or malformed sketch or counts, or a `count`
    ///   that disagrees with them; count errors of `CategoricalCounts`.
    public func summary(feature name: String) throws(DriftStatisticsError) -> FeatureSummary {
      let decoded: FeatureSummary
      switch type {
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

  /// nil for a string that is not padded base64 of the standard alphabet.
  static func decode(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(chars.count / 4 * 3)
    var index = 0
    while index < chars.count {
      var word: UInt32 = 0
      var padding = 0
      for j in 0..<4 {
        let c = chars[index + j]
        let value: UInt32
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(c - UInt8(ascii: "a")) + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(c - UInt8(ascii: "0")) + 52
        case UInt8(ascii: "+"): value = 62
        case UInt8(ascii: "/"): value = 63
        case UInt8(ascii: "=") where index + 4 == chars.count && j >= 2: value = 0; padding += 1
        default: return nil
        }
        // Padding only at the end: "ab=c" is malformed.
        if padding > 0 && c != UInt8(ascii: "=") { return nil }
        word = word << 6 | value
      }
      out.append(UInt8(word >> 16 & 0xFF))
      if padding < 2 { out.append(UInt8(word >> 8 & 0xFF)) }
      if padding < 1 { out.append(UInt8(word & 0xFF)) }
      index += 4
    }
    return out
  }
}
