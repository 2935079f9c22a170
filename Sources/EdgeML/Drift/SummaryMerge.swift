import DriftStatistics

/// Agents' reports merged one at a time, as they arrive: the controller keeps this one merged set of
/// summaries and the reports still in flight, never every pod's report at once.
///
/// Adding reports one by one in some order gives exactly what `DriftData.merge` gives for the same
/// reports in that order (counts add up exactly; KLL sketches are merged, and compacted, in the
/// same sequence).
public struct SummaryMerge: Sendable {
  /// The merged summaries of the policy's features, by name.
  public private(set) var summaries: [String: FeatureSummary] = [:]
  /// How many reports were added.
  public private(set) var reports = 0
  private let wanted: [String: FeatureType]

  /// An empty merge of the features a policy names.
  public init(features: [DriftFeature]) {
    wanted = Dictionary(features.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
    summaries.reserveCapacity(wanted.count)
  }

  /// Adds one agent's report; features the policy does not name are skipped.
  ///
  /// - Throws: `SummaryInvalid` naming the agent for a report of an unknown version, a feature of
  ///   another type than the policy says, or a malformed summary. A report of an unknown version or
  ///   a mistyped feature changes nothing; one with a malformed summary may have been partly added,
  ///   so a caller stops using this merge (the evaluation fails with that error).
  public mutating func add(_ report: DriftSummaryReport) throws(DriftInputError) {
    guard report.apiVersion == DriftSummaryReport.currentAPIVersion else {
      throw DriftInputError("SummaryInvalid", "\(report.source): unknown drift summary version \"\(report.apiVersion)\"")
    }
    for (name, entry) in report.features {
      guard let type = wanted[name] else { continue }
      guard entry.type.rawValue == type.rawValue else {
        throw DriftInputError("SummaryInvalid", "\(report.source): feature \(name) is \(entry.type.rawValue), the policy says \(type.rawValue)")
      }
    }
    for (name, entry) in report.features where wanted[name] != nil {
      do {
        let summary = try entry.summary(feature: name)
        // In place: `summaries[name]!.merge` mutates the stored summary without copying it.
        if summaries[name] == nil { summaries[name] = summary } else { try summaries[name]!.merge(summary) }
      } catch {
        throw DriftInputError("SummaryInvalid", "\(report.source): \(error)")
      }
    }
    reports += 1
  }
}
