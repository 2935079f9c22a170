import DriftStatistics
import KubeCore

/// What can be wrong with what an evaluation reads: the reference, the agents' summaries, the
/// features. Each becomes `Drifted=Unknown` with `reason`, a Warning Event with the message, and a
/// backoff before the next try — never a crash or a retry storm.
public struct DriftInputError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The condition's reason: `ReferenceUnreadable`, `ReferenceMismatch`, `AgentUnreachable`,
  /// `FeatureMissing`, `SummaryInvalid`, `TestFailed`; with `source.prometheus`, `SourceUnreachable`,
  /// `QueryFailed` and `BucketsMismatch`.
  public var reason: String
  public var message: String
  public init(_ reason: String, _ message: String) {
    self.reason = reason
    self.message = message
  }
  public var description: String { message }
}

/// Reading references and merging summaries: the pure parts of gathering an evaluation's data.
public enum DriftData {
  /// Most bytes a reference may have (a ConfigMap holds at most 1 MiB; a fetched one gets 4×).
  public static let maximumReferenceBytes = 4 << 20

  /// Parses a reference: a `DriftSummaryReport` (what the agents serve, and what a baseline is
  /// kept as) or the columnar observations JSON the agent takes (`{"features": {"x": [0.4, …],
  /// "label": ["car", …]}}`), summarised here. Only the policy's features are read.
  ///
  /// - Throws: `DriftInputError` `ReferenceUnreadable` for bytes that are neither, and
  ///   `ReferenceMismatch` naming a feature the reference lacks or holds with another type.
  public static func reference(_ bytes: [UInt8], features: [DriftFeature], origin: String) throws(DriftInputError) -> [String: FeatureSummary] {
    guard bytes.count <= maximumReferenceBytes else {
      throw DriftInputError("ReferenceUnreadable", "\(origin): \(bytes.count) bytes, more than the \(maximumReferenceBytes) a reference may have")
    }
    let json: JSONValue
    do { json = try JSONValue(parsing: bytes) } catch {
      throw DriftInputError("ReferenceUnreadable", "\(origin) is not JSON: \(error)")
    }
    var summaries: [String: FeatureSummary] = [:]
    if json["apiVersion"] != nil {
      do {
        summaries = try DriftSummaryReport(json: json).summaries()
      } catch let error as DriftInputError {
        throw DriftInputError("ReferenceUnreadable", "\(origin): \(error.message)")
      } catch {
        throw DriftInputError("ReferenceUnreadable", "\(origin) is not a drift summary report: \(error)")
      }
    } else if let columns = json["features"]?.objectValue {
      for feature in features {
        guard let values = columns[feature.name]?.arrayValue else { continue }
        summaries[feature.name] = try summarise(values, feature: feature, origin: origin)
      }
    } else {
      throw DriftInputError("ReferenceUnreadable",
                            "\(origin) is neither a drift summary report (\"apiVersion\") nor columnar observations (\"features\")")
    }
    for feature in features {
      guard let s = summaries[feature.name] else {
        throw DriftInputError("ReferenceMismatch", "\(origin) has no feature \(feature.name)")
      }
      guard s.kind.rawValue == feature.type.rawValue else {
        throw DriftInputError("ReferenceMismatch", "\(origin): feature \(feature.name) is \(s.kind.rawValue) there, \(feature.type.rawValue) in the policy")
      }
    }
    return summaries.filter { name, _ in features.contains { $0.name == name } }
  }

  /// The coin seed of sketches made from a reference's observations.
  static let referenceSeed: UInt64 = 0x6564_6765_6D6C_7266

  /// One column of observations as a summary: numbers into a KLL sketch, strings counted.
  static func summarise(_ values: [JSONValue], feature: DriftFeature, origin: String) throws(DriftInputError) -> FeatureSummary {
    do {
      switch feature.type {
      case .numerical:
        // One seed for every reference: the same observations give the same sketch at every
        // evaluation (a reference is never merged with other sketches, so a shared seed costs nothing).
        var sketch = KLLSketch(seed: referenceSeed)
        for v in values {
          guard let x = v.doubleValue, x.isFinite else {
            throw DriftInputError("ReferenceMismatch", "\(origin): feature \(feature.name) holds \(v.serializedString()), not a finite number")
          }
          try sketch.insert(x)
        }
        return .numerical(sketch)
      case .categorical:
        var counts = CategoricalCounts()
        var strings: [String] = []
        strings.reserveCapacity(values.count)
        for v in values {
          guard let s = v.stringValue else {
            throw DriftInputError("ReferenceMismatch", "\(origin): feature \(feature.name) holds \(v.serializedString()), not a string")
          }
          strings.append(s)
        }
        try counts.insert(contentsOf: strings)
        return .categorical(counts)
      }
    } catch let e as DriftInputError {
      throw e
    } catch {
      throw DriftInputError("ReferenceUnreadable", "\(origin): feature \(feature.name): \(error)")
    }
  }

  /// The summaries of many agents (pods, nodes) merged per feature; features the policy does not
  /// name are skipped. The same as adding each report in order to one `SummaryMerge`.
  ///
  /// - Throws: `SummaryInvalid` naming the agent for a malformed report or one whose feature has
  ///   another type than the policy says.
  public static func merge(_ reports: [DriftSummaryReport], features: [DriftFeature]) throws(DriftInputError) -> [String: FeatureSummary] {
    var merge = SummaryMerge(features: features)
    for report in reports { try merge.add(report) }
    return merge.summaries
  }

  /// The merged summaries as one report (what a baseline ConfigMap keeps).
  public static func report(_ summaries: [String: FeatureSummary], source: String, start: Int64, end: Int64) -> DriftSummaryReport {
    DriftSummaryReport(source: source, start: Double(start), end: Double(end), summaries: summaries)
  }
}
