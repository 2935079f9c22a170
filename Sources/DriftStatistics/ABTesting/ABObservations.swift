/// Cumulative successes out of trials for one variant of an A/B test (requests served without error,
/// conversions…), as a controller reads them from two counters.
///
/// Counts are `Int` and must lie in 0…2⁵³, the range where every count converts to `Double` exactly,
/// so no sum or product in this module can overflow or round a count.
public struct ProportionCounts: Sendable, Equatable, Hashable, Codable {
  /// How many trials succeeded.
  public var successes: Int
  /// How many trials there were.
  public var trials: Int

  public init(successes: Int, trials: Int) {
    self.successes = successes
    self.trials = trials
  }

  /// successes / trials, or 0 with no trials.
  public var rate: Double { trials > 0 ? Double(successes) / Double(trials) : 0 }

  /// Throws unless 0 ≤ successes ≤ trials ≤ 2⁵³.
  func validate(name: String) throws(DriftStatisticsError) {
    if successes < 0 || trials < 0 { throw .negativeValue(name: name) }
    guard successes <= trials else {
      throw .invalidParameter("\(name): successes (\(successes)) exceed trials (\(trials))")
    }
    guard trials <= maximumExactCount else {
      throw .invalidParameter("\(name): \(trials) trials exceed 2^53, the largest count a Double holds exactly")
    }
  }
}

/// The largest count every function here accepts: 2⁵³, beyond which `Double(count)` rounds.
public let maximumExactCount = 1 << 53

/// The count, mean and sample variance (n - 1 denominator) of a continuous metric for one variant —
/// all the sequential test needs, so a controller can keep it from Prometheus counters or merge it
/// from pods (Chan, Golub & LeVeque, "Algorithms for computing the sample variance", Am. Stat. 37(3), 1983).
public struct MeanSummary: Sendable, Equatable, Hashable, Codable {
  /// How many observations.
  public var count: Int
  /// Their mean.
  public var mean: Double
  /// Their sample variance, Σ(x - mean)²/(count - 1); 0 for fewer than two observations.
  public var variance: Double

  public init(count: Int, mean: Double, variance: Double) {
    self.count = count
    self.mean = mean
    self.variance = variance
  }

  /// The summary of `values` by Welford's update (Technometrics 4(3), 1962), stable for large means.
  /// - Throws: `.notANumber` or `.infiniteValue` for a non-finite value.
  public init(_ values: [Double]) throws(DriftStatisticsError) {
    var mean = 0.0, squares = 0.0, n = 0.0
    for v in values {
      if v.isNaN { throw .notANumber(name: "metric") }
      if v.isInfinite { throw .infiniteValue(name: "metric") }
      n += 1
      let delta = v - mean
      mean += delta / n
      squares += delta * (v - mean)
    }
    self.init(count: values.count, mean: mean, variance: values.count > 1 ? squares / (n - 1) : 0)
  }

  /// Throws unless 0 ≤ count ≤ 2⁵³ and mean and variance are finite, variance ≥ 0.
  func validate(name: String) throws(DriftStatisticsError) {
    if count < 0 || variance < 0 { throw .negativeValue(name: name) }
    if mean.isNaN || variance.isNaN { throw .notANumber(name: name) }
    if mean.isInfinite || variance.isInfinite { throw .infiniteValue(name: name) }
    guard count <= maximumExactCount else {
      throw .invalidParameter("\(name): a count of \(count) exceeds 2^53, the largest a Double holds exactly")
    }
  }
}

/// A confidence interval [lower, upper] for an effect (candidate − control). A bound may be ±∞ when
/// the samples are too small for the requested level; JSON has no infinity, so a status should
/// print such a bound as absent.
public struct ConfidenceInterval: Sendable, Equatable, Hashable, Codable {
  public var lower: Double
  public var upper: Double
  public init(lower: Double, upper: Double) {
    self.lower = lower
    self.upper = upper
  }
  /// Whether `value` lies inside, bounds included.
  public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }
}

/// Throws unless 0 < alpha < 1.
func requireAlpha(_ alpha: Double) throws(DriftStatisticsError) {
  guard alpha > 0, alpha < 1 else { throw .invalidParameter("alpha must lie in (0, 1); got \(alpha)") }
}
