import Foundation

/// A log-normal request latency given by its median and its 99th percentile.
///
/// ln(latency) is normal with mean ln(median) and standard deviation ln(p99 / median) / z₀.₉₉, where
/// z₀.₉₉ = 2.3263478740… is the standard normal 0.99 quantile (Φ⁻¹(0.99); e.g. NIST/SEMATECH
/// e-Handbook §1.3.6.7.1, "Cumulative Distribution Function of the Standard Normal Distribution").
/// So the median and the p99 of many draws are the configured ones. A p99 not above the median
/// gives a constant latency.
public struct LatencyDistribution: Sendable, Equatable {
  /// The 50th percentile, in milliseconds.
  public var medianMilliseconds: Double
  /// The 99th percentile, in milliseconds.
  public var p99Milliseconds: Double

  public init(medianMilliseconds: Double, p99Milliseconds: Double) {
    self.medianMilliseconds = medianMilliseconds; self.p99Milliseconds = p99Milliseconds
  }

  static let z99 = 2.3263478740408408

  var sigma: Double {
    guard medianMilliseconds > 0, p99Milliseconds > medianMilliseconds else { return 0 }
    return log(p99Milliseconds / medianMilliseconds) / Self.z99
  }

  /// The latency in microseconds for two uniform draws in [0, 1) (Box–Muller: one standard normal
  /// deviate from two uniforms; Box & Muller, Ann. Math. Statist. 29(2), 1958).
  func microseconds(_ u1: Double, _ u2: Double) -> Double {
    let z = (-2 * log(1 - u1)).squareRoot() * cos(2 * Double.pi * u2)
    return medianMilliseconds * 1000 * exp(sigma * z)
  }
}
