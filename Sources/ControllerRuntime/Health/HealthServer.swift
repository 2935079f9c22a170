import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `/healthz`, `/readyz` and optionally `/metrics` on one plain-HTTP port, for the kubelet's probes
/// (and Prometheus, where no protection is wanted: the node agent).
///
/// `/healthz` answers 200 while the process runs; `/readyz` answers 200 once `isReady` says so (the
/// caches synced) and 503 before; `/metrics` is whatever `metrics()` renders (Prometheus text), 404
/// without it. The operator serves its metrics on `MetricsServer` instead (HTTPS, authorized).
public final class HealthServer: Sendable {
  private let group: MultiThreadedEventLoopGroup
  private let channel: Channel
  public var port: Int { channel.localAddress?.port ?? 0 }

  public init(host: String, port: Int, isReady: @escaping @Sendable () -> Bool, metrics: (@Sendable () -> [UInt8])? = nil) async throws {
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(HealthHandler(isReady: isReady, metrics: metrics))
        }
      }
    do {
      channel = try await bootstrap.bind(host: host, port: port).get()
    } catch {
      try? await group.shutdownGracefully()
      throw error
    }
  }

  /// The address a health server listens on: `host`, except that the unspecified address
  /// (`0.0.0.0`, `::`, empty) becomes the pod's own address when `EDGEML_POD_NETWORK_ADDRESS`
  /// names one.
  ///
  /// EdgeSim runs every pod's processes in this machine's one network namespace and sets that
  /// variable to the pod's IP: two replicas then listen on their own pod IPs, where the kubelet
  /// probes them, instead of fighting for `0.0.0.0:8081` (docs/edgesim.md). Nothing on a real
  /// node sets it.
  public static func listenAddress(_ host: String, environment: [String: String]) -> String {
    guard ["0.0.0.0", "::", ""].contains(host), let pod = environment["EDGEML_POD_NETWORK_ADDRESS"], !pod.isEmpty else { return host }
    return pod
  }

  public func shutdown() async {
    try? await channel.close()
    try? await group.shutdownGracefully()
  }
}

final class HealthHandler: ChannelInboundHandler, Sendable {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart
  let isReady: @Sendable () -> Bool
  let metrics: (@Sendable () -> [UInt8])?

  init(isReady: @escaping @Sendable () -> Bool, metrics: (@Sendable () -> [UInt8])?) {
    self.isReady = isReady
    self.metrics = metrics
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard case .head(let head) = unwrapInboundIn(data) else { return }
    let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
    var status = HTTPResponseStatus.ok
    var body: [UInt8]
    var type = "text/plain; charset=utf-8"
    switch path {
    case "/healthz", "/livez": body = Array("ok".utf8)
    case "/readyz":
      if isReady() { body = Array("ok".utf8) } else { status = .serviceUnavailable; body = Array("caches not synced".utf8) }
    case "/metrics" where metrics != nil:
      body = metrics?() ?? []
      type = "text/plain; version=0.0.4; charset=utf-8"
    default:
      status = .notFound
      body = Array("not found".utf8)
    }
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: type)
    headers.add(name: "Content-Length", value: String(body.count))
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
    var buffer = context.channel.allocator.buffer(capacity: body.count)
    buffer.writeBytes(body)
    context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
  }
}
