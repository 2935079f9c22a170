/// The drift test `edgeml` runs for a feature when the DriftPolicy does not name one.
///
/// The choice is Evidently's default (`_get_default_stattest` in evidently
/// `src/evidently/legacy/calculations/stattests/registry.py`, read at commit b419ef0), so reports agree
/// with what data scientists see there; unique values are counted over reference and current together:
///
/// | reference size | numerical, > 5 unique values | categorical, or ≤ 5 unique values | 2 unique values (binary) |
/// | --- | --- | --- | --- |
/// | ≤ 1000 | Kolmogorov–Smirnov, p < 0.05 | chi-squared, p < 0.05 | two-proportion z-test, p < 0.05 |
/// | > 1000 | Wasserstein-1 / σ_ref ≥ 0.1 | Jensen–Shannon (base e) ≥ 0.1 | Jensen–Shannon ≥ 0.1 |
///
/// Why the switch at 1000: with large samples every p-value test flags negligible differences, so
/// Evidently moves to distances with a fixed threshold. Differences from Evidently: the caller passes
/// the unique count (NaN excluded, as pandas' `nunique`), there is no text-feature branch, and the
/// thresholds are data so a DriftPolicy can override them.
public enum DefaultDriftTest: String, Sendable, CaseIterable {
  case kolmogorovSmirnov = "ks"
  case chiSquared = "chi2"
  case twoProportion = "two-proportion"
  case wasserstein = "wasserstein"
  case jensenShannon = "jensen-shannon"

  /// Whether a feature holds numbers or categories.
  public enum FeatureKind: String, Sendable { case numerical, categorical }

  /// Chooses the test for one feature.
  ///
  /// - Parameters:
  ///   - kind: numerical or categorical.
  ///   - referenceCount: observations in the reference sample.
  ///   - uniqueValues: distinct values in reference and current together.
  public static func choose(kind: FeatureKind, referenceCount: Int, uniqueValues: Int) -> DefaultDriftTest {
    let isContinuous = kind == .numerical && uniqueValues > 5
    if referenceCount <= 1000 {
      if isContinuous { return .kolmogorovSmirnov }
      return uniqueValues > 2 ? .chiSquared : .twoProportion
    }
    return isContinuous ? .wasserstein : .jensenShannon
  }

  /// The drift decision rule: p-value below the threshold for tests, statistic at or above it for distances.
  public var threshold: Double {
    switch self {
    case .kolmogorovSmirnov, .chiSquared, .twoProportion: 0.05
    case .wasserstein, .jensenShannon: 0.1
    }
  }

  /// Whether `threshold` applies to the p-value (tests) rather than the statistic (distances).
  public var usesPValue: Bool { threshold == 0.05 }
}
