/// What a provider measured, as the conditions see it.
///
/// In CEL, `result` is a `double` for a scalar and a `list(double)` for a vector, one element per
/// series in the order the provider returned them: `result < 50` for a scalar;
/// `result.all(x, x < 50)` or `result[0] < 50` for a vector (docs/analysis.md).
public enum MetricValue: Sendable, Equatable {
  case scalar(Double)
  case vector([Double])

  /// The value as status shows it: `42.5`, `NaN`, `+Inf`, `[1, 2.5]`.
  public var text: String {
    switch self {
    case .scalar(let v): return Self.format(v)
    case .vector(let vs): return "[" + vs.map(Self.format).joined(separator: ", ") + "]"
    }
  }

  /// Why this value cannot be judged, if it cannot: an empty vector or NaN (PromQL's `scalar()` of no
  /// series, a quantile with no observations). Missing data never passes a rollout.
  public var missingDataReason: String? {
    switch self {
    case .scalar(let v) where v.isNaN: return "query returned NaN (no data)"
    case .vector(let vs) where vs.isEmpty: return "query returned no data"
    case .vector(let vs) where vs.allSatisfy(\.isNaN): return "query returned only NaN (no data)"
    default: return nil
    }
  }

  /// Formats a double the way Prometheus writes sample values: integers without a fraction,
  /// `NaN`, `+Inf`, `-Inf` (prometheus.io/docs/instrumenting/exposition_formats, "Text format details").
  static func format(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
  }
}
