import Foundation
import KubeCore
import Synchronization

/// Sends the simulated clients' requests to the serving pods' Triton endpoints: whenever a pod's
/// metrics are read, a test advances the manual clock, or (simulated clock) every `tick`, every
/// request due since the last time is routed and counted, in index order.
///
/// Routing is read once per advance (`RouteTable`, then each Service's ready endpoints: the pods its
/// selector matches that are Ready, not being deleted, and whose Triton serves the model), and
/// applies to all the requests of that interval. A request with nowhere to go (no entry point, all
/// weights zero, a Service without ready endpoints) is counted as undelivered.
///
/// *Caveats:* the cost is one small computation per request: R requests per simulated second at
/// speed s cost R/s computations per wall second, whenever they are made up.
final class TrafficEngine: Sendable {
  private struct Progress {
    var start: Double
    var base: Int
    var rate: Double
    var issued: Int
  }

  private struct Registration {
    var endpoint: TritonEndpoint
    var readySince: Double
  }

  private struct State {
    var configuration: TrafficConfiguration
    var manualSeconds = 0.0
    var loads: [String: Progress] = [:]
    var undelivered: [String: Int] = [:]
    var endpoints: [ObjectKey: Registration] = [:]
    /// Background requests issued per pod and model ("ns/pod/model").
    var background: [String: Int] = [:]
    /// Drift commanded through the `edgeml-sim-drift` ConfigMap.
    var commandedDrifts: [FeatureDrift] = []
  }

  private let state: Mutex<State>
  private let api: ClusterAPI
  private let speed: Double
  private let backgroundRate: Double
  private let started = Date()
  /// Sends the feature values of requests served by pods with a drift agent.
  let poster: FeaturePoster

  init(configuration: TrafficConfiguration, api: ClusterAPI, speed: Double, backgroundRequestsPerSecond: Double,
       poster: FeaturePoster = FeaturePoster()) {
    self.api = api
    self.poster = poster
    self.speed = speed
    self.backgroundRate = backgroundRequestsPerSecond
    var initial = State(configuration: configuration)
    Self.align(&initial, at: 0)
    state = Mutex(initial)
  }

  /// Starts counting a new load at `t`, and a load whose rate changed afresh from `t`, its request
  /// numbering continued.
  private static func align(_ s: inout State, at t: Double) {
    for load in s.configuration.loads {
      let key = "\(load.namespace)/\(load.model)"
      if let p = s.loads[key], p.rate == load.requestsPerSecond { continue }
      let issued = s.loads[key]?.issued ?? 0
      s.loads[key] = Progress(start: t, base: issued, rate: load.requestsPerSecond, issued: issued)
    }
  }

  var configuration: TrafficConfiguration { state.withLock { $0.configuration } }

  private func now(_ s: State) -> Double {
    s.configuration.clock == .manual ? s.manualSeconds : Date().timeIntervalSince(started) / max(speed, 1e-9)
  }

  /// Replaces the configuration after making up the requests due under the old one; a load whose
  /// rate changed continues its request numbering from here.
  func reconfigure(_ body: (inout TrafficConfiguration) -> Void) {
    advance()
    state.withLock { s in
      var c = s.configuration
      body(&c)
      s.configuration = c
      Self.align(&s, at: now(s))
    }
  }

  /// Replaces the drift commanded through the ConfigMap, after making up the requests due under the old one.
  func setCommandedDrifts(_ drifts: [FeatureDrift]) {
    advance()
    state.withLock { $0.commandedDrifts = drifts }
  }

  var commandedDrifts: [FeatureDrift] { state.withLock { $0.commandedDrifts } }

  /// Moves the manual clock (no effect with the simulated clock) and makes up the requests due.
  func advanceManualClock(by seconds: Double) {
    state.withLock { $0.manualSeconds += max(0, seconds) }
    advance()
  }

  func register(_ endpoint: TritonEndpoint) {
    state.withLock { s in
      let t = now(s)
      s.endpoints[endpoint.pod] = Registration(endpoint: endpoint, readySince: t)
    }
  }

  func unregister(_ endpoint: TritonEndpoint) {
    advance()
    state.withLock { s in if s.endpoints[endpoint.pod]?.endpoint === endpoint { s.endpoints[endpoint.pod] = nil } }
  }

  /// The simulated time of the traffic clock, in seconds.
  var simulatedSeconds: Double { state.withLock { now($0) } }

  func undelivered(namespace: String, model: String) -> Int { state.withLock { $0.undelivered["\(namespace)/\(model)"] ?? 0 } }

  /// How often, in wall time, the simulated clock's loads are routed even when no one scrapes, so
  /// that requests follow the routing of their moment (and none reaches a pod before it existed).
  static let tick = Duration.milliseconds(100)

  /// Routes the loads every `tick` while the clock is `.simulated`, until cancelled. The background
  /// load goes straight to each pod, so it is left to the scrapes — unless a pod has a drift agent,
  /// which should see its observations as they happen.
  func run() async {
    while !Task.isCancelled {
      do { try await Task.sleep(for: Self.tick) } catch { return }
      guard configuration.clock == .simulated else { continue }
      let drift = state.withLock { s in s.endpoints.values.contains { $0.endpoint.drift != nil } }
      if drift || !configuration.loads.isEmpty { advance(includingBackground: drift) }
    }
  }

  /// Routes and counts every request due up to now (of the loads only, unless `includingBackground`).
  func advance(includingBackground: Bool = true) {
    state.withLock { s in
      let t = now(s)
      var snapshot = Snapshot(api: api, endpoints: s.endpoints.mapValues(\.endpoint))
      let seed = s.configuration.seed
      var routed = Set<String>()
      var sink = FeatureSink(distributions: s.configuration.features, drifts: s.configuration.drifts + s.commandedDrifts)
      for load in s.configuration.loads {
        let key = "\(load.namespace)/\(load.model)"
        guard routed.insert(key).inserted, var p = s.loads[key] else { continue }
        let due = p.rate > 0 ? p.base + Int((p.rate * (t - p.start)).rounded(.down)) : p.issued
        if due > p.issued {
          let lost = send(load, requests: p.issued..<due, progress: p, seed: seed, snapshot: &snapshot, behaviours: s.configuration.behaviours,
                          sink: &sink)
          s.undelivered[key, default: 0] += lost
          p.issued = due
        }
        s.loads[key] = p
      }
      for (pod, registration) in s.endpoints where includingBackground {
        for model in snapshot.models(of: pod) where !routed.contains("\(pod.namespace)/\(model.name)") {
          let key = "\(pod.namespace)/\(pod.name)/\(model.name)"
          let issued = s.background[key] ?? 0
          let due = Int((backgroundRate * (t - registration.readySince)).rounded(.down))
          guard due > issued else { continue }
          let stream = RequestDraws.stream("background/" + key)
          for i in issued..<due {
            let draws = RequestDraws(seed: seed, stream: stream, index: i)
            let at = registration.readySince + Double(i + 1) / backgroundRate
            deliver(to: pod, model: model, draws: draws, at: at, snapshot: &snapshot, behaviours: s.configuration.behaviours, sink: &sink)
          }
          s.background[key] = due
        }
      }
      for (_, registration) in s.endpoints { registration.endpoint.expireSummaries(before: t - s.configuration.summaryWindowSeconds) }
      poster.enqueue(sink.bodies())
    }
  }

  /// Sends requests `range` of `load`; returns how many found no pod.
  private func send(_ load: ModelLoad, requests range: Range<Int>, progress p: Progress, seed: UInt64,
                    snapshot: inout Snapshot, behaviours: [VariantBehaviour], sink: inout FeatureSink) -> Int {
    guard let table = RouteTable.resolve(load, api: api) else { return range.count }
    let stream = RequestDraws.stream("load/\(load.namespace)/\(load.model)")
    var lost = 0
    for i in range {
      let draws = RequestDraws(seed: seed, stream: stream, index: i)
      var header: Int?
      var cumulative = 0.0
      let u = draws.uniform(0)
      for (k, h) in load.headers.enumerated() {
        cumulative += h.fraction
        if u < cumulative { header = k; break }
      }
      let backends = table.backends(header: header)
      let total = backends.reduce(0) { $0 + max($1.weight, 0) }
      guard total > 0 else { lost += 1; continue }
      var pick = draws.uniform(1) * total
      var service = backends[backends.count - 1].name
      for b in backends where b.weight > 0 {
        if pick < b.weight { service = b.name; break }
        pick -= b.weight
      }
      let pods = snapshot.readyEndpoints(service: service, namespace: load.namespace, model: load.model)
      guard !pods.isEmpty else { lost += 1; continue }
      let (pod, model) = pods[min(pods.count - 1, Int(draws.uniform(2) * Double(pods.count)))]
      let at = p.start + Double(i - p.base + 1) / p.rate
      deliver(to: pod, model: model, draws: draws, at: at, snapshot: &snapshot, behaviours: behaviours, sink: &sink)
    }
    return lost
  }

  private func deliver(to pod: ObjectKey, model: TritonModel, draws: RequestDraws, at time: Double,
                       snapshot: inout Snapshot, behaviours: [VariantBehaviour], sink: inout FeatureSink) {
    guard let endpoint = snapshot.endpoints[pod] else { return }
    // The request's inputs, for the pod's drift agent once the pod is Ready (its probe answered).
    if let sidecar = endpoint.drift {
      let readiness = snapshot.readiness(of: pod)
      if readiness.ready {
        sink.record(pod: pod, host: endpoint.host, sidecar: sidecar, model: model.name, nodeLabels: readiness.nodeLabels, draws: draws)
      }
    }
    let labels = snapshot.labels(of: pod)
    let behaviour = behaviours.first { $0.matches(model: model.name, version: model.version, labels: labels) }
      ?? VariantBehaviour.default(forModuleLatencyMilliseconds: endpoint.latencyMilliseconds)
    if draws.uniform(3) < behaviour.errorRate {
      endpoint.recordFailure(model)
    } else {
      let micros = behaviour.latency.microseconds(draws.uniform(4), draws.uniform(5))
      endpoint.recordSuccess(model, at: time, requestMicros: micros, queueMicros: micros * behaviour.queueFraction)
    }
  }
}
