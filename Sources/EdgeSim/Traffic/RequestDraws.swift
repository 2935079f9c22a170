import Foundation

/// The uniform numbers that decide one simulated request: a pure function of the seed, the load
/// (or pod) the request belongs to, and its index, so a request's fate does not depend on when the
/// simulator happened to compute it.
///
/// Each draw is SplitMix64's output function applied to a counter (Steele, Lea & Flood, "Fast
/// splittable pseudorandom number generators", OOPSLA 2014; constants as in java.util.SplittableRandom).
struct RequestDraws {
  private let base: UInt64

  init(seed: UInt64, stream: UInt64, index: Int) {
    base = Self.mix(seed ^ Self.mix(stream &+ 0x9E37_79B9_7F4A_7C15) ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03))
  }

  /// The `slot`th uniform in [0, 1) of this request (53 random bits).
  func uniform(_ slot: Int) -> Double {
    Double(Self.mix(base &+ UInt64(slot + 1) &* 0x9E37_79B9_7F4A_7C15) >> 11) * 0x1.0p-53
  }

  static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A stable 64-bit hash of a name (FNV-1a), since Swift's `Hasher` is seeded per process.
  static func stream(_ name: String) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
    return h
  }
}
