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
///
/// Each test keeps its scipy meaning, and they differ: for KS, `greater` means the reference ECDF lies
/// *above* the current one somewhere (reference values tend to be smaller); for Mann–Whitney,
/// `greater` means the reference is stochastically *larger*; for Fisher and the two-proportion test,
/// that the reference's odds ratio or proportion is larger.
public enum Alternative: String, Sendable, CaseIterable {
  /// The distributions differ (in either direction).
  case twoSided = "two-sided"
  /// One-sided, "reference below current" in the test's own sense (see above).
  case less
  /// One-sided, "reference above current" in the test's own sense (see above).
  case greater
}
