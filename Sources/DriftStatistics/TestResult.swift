/// The outcome of a two-sample test or a distance: its statistic, p-value and the sample sizes used.
///
/// Distances (Wasserstein, Jensen–Shannon, PSI…) have no p-value and leave `pValue` nil.
public struct DriftTestResult: Sendable, Equatable {
  /// The test statistic or distance, always finite.
  public var statistic: Double
  /// The p-value in [0, 1], or nil for a distance that has none.
  public var pValue: Double?
  /// The sizes of the samples (or totals of the count vectors) the result was computed from.
  public var sampleSizes: [Int]

  /// Creates a result; `pValue` nil for distances.
  public init(statistic: Double, pValue: Double?, sampleSizes: [Int]) {
    self.statistic = statistic
    self.pValue = pValue
    self.sampleSizes = sampleSizes
  }
}

/// Which alternative hypothesis a one- or two-sided test uses (scipy's `alternative`).
public enum Alternative: String, Sendable, CaseIterable {
  /// The distributions differ (in either direction).
  case twoSided = "two-sided"
  /// The reference's CDF lies below the current's (reference values tend to be larger) — scipy's `less`.
  case less
  /// The reference's CDF lies above the current's (reference values tend to be smaller) — scipy's `greater`.
  case greater
}
