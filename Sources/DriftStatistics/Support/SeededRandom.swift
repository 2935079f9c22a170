/// A seeded pseudo-random generator: reproducible draws for simulations, tests and benchmarks.
///
/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
/// one 64-bit state, passes BigCrush, and a given seed gives the same sequence on every platform,
/// which `SystemRandomNumberGenerator` does not. Not for anything secret.
public struct SeededRandom: RandomNumberGenerator, Sendable {
  public var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A normal draw by the Box–Muller transform (Box & Muller, Ann. Math. Statist. 29(2), 1958).
  public mutating func normal(mean: Double = 0, sd: Double = 1) -> Double {
    // u1 in (0, 1]: log(0) never taken.
    let u1 = (Double(next() >> 11) + 1) * 0x1.0p-53, u2 = Double(next() >> 11) * 0x1.0p-53
    return mean + sd * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }
}
