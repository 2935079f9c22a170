import Foundation

/// How the pods of one variant answer: their latency distribution and their error rate.
///
/// A behaviour applies to a request when the pod it lands on serves `version` of the model (if
/// set) and carries every label in `podLabels` (if any). A pod no behaviour matches answers with
/// its module's default latency and no errors (`VariantBehaviour.default(forModuleLatencyMilliseconds:)`).
public struct VariantBehaviour: Sendable, Equatable {
  /// The model it applies to; nil: every model.
  public var model: String?
  /// The model version the pod's Triton serves; nil: any.
  public var version: String?
  /// Labels the pod must carry, e.g. `edgeml.io/track: candidate`.
  public var podLabels: [String: String]
  /// Latency of each successful request.
  public var latency: LatencyDistribution
  /// Share (0–1) of requests that fail, reported as `nv_inference_request_failure{reason="BACKEND"}`.
  public var errorRate: Double
  /// Share of each request's latency spent in Triton's scheduling queue.
  public var queueFraction: Double

  public init(model: String? = nil, version: String? = nil, podLabels: [String: String] = [:],
              latency: LatencyDistribution, errorRate: Double = 0, queueFraction: Double = 0.05) {
    self.model = model; self.version = version; self.podLabels = podLabels
    self.latency = latency; self.errorRate = errorRate; self.queueFraction = queueFraction
  }

  func matches(model name: String, version served: String, labels: [String: String]) -> Bool {
    if let model, model != name { return false }
    if let version, version != served { return false }
    return podLabels.allSatisfy { labels[$0.key] == $0.value }
  }

  /// A healthy pod of a module whose median latency is `median` ms: p99 at twice the median, no errors.
  static func `default`(forModuleLatencyMilliseconds median: Double) -> VariantBehaviour {
    VariantBehaviour(latency: LatencyDistribution(medianMilliseconds: median, p99Milliseconds: 2 * median))
  }
}
