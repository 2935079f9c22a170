import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// The HTTP face of one simulated Triton server: `/v2/health/{live,ready}`, `/v2/models/<m>/ready`,
/// `/v2` and `/metrics` on each of the pod's ports, bound to the pod's IP.
///
/// Metrics are Triton's per-model counters (shared/reference/jetson/triton.md §4) fed by simulated
/// traffic: each scrape advances the counters by the requests that arrived since the last one at
/// `requestsPerSecond` (in simulated time) with a module-dependent latency. No `nv_gpu_*` series:
/// Triton on Jetson does not report them.
final class TritonEndpoint: Sendable {
  struct Traffic: Sendable {
    var lastUpdate: Date?
    var success: [TritonModel: Double] = [:]
    var requestMicros: [TritonModel: Double] = [:]
    var queueMicros: [TritonModel: Double] = [:]
  }

  private let channels: Mutex<[Channel]>
  private let ready = Mutex(false)
  private let traffic = Mutex(Traffic())
  let models: @Sendable () -> [TritonModel]
  let latencyMilliseconds: Double
  let requestsPerSecond: Double
  let speed: Double
  let loadSeconds: Double

  init(models: @escaping @Sendable () -> [TritonModel], latencyMilliseconds: Double, requestsPerSecond: Double, speed: Double) {
    self.models = models
    self.latencyMilliseconds = latencyMilliseconds
    self.requestsPerSecond = requestsPerSecond
    self.speed = speed
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

  func setReady(_ value: Bool) {
    ready.withLock { $0 = value }
    if value { traffic.withLock { if $0.lastUpdate == nil { $0.lastUpdate = Date() } } }
  }
  var isReady: Bool { ready.withLock { $0 } }

  func close() {
    let all = channels.withLock { c -> [Channel] in defer { c = [] }; return c }
    for c in all { c.close(promise: nil) }
  }

  /// Prometheus text exposition of the per-model metrics, advancing the simulated traffic first.
  func metricsText() -> String {
    let models = isReady ? self.models() : []
    let t = traffic.withLock { t -> Traffic in
      let now = Date()
      if let last = t.lastUpdate, !models.isEmpty {
        let simulated = now.timeIntervalSince(last) / max(speed, 1e-6)
        for m in models {
          let n = (requestsPerSecond * simulated * Double.random(in: 0.9...1.1)).rounded(.down)
          t.success[m, default: 0] += n
          t.requestMicros[m, default: 0] += n * latencyMilliseconds * 1000 * Double.random(in: 0.95...1.05)
          t.queueMicros[m, default: 0] += n * latencyMilliseconds * 50 * Double.random(in: 0.5...1.5)
        }
        t.lastUpdate = now
      }
      return t
    }
    var out = ""
    func family(_ name: String, _ type: String, _ help: String, _ value: (TritonModel) -> String) {
      out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
      for m in models { out += "\(name){model=\"\(m.name)\",version=\"\(m.version)\"} \(value(m))\n" }
    }
    func int(_ d: Double?) -> String { String(Int64(d ?? 0)) }
    family("nv_inference_request_success", "counter", "Number of successful inference requests, all batch sizes") { int(t.success[$0]) }
    out += "# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes\n# TYPE nv_inference_request_failure counter\n"
    for m in models {
      for reason in ["REJECTED", "CANCELED", "BACKEND", "OTHER"] {
        out += "nv_inference_request_failure{model=\"\(m.name)\",reason=\"\(reason)\",version=\"\(m.version)\"} 0\n"
      }
    }
    family("nv_inference_count", "counter", "Number of inferences performed (does not include cached requests)") { int(t.success[$0]) }
    family("nv_inference_exec_count", "counter", "Number of model executions performed (does not include cached requests)") { int(t.success[$0]) }
    family("nv_inference_request_duration_us", "counter", "Cumulative inference request duration in microseconds (includes cached requests)") { int(t.requestMicros[$0]) }
    family("nv_inference_queue_duration_us", "counter", "Cumulative inference queuing duration in microseconds (includes cached requests)") { int(t.queueMicros[$0]) }
    family("nv_inference_compute_input_duration_us", "counter", "Cumulative compute input duration in microseconds (does not include cached requests)") { int((t.requestMicros[$0] ?? 0) * 0.05) }
    family("nv_inference_compute_infer_duration_us", "counter", "Cumulative compute inference duration in microseconds (does not include cached requests)") { int((t.requestMicros[$0] ?? 0) * 0.85) }
    family("nv_inference_compute_output_duration_us", "counter", "Cumulative inference compute output duration in microseconds (does not include cached requests)") { int((t.requestMicros[$0] ?? 0) * 0.03) }
    family("nv_inference_pending_request_count", "gauge", "Instantaneous number of pending requests awaiting execution per-model.") { _ in "0" }
    family("nv_model_load_duration_secs", "gauge", "Model load time in seconds") { _ in String(format: "%.3f", loadSeconds) }
    return out
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

/// The event loop that serves every simulated Triton endpoint.
final class TritonServers: Sendable {
  let group: MultiThreadedEventLoopGroup
  let speed: Double
  let requestsPerSecond: Double

  init(speed: Double, requestsPerSecond: Double) {
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    self.speed = speed
    self.requestsPerSecond = requestsPerSecond
  }

  /// Starts an endpoint at `host` on `ports`; returns it with the ports it could not bind (the pod still runs).
  func start(host: String, ports: [Int], model: @escaping @Sendable () -> [TritonModel], kind: NodeKind) async -> (TritonEndpoint, [String]) {
    // Per-request latency in ms: scaled from the module's engine build time (faster modules infer faster).
    let latency = kind.baseBuildSeconds / 40
    let endpoint = TritonEndpoint(models: model, latencyMilliseconds: latency, requestsPerSecond: requestsPerSecond, speed: speed)
    let failures = await endpoint.bind(host: host, ports: ports, group: group)
    return (endpoint, failures)
  }

  func shutdown() async { try? await group.shutdownGracefully() }
}
