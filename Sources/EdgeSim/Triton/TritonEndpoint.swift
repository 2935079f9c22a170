import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The HTTP face of one simulated Triton server: `/v2/health/{live,ready}`, `/v2/models/<m>/ready`,
/// `/v2` and `/metrics` on each of the pod's ports, bound to the pod's IP.
///
/// Metrics are Triton's per-model counters (shared/reference/jetson/triton.md §4) fed by the
/// simulated clients (`TrafficEngine`): each scrape first makes up the requests due since the last
/// one, then renders `TritonMetricsText`. No `nv_gpu_*` series: Triton on Jetson does not report them.
final class TritonEndpoint: Sendable {
  private let channels: Mutex<[Channel]>
  private let ready = Mutex(false)
  private let counters = Mutex<[TritonModel: TritonCounters]>([:])
  let pod: ObjectKey
  let models: @Sendable () -> [TritonModel]
  /// The module's median latency, for requests no `VariantBehaviour` matches.
  let latencyMilliseconds: Double
  let loadSeconds: Double
  /// `--metrics-config summary_latencies=true` quantiles, else nil.
  let summaryQuantiles: [Double]?
  private let traffic: TrafficEngine
  /// The pod's IP.
  let host: String
  /// The pod's drift agent, which the simulated clients send each request's feature values.
  let drift: DriftSidecar?

  init(pod: ObjectKey, host: String = "127.0.0.1", models: @escaping @Sendable () -> [TritonModel], latencyMilliseconds: Double,
       summaryQuantiles: [Double]?, traffic: TrafficEngine, drift: DriftSidecar? = nil) {
    self.pod = pod
    self.host = host
    self.drift = drift
    self.models = models
    self.latencyMilliseconds = latencyMilliseconds
    self.summaryQuantiles = summaryQuantiles
    self.traffic = traffic
    self.loadSeconds = 0.8 + latencyMilliseconds / 10
    self.channels = Mutex([])
  }

  func bind(host: String, ports: [Int], group: EventLoopGroup) async -> [String] {
    var errors: [String] = []
    for port in ports {
      let bootstrap = ServerBootstrap(group: group)
        .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { [self] channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(TritonHTTPHandler(endpoint: self))
          }
        }
      do {
        let channel = try await bootstrap.bind(host: host, port: port).get()
        channels.withLock { $0.append(channel) }
      } catch {
        errors.append("\(host):\(port): \(error)")
      }
    }
    return errors
  }

  /// Ready endpoints receive traffic from the moment they become ready; an endpoint that is no
  /// longer ready receives none but keeps its counters (Triton's live process keeps them too).
  func setReady(_ value: Bool) {
    ready.withLock { $0 = value }
    if value { traffic.register(self) } else { traffic.unregister(self) }
  }
  var isReady: Bool { ready.withLock { $0 } }

  func close() {
    traffic.unregister(self)
    let all = channels.withLock { c -> [Channel] in defer { c = [] }; return c }
    for c in all { c.close(promise: nil) }
  }

  func recordSuccess(_ model: TritonModel, at time: Double, requestMicros: Double, queueMicros: Double) {
    let keeps = summaryQuantiles != nil
    counters.withLock { $0[model, default: TritonCounters()].recordSuccess(at: time, requestMicros: requestMicros, queueMicros: queueMicros, keepsSamples: keeps) }
  }

  func recordFailure(_ model: TritonModel) { counters.withLock { $0[model, default: TritonCounters()].recordFailure() } }

  func expireSummaries(before cutoff: Double) {
    guard summaryQuantiles != nil else { return }
    counters.withLock { all in for k in all.keys { all[k]?.expire(before: cutoff) } }
  }

  /// Prometheus text exposition of the per-model metrics, after making up the traffic due.
  func metricsText() -> String {
    traffic.advance()
    let models = isReady ? self.models() : []
    return TritonMetricsText(models: models, counters: counters.withLock { $0 }, loadSeconds: loadSeconds,
                             summaryQuantiles: summaryQuantiles).render()
  }
}

/// Answers Triton's HTTP routes for one connection.
final class TritonHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart
  private let endpoint: TritonEndpoint
  private var head: HTTPRequestHead?

  init(endpoint: TritonEndpoint) { self.endpoint = endpoint }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h): head = h
    case .body: break
    case .end:
      guard let head else { return }
      self.head = nil
      let (status, type, body) = respond(head)
      var headers = HTTPHeaders()
      headers.add(name: "Content-Type", value: type)
      headers.add(name: "Content-Length", value: String(body.utf8.count))
      if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
      context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
      let keepAlive = head.isKeepAlive
      context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { [context] _ in
        if !keepAlive { context.close(promise: nil) }
      }
    }
  }

  /// Routes of triton.md §3: 200 when ready, 400 otherwise; 405 for anything but GET on health.
  private func respond(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
    let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
    if path == "/metrics" { return (.ok, "text/plain; charset=utf-8", endpoint.metricsText()) }
    guard head.method == .GET else { return (.methodNotAllowed, "text/plain", "") }
    switch path {
    case "/v2/health/live": return (.ok, "text/plain", "")
    case "/v2/health/ready": return (endpoint.isReady ? .ok : .badRequest, "text/plain", "")
    case "/v2": return (.ok, "application/json", #"{"name":"triton","version":"2.49.0","extensions":["classification","model_repository","schedule_policy","model_configuration","system_shared_memory","cuda_shared_memory","binary_tensor_data","parameters","statistics","trace","logging"]}"#)
    default:
      let parts = path.split(separator: "/").map(String.init)
      if parts.count >= 4, parts[0] == "v2", parts[1] == "models", parts.last == "ready" {
        let ok = endpoint.isReady && endpoint.models().contains { $0.name == parts[2] && (parts.count == 4 || parts[4] == $0.version) }
        return ok ? (.ok, "text/plain", "") : (.badRequest, "application/json", #"{"error":"Model version not ready"}"#)
      }
      return (.notFound, "application/json", #"{"error":"Not Found"}"#)
    }
  }
}

/// The event loop that serves every simulated Triton endpoint, and the clients that send them requests.
final class TritonServers: Sendable {
  let group: MultiThreadedEventLoopGroup
  let traffic: TrafficEngine

  init(makeTraffic: (FeaturePoster) -> TrafficEngine) {
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    self.traffic = makeTraffic(FeaturePoster(group: group))
  }

  /// Starts an endpoint for `pod` at `host` on `ports`; returns it with the ports it could not bind (the pod still runs).
  func start(pod: ObjectKey, host: String, ports: [Int], container: TritonContainer, kind: NodeKind,
             drift: DriftSidecar? = nil) async -> (TritonEndpoint, [String]) {
    // Per-request latency in ms: scaled from the module's engine build time (faster modules infer faster).
    let latency = kind.baseBuildSeconds / 40
    let endpoint = TritonEndpoint(pod: pod, host: host, models: { container.models() }, latencyMilliseconds: latency,
                                  summaryQuantiles: container.summaryQuantiles, traffic: traffic, drift: drift)
    let failures = await endpoint.bind(host: host, ports: ports, group: group)
    return (endpoint, failures)
  }

  func shutdown() async { try? await group.shutdownGracefully() }
}
