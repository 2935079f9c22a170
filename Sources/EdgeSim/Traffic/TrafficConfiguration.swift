import Foundation

/// The simulated inference clients of a cluster: a load per model, how each variant behaves, and
/// the seed and clock that make every request's fate reproducible.
///
/// ```swift
/// var traffic = TrafficConfiguration(seed: 7, clock: .manual)
/// traffic.loads = [ModelLoad(model: "detector", requestsPerSecond: 200,
///                            headers: [HeaderShare(name: "x-cohort", value: "b", fraction: 0.5)])]
/// traffic.behaviours = [VariantBehaviour(version: "4", latency: .init(medianMilliseconds: 20, p99Milliseconds: 80), errorRate: 0.05)]
/// ```
///
/// *Guarantees:* under one seed, request *i* of a load always carries the same header, lands on the
/// same share of the route and draws the same latency and outcome, however the simulated time is
/// cut into scrapes; with `.manual` the counters are a pure function of the seed, the loads, the
/// router objects and the time advanced.
public struct TrafficConfiguration: Sendable, Equatable {
  /// How the traffic's simulated time moves.
  public enum Clock: Sendable, Equatable {
    /// With the cluster: wall time since the simulator started divided by `EdgeSim.Configuration.speed`.
    case simulated
    /// Only by `EdgeSim.advanceTraffic(seconds:)`: tests that want exact counters.
    case manual
  }

  /// Seeds every request's draws (header, route share, pod, outcome, latency).
  public var seed: UInt64
  /// `.simulated` follows the cluster; `.manual` moves only when told.
  public var clock: Clock
  /// Client loads, one per namespace and model (a second for the same model is ignored). A serving model without one gets the
  /// background load: `EdgeSim.Configuration.requestsPerSecond` straight to each of its pods.
  public var loads: [ModelLoad]
  /// Latency and errors per variant; the first that matches a request's pod wins.
  public var behaviours: [VariantBehaviour]
  /// Simulated seconds of requests the `*_summary_us` quantiles are computed over.
  public var summaryWindowSeconds: Double
  /// What each request carries for a pod's drift agent, per model and feature (unnamed ones get
  /// `FeatureDistribution`'s default).
  public var features: [FeatureDistribution]
  /// Drift commanded from Swift (`EdgeSim.shiftDrift`); the `edgeml-sim-drift` ConfigMap's come after them.
  public var drifts: [FeatureDrift]

  public init(seed: UInt64 = 1, clock: Clock = .simulated, loads: [ModelLoad] = [], behaviours: [VariantBehaviour] = [],
              summaryWindowSeconds: Double = 60, features: [FeatureDistribution] = [], drifts: [FeatureDrift] = []) {
    self.seed = seed; self.clock = clock; self.loads = loads; self.behaviours = behaviours
    self.summaryWindowSeconds = summaryWindowSeconds; self.features = features; self.drifts = drifts
  }
}

/// A simulated client load on one model's entry point.
public struct ModelLoad: Sendable, Equatable {
  /// The namespace of the model's pods, Services and router objects.
  public var namespace: String
  /// The model's name: the `edgeml.io/model` label of its pods and the name of its stable Service.
  public var model: String
  /// Requests per simulated second, arriving evenly (request *i* at `i / requestsPerSecond`).
  public var requestsPerSecond: Double
  /// Header values carried by a share of the requests (A/B cohorts); the rest carry none.
  public var headers: [HeaderShare]
  /// Where the requests enter; `.automatic` follows whatever router object fronts the model.
  public var entryPoint: EntryPoint

  public init(namespace: String = "default", model: String, requestsPerSecond: Double, headers: [HeaderShare] = [],
              entryPoint: EntryPoint = .automatic) {
    self.namespace = namespace; self.model = model; self.requestsPerSecond = requestsPerSecond
    self.headers = headers; self.entryPoint = entryPoint
  }
}

/// A header value that `fraction` (0–1) of a load's requests carry.
public struct HeaderShare: Sendable, Equatable {
  /// The header's name; routers compare it case-insensitively.
  public var name: String
  public var value: String
  /// Share (0–1) of the load's requests that carry it; the shares of one load add up to at most 1.
  public var fraction: Double
  public init(name: String, value: String, fraction: Double) { self.name = name; self.value = value; self.fraction = fraction }
}

/// The object a load's requests are sent to.
public enum EntryPoint: Sendable, Equatable {
  /// The first router object in the model's namespace that sends to a Service of the model (one
  /// whose selector has `edgeml.io/model: <model>`), looked for in this order: a Traefik
  /// `TraefikService`, a Gateway API `HTTPRoute`, an NGINX canary `Ingress`; else the Service named
  /// after the model (the replica-ratio router: ready endpoints share equally).
  case automatic
  /// A Service by name: its ready endpoints share equally.
  case service(String)
  /// A `TraefikService` (traefik.io/v1alpha1) by name.
  case traefikService(String)
  /// A Gateway API `HTTPRoute` by name.
  case httpRoute(String)
  /// The primary (non-canary) Ingress; a canary Ingress for the same host takes its share.
  case ingress(String)
}
