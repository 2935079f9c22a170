import DriftStatistics
import KubeCore

/// One evaluation: every feature of a policy tested, p-values corrected, the dataset judged by
/// the share of drifted features. Pure.
public enum DriftEvaluator {
  /// What an evaluation concluded.
  public enum Outcome: Sendable, Equatable {
    /// Tested: per-feature results (p-values after correction), the share and the dataset verdict.
    case decided(features: [FeatureResult], samples: Int, driftShare: Double, datasetDrift: Bool)
    /// Too few observations in the window to decide anything.
    case insufficient(samples: Int, minimum: Int, feature: String)
  }

  /// Tests `current` against `reference` for each feature of the policy.
  ///
  /// The test is the feature's (`test`), or with `auto` (or none) `DefaultDriftTest.choose` as
  /// Evidently chooses it; the threshold is the feature's, else the test's default. p-values of the
  /// features tested with a p-value are corrected together (`correction`); distances are not.
  /// A feature drifted when its corrected p-value is below its threshold, or its distance at or
  /// above it; the dataset drifted when the drifted share is at least `share` (Evidently's rule,
  /// `share_drifted_features >= drift_share`).
  ///
  /// - Throws: `DriftInputError` `FeatureMissing` for a feature the summaries lack,
  ///   `ReferenceMismatch` for one the reference lacks, `TestFailed` for a test that does not apply.
  public static func evaluate(features: [DriftFeature], reference: [String: FeatureSummary], current: [String: FeatureSummary],
                              minSamples: Int, correction: PValueCorrection?, share: Double) throws(DriftInputError) -> Outcome {
    var samples = Int.max
    var smallest = ""
    for feature in features {
      guard let cur = current[feature.name] else {
        throw DriftInputError("FeatureMissing", "no agent reported feature \(feature.name) in the window")
      }
      guard reference[feature.name] != nil else { throw DriftInputError("ReferenceMismatch", "the reference has no feature \(feature.name)") }
      if cur.count < samples { samples = cur.count; smallest = feature.name }
    }
    if features.isEmpty { samples = 0 }
    if samples < minSamples { return .insufficient(samples: samples, minimum: minSamples, feature: smallest) }

    var results: [FeatureResult] = []
    var usesP: [Bool] = []
    for feature in features {
      let ref = reference[feature.name]!, cur = current[feature.name]!
      if case .binned(let r) = ref, case .binned(let c) = cur, r.edges != c.edges {
        throw DriftInputError("BucketsMismatch", "feature \(feature.name): the reference's bucket bounds \(r.edges.map { "\($0)" }.joined(separator: ",")) "
                                + "are not the current data's \(c.edges.map { "\($0)" }.joined(separator: ",")): both must come from the same histogram buckets")
      }
      let test = try chooseTest(feature, reference: ref, current: cur)
      let threshold = feature.threshold ?? test.defaultThreshold
      var outcome: DriftTestResult
      do {
        outcome = try ref.driftTest(test, current: cur)
      } catch DriftStatisticsError.undefinedResult(_) where test == .twoProportion {
        // Every observation of both samples in one category: the same distribution.
        outcome = DriftTestResult(statistic: 0, pValue: 1, sampleSizes: [ref.count, cur.count])
      } catch {
        throw DriftInputError("TestFailed", "feature \(feature.name): \(test.rawValue): \(error)")
      }
      let statistic = outcome.statistic.isFinite ? outcome.statistic : Double.greatestFiniteMagnitude
      results.append(FeatureResult(name: feature.name, test: test.rawValue, statistic: statistic, pValue: outcome.pValue,
                                   threshold: threshold, drifted: false))
      usesP.append(test.usesPValue && outcome.pValue != nil)
    }
    let pIndices = results.indices.filter { usesP[$0] }
    if let correction, !pIndices.isEmpty {
      do {
        let adjusted = try adjustPValues(pIndices.map { results[$0].pValue! }, method: correction)
        for (i, p) in zip(pIndices, adjusted) { results[i].pValue = p }
      } catch {
        throw DriftInputError("TestFailed", "p-value correction: \(error)")
      }
    }
    for i in results.indices {
      let r = results[i]
      results[i].drifted = usesP[i] ? (r.pValue ?? 1) < (r.threshold ?? 0.05) : (r.statistic ?? 0) >= (r.threshold ?? 0.1)
    }
    let drifted = results.filter { $0.drifted == true }.count
    let driftShare = results.isEmpty ? 0 : Double(drifted) / Double(results.count)
    return .decided(features: results, samples: samples, driftShare: driftShare, datasetDrift: drifted > 0 && driftShare >= share)
  }

  /// The test for one feature: the one it names, or Evidently's default for its data.
  static func chooseTest(_ feature: DriftFeature, reference: FeatureSummary, current: FeatureSummary) throws(DriftInputError) -> FeatureSummary.SummaryTest {
    if let name = feature.test, name != "auto" {
      guard let test = FeatureSummary.SummaryTest(rawValue: name) else {
        throw DriftInputError("TestFailed", "feature \(feature.name): \(name) needs raw samples; on summaries use ks, psi, chi2, "
                                + "jensen-shannon, kl, hellinger, wasserstein, energy or auto")
      }
      return test
    }
    if case .binned(let h) = current, feature.type == .numerical {
      return binnedDefault(referenceCount: reference.count, bins: h.counts.count)
    }
    if case .binned(let h) = reference, feature.type == .numerical {
      return binnedDefault(referenceCount: reference.count, bins: h.counts.count)
    }
    let kind: DefaultDriftTest.FeatureKind = feature.type == .numerical ? .numerical : .categorical
    let chosen = DefaultDriftTest.choose(kind: kind, referenceCount: reference.count, uniqueValues: reference.distinctValues(with: current))
    // A numerical feature with few distinct values is tested as categories by Evidently; its
    // summary is a sketch, on which the distances (binned) and KS apply instead.
    if feature.type == .numerical {
      switch chosen {
      case .chiSquared, .twoProportion: return .kolmogorovSmirnov
      default: break
      }
    }
    return FeatureSummary.SummaryTest(chosen)
  }

  /// Evidently's default for a histogram read from Prometheus: its buckets are the only values the
  /// data can tell apart, so it is chosen as for categories over the buckets — chi-squared up to
  /// 1,000 reference observations, Jensen–Shannon beyond (two buckets: chi-squared too, on the
  /// 2×2 table, where Evidently would take two-proportion).
  static func binnedDefault(referenceCount: Int, bins: Int) -> FeatureSummary.SummaryTest {
    DefaultDriftTest.choose(kind: .categorical, referenceCount: referenceCount, uniqueValues: bins) == .jensenShannon ? .jensenShannon : .chiSquared
  }

  /// The correction a policy names (`spec.correction`; default Benjamini–Hochberg, nil for `none`).
  public static func correction(_ name: String?) -> PValueCorrection? {
    switch name ?? "benjamini-hochberg" {
    case "none": nil
    case "bonferroni": .bonferroni
    case "holm": .holm
    default: .bh
    }
  }
}
