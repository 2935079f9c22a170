/// How the mixture SPRT chooses τ², the variance of its normal mixing distribution over the effect.
public enum MixingVariance: Sendable, Equatable, Hashable, Codable {
  /// τ² fixed, in squared units of the effect (rate difference², or metric units²). Johari et al. choose
  /// it from the spread of effects seen in past experiments; use this when such history exists.
  case fixed(Double)
  /// τ² = c(α)·(σ²_control + σ²_candidate)/n* with c(α) = 2 ln(1/α) + ln(1 + 2 ln(1/α)): the mixture
  /// whose boundary is narrowest when each variant has n* observations (the approximate optimum of the
  /// normal-mixture boundary: Howard, Ramdas, McAuliffe & Sekhon, Ann. Statist. 49(2), 2021;
  /// Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas, "Time-uniform central limit theory and asymptotic
  /// confidence sequences", arXiv:2103.06476, written there as ρ² for unit-variance data). The
  /// per-observation variances σ² are the ones seen at the first informative look; τ² is then frozen
  /// (stored in the state) so the mixture no longer moves with the data.
  case tuned(samplesPerVariant: Int)
}

/// The mixture sequential probability ratio test (mSPRT) for the difference candidate − control of
/// two rates or two means, with an always-valid p-value and confidence interval: a value a controller
/// updates at each look with the *cumulative* counts and stores between looks.
///
/// Method (Johari, Koomen, Pekelis & Walsh, "Peeking at A/B Tests", KDD 2017; "Always Valid Inference:
/// Continuous Monitoring of A/B Tests", Operations Research 70(3), 2022): at each look the estimate
/// θ̂ = candidate − control has, by the central limit theorem, θ̂ ≈ N(θ, s²) with
/// s² = σ²_control/n_control + σ²_candidate/n_candidate (σ² = p(1-p) for a rate, the sample variance
/// for a mean). Mixing the likelihood ratio of θ against 0 over θ ~ N(0, τ²) gives
///
///     Λ = √(s²/(s² + τ²)) · exp(τ²θ̂² / (2s²(s² + τ²)))
///
/// (with equal sizes n, s² = V/n and this is their Λₙ = √(V/(V + nτ²))·exp(n²τ²θ̂²/(2V(V + nτ²)))).
/// Λ is a nonnegative martingale under θ = 0, so by Ville's inequality P(sup Λ ≥ 1/α) ≤ α and
/// pₙ = min(pₙ₋₁, 1/Λₙ) is a p-value valid at any stopping time: look as often as you like and stop
/// when pₙ ≤ α; the false-positive rate stays at most α. The confidence interval is the set of θ₀ the
/// test would not reject — θ̂ ± √(s²(s² + τ²)/τ² · (2 ln(1/α) + ln((s² + τ²)/s²))) — intersected with
/// every earlier one (their always-valid CI).
///
/// The validity is asymptotic where s² is estimated (Johari et al. plug in the estimated variance too;
/// the time-uniform CLT of Waudby-Smith et al. makes it precise): with a few dozen observations per variant it holds in our
/// simulations (`ABTestingTests`). A continuous metric enters through its mean: latency compared by
/// the difference of mean latencies, not by ranks.
///
/// **What to persist** to resume exactly after a restart: this whole value (it is `Codable` and small:
/// alpha, the mixing rule, τ² once frozen, the running minimum p-value, the running interval, the last
/// cumulative sample sizes, the last effect, the number of looks). The running minimum and interval
/// cannot be recomputed from the latest counts; the sizes let `update` refuse counts that went
/// backwards (a counter reset) instead of silently restarting the test.
public struct MixtureSPRT: Sendable, Equatable, Hashable, Codable {
  /// The level of the confidence interval (1 - alpha) and of the tuning constant.
  public private(set) var alpha: Double
  /// How τ² is chosen.
  public private(set) var mixing: MixingVariance
  /// τ², once known (at once for `.fixed`, at the first informative look for `.tuned`).
  public private(set) var tauSquared: Double?
  /// The always-valid p-value: the running minimum of 1/Λ, 1 before any evidence.
  public private(set) var pValue: Double
  /// The always-valid (1 - alpha) interval for the effect, nil until the first informative look.
  /// Intersecting can leave it empty (lower > upper), an event of probability at most alpha.
  public private(set) var confidenceInterval: ConfidenceInterval?
  /// candidate − control at the last informative look.
  public private(set) var effect: Double?
  /// The cumulative sizes [control, candidate] at the last look.
  public private(set) var sampleSizes: [Int]
  /// How many looks `update` has taken (informative or not).
  public private(set) var looks: Int

  /// A test with no looks yet.
  /// - Throws: `.invalidParameter` for alpha outside (0, 1), a non-positive or non-finite fixed τ²,
  ///   or a tuning size below 1.
  public init(alpha: Double = 0.05, mixing: MixingVariance) throws(DriftStatisticsError) {
    try requireAlpha(alpha)
    switch mixing {
    case .fixed(let tau2):
      guard tau2 > 0, tau2.isFinite else { throw .invalidParameter("tau² must be positive and finite; got \(tau2)") }
      tauSquared = tau2
    case .tuned(let size):
      guard size >= 1 else { throw .invalidParameter("tuning needs samplesPerVariant ≥ 1; got \(size)") }
      tauSquared = nil
    }
    self.alpha = alpha
    self.mixing = mixing
    pValue = 1
    confidenceInterval = nil
    effect = nil
    sampleSizes = [0, 0]
    looks = 0
  }

  /// Whether the test rejects "no difference" at its alpha.
  public var isSignificant: Bool { pValue <= alpha }

  /// One look at cumulative success counts (difference of rates).
  /// - Throws: `.negativeValue`, `.invalidParameter` (successes > trials, counts > 2⁵³, or a count
  ///   smaller than at the last look); the state is unchanged when it throws.
  public mutating func update(control: ProportionCounts, candidate: ProportionCounts) throws(DriftStatisticsError) {
    try control.validate(name: "control")
    try candidate.validate(name: "candidate")
    try advance(to: [control.trials, candidate.trials])
    guard control.trials > 0, candidate.trials > 0 else { return }
    let a = control.rate, b = candidate.rate
    look(estimate: b - a, varianceControl: a * (1 - a), varianceCandidate: b * (1 - b),
         sizes: (Double(control.trials), Double(candidate.trials)))
  }

  /// One look at cumulative summaries of a continuous metric (difference of means).
  /// - Throws: as the proportion update, plus `.notANumber` / `.infiniteValue` for a bad summary.
  public mutating func update(control: MeanSummary, candidate: MeanSummary) throws(DriftStatisticsError) {
    try control.validate(name: "control")
    try candidate.validate(name: "candidate")
    try advance(to: [control.count, candidate.count])
    guard control.count > 1, candidate.count > 1 else { return }
    look(estimate: candidate.mean - control.mean, varianceControl: control.variance,
         varianceCandidate: candidate.variance, sizes: (Double(control.count), Double(candidate.count)))
  }

  private mutating func advance(to sizes: [Int]) throws(DriftStatisticsError) {
    for (old, new) in zip(sampleSizes, sizes) where new < old {
      throw .invalidParameter("cumulative counts went backwards (\(sampleSizes) → \(sizes)): a counter reset starts a new test")
    }
    sampleSizes = sizes
    looks += 1
  }

  /// The mixture likelihood ratio at one look; a look with no variance yet (every trial agrees) carries
  /// no information and leaves p and the interval as they were.
  private mutating func look(estimate: Double, varianceControl: Double, varianceCandidate: Double,
                             sizes: (control: Double, candidate: Double)) {
    let s2 = varianceControl / sizes.control + varianceCandidate / sizes.candidate
    guard s2 > 0, s2.isFinite else { return }
    if tauSquared == nil, case .tuned(let size) = mixing {
      let logInverse = -log(alpha)
      tauSquared = (2 * logInverse + log1p(2 * logInverse)) * (varianceControl + varianceCandidate) / Double(size)
    }
    guard let tau2 = tauSquared, tau2 > 0 else { return }
    let total = s2 + tau2
    let logLambda = 0.5 * log(s2 / total) + tau2 * estimate * estimate / (2 * s2 * total)
    pValue = min(pValue, exp(-logLambda))
    let half = (s2 * total / tau2 * (2 * -log(alpha) + log(total / s2))).squareRoot()
    let latest = ConfidenceInterval(lower: estimate - half, upper: estimate + half)
    if let previous = confidenceInterval {
      confidenceInterval = ConfidenceInterval(lower: max(previous.lower, latest.lower), upper: min(previous.upper, latest.upper))
    } else {
      confidenceInterval = latest
    }
    effect = estimate
  }
}
