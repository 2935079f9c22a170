import Foundation

/// Steering the simulated inference clients while the cluster runs.
extension EdgeSim {
  /// The clients' current configuration (loads, variant behaviours, seed, clock).
  public var traffic: TrafficConfiguration { servers.traffic.configuration }

  /// Changes the clients: the requests due so far are counted under the old configuration first,
  /// then new loads start now and a load whose rate changed continues from now at its new rate.
  ///
  /// ```swift
  /// sim.updateTraffic { $0.behaviours = [VariantBehaviour(podLabels: ["edgeml.io/track": "candidate"],
  ///                                       latency: .init(medianMilliseconds: 30, p99Milliseconds: 80), errorRate: 0.05)] }
  /// ```
  public func updateTraffic(_ body: (inout TrafficConfiguration) -> Void) { servers.traffic.reconfigure(body) }

  /// Moves the clients' manual clock (`TrafficConfiguration.Clock.manual`) by `seconds` of simulated
  /// time and counts the requests of that interval at once; with the simulated clock it only counts
  /// what is due.
  public func advanceTraffic(seconds: Double) { servers.traffic.advanceManualClock(by: seconds) }

  /// Requests of a load that found no pod so far: no entry point, all weights zero, or a Service
  /// without ready endpoints (a real proxy would have answered 404, 500 or 503).
  public func undeliveredRequests(namespace: String = "default", model: String) -> Int {
    servers.traffic.undelivered(namespace: namespace, model: model)
  }
}
