/// What was wrong with the input of a drift statistic.
///
/// Every function of this module throws one of these instead of returning NaN, so a caller (the
/// DriftPolicy controller, `edgeml stats`) can turn bad input into a reason and a message.
public enum DriftStatisticsError: Error, Sendable, Equatable, CustomStringConvertible {
  /// A sample had no values; `name` says which one ("reference", "current", "table row 1"…).
  case emptySample(name: String)
  /// A sample held NaN; drift tests have no defined value on NaN, so we never propagate it.
  case notANumber(name: String)
  /// A value had to be finite (a count, a weight, a probability) but was ±infinity.
  case infiniteValue(name: String)
  /// A sample was too small for the test; `minimum` is the smallest size it accepts.
  case tooFewObservations(name: String, count: Int, minimum: Int)
  /// Two inputs had to have the same length (bins, categories) but did not.
  case lengthMismatch(expected: Int, actual: Int)
  /// A count, weight or probability was negative.
  case negativeValue(name: String)
  /// A vector of counts or weights summed to zero, so it cannot be normalised.
  case zeroTotal(name: String)
  /// An expected frequency was zero, so the chi-squared statistic is undefined.
  case zeroExpectedFrequency
  /// A 2×2 or r×c table did not have the required shape.
  case badTableShape(String)
  /// All observations are equal, and the test has no defined statistic for that.
  case allValuesEqual(test: String)
  /// The statistic or p-value would be infinite or undefined for this input (the reason says why).
  case undefinedResult(String)
  /// A parameter (bins, ddof, base) was outside its valid range.
  case invalidParameter(String)
  /// A count (or a total of counts) was beyond what this module computes with exactly: each count
  /// may be at most 2⁵³ (`maximumExactCount`), the largest integer a Double holds exactly.
  case countTooLarge(name: String)

  public var description: String {
    switch self {
    case .emptySample(let name): "the \(name) sample is empty"
    case .notANumber(let name): "the \(name) sample contains NaN"
    case .infiniteValue(let name): "the \(name) values must be finite"
    case .tooFewObservations(let name, let count, let minimum):
      "the \(name) sample has \(count) observation(s); this test needs at least \(minimum)"
    case .lengthMismatch(let expected, let actual): "expected \(expected) values but got \(actual)"
    case .negativeValue(let name): "the \(name) values must not be negative"
    case .zeroTotal(let name): "the \(name) values sum to zero"
    case .zeroExpectedFrequency: "an expected frequency is zero"
    case .badTableShape(let why): "bad table shape: \(why)"
    case .allValuesEqual(let test): "\(test) is undefined when all observations are equal"
    case .undefinedResult(let why): why
    case .invalidParameter(let why): why
    case .countTooLarge(let name): "the \(name) counts exceed 2^53 = 9007199254740992, the largest count a Double holds exactly"
    }
  }
}
