import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The operator's `/metrics` endpoint: HTTPS with authentication and authorization by default, as
/// kubebuilder v4 scaffolds it (`--metrics-secure`, controller-runtime's `metricsserver.Options`
/// `SecureServing` with `filters.WithAuthenticationAndAuthorization`), or plain HTTP for local runs.
///
/// Only `GET /metrics` is served; every other path is 404 without asking for credentials, as
/// controller-runtime's mux answers. Answers: 401 `Unauthorized` without a bearer token or with one
/// the API server rejects, 403 `Authorization denied for user NAME` when RBAC does not allow `get` on
/// `/metrics` (the `edgeml-operator-metrics-reader` ClusterRole does), 500 when a review could not be
/// made (the reason logged, not told to the caller).
/// HTTP/1.1 only: kubebuilder's scaffold turns HTTP/2 off on the metrics server (the Rapid Reset CVEs).
///
/// `bind` opens the port; `run` serves until its task is cancelled, one child task per connection.
public final class MetricsServer: Sendable {
  private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>
  private let group: MultiThreadedEventLoopGroup
  private let channel: NIOAsyncChannel<Connection, Never>
  private let authorizer: MetricsAuthorizer?
  private let metrics: @Sendable () -> [UInt8]
  private let logger: Logger
  /// Whether it serves HTTPS.
  public let isSecure: Bool
  /// The port it listens on (the one the system chose when bound to port 0).
  public var port: Int { channel.channel.localAddress?.port ?? 0 }

  /// Binds the port.
  /// - Parameters:
  ///   - certificate: serve HTTPS with it; nil serves plain HTTP.
  ///   - authorizer: check every scrape with it; nil lets anyone who reaches the port read the metrics.
  ///   - metrics: renders the Prometheus text exposition.
  /// - Throws: when the address cannot be bound or the TLS context cannot be made.
  public static func bind(host: String, port: Int, certificate: ServingCertificate?, authorizer: MetricsAuthorizer?,
                          logger: Logger, metrics: @escaping @Sendable () -> [UInt8]) async throws -> MetricsServer {
    let sslContext: NIOSSLContext? = try certificate.map { certificate in
      var tls = TLSConfiguration.makeServerConfiguration(certificateChain: certificate.chain.map { .certificate($0) },
                                                         privateKey: .privateKey(certificate.key))
      tls.minimumTLSVersion = .tlsv12
      tls.applicationProtocols = ["http/1.1"]
      return try NIOSSLContext(configuration: tls)
    }
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
      let channel = try await ServerBootstrap(group: group)
        .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
        .bind(host: host, port: port) { child in
          child.eventLoop.makeCompletedFuture {
            if let sslContext { try child.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext)) }
            try child.pipeline.syncOperations.configureHTTPServerPipeline()
            return try Connection(wrappingChannelSynchronously: child)
          }
        }
      return MetricsServer(group: group, channel: channel, authorizer: authorizer, metrics: metrics, logger: logger,
                           isSecure: sslContext != nil)
    } catch {
      try? await group.shutdownGracefully()
      throw error
    }
  }

  private init(group: MultiThreadedEventLoopGroup, channel: NIOAsyncChannel<Connection, Never>, authorizer: MetricsAuthorizer?,
               metrics: @escaping @Sendable () -> [UInt8], logger: Logger, isSecure: Bool) {
    self.group = group; self.channel = channel; self.authorizer = authorizer; self.metrics = metrics
    self.logger = logger; self.isSecure = isSecure
  }

  /// Serves until the task is cancelled, then closes the port and stops its event loop.
  public func run() async {
    await withDiscardingTaskGroup { connections in
      try? await channel.executeThenClose { inbound in
        for try await connection in inbound {
          connections.addTask { await self.serve(connection) }
        }
      }
    }
    try? await group.shutdownGracefully()
  }

  /// One connection: requests in order (HTTP/1.1 keep-alive) until the client closes it. A failed
  /// TLS handshake or a reset only ends this connection.
  private func serve(_ connection: Connection) async {
    do {
      try await connection.executeThenClose { inbound, outbound in
        var head: HTTPRequestHead?
        for try await part in inbound {
          switch part {
          case .head(let h): head = h
          case .body: continue
          case .end:
            guard let request = head else { continue }
            head = nil
            let (status, body) = await respond(to: request)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: status == .ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.count))
            if status == .ok { headers.add(name: "X-Content-Type-Options", value: "nosniff") }
            try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body))))
            try await outbound.write(.end(nil))
          }
        }
      }
    } catch {
      logger.debug("Metrics connection ended", metadata: ["error": "\(error)"])
    }
  }

  private func respond(to request: HTTPRequestHead) async -> (HTTPResponseStatus, [UInt8]) {
    let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? request.uri
    guard path == "/metrics" else { return (.notFound, Array("404 page not found\n".utf8)) }
    guard request.method == .GET else { return (.methodNotAllowed, Array("Method Not Allowed\n".utf8)) }
    if let authorizer {
      switch await authorizer.decide(authorization: request.headers.first(name: "Authorization"), verb: "get", path: path) {
      case .allowed: break
      case .unauthenticated:
        return (.unauthorized, Array("Unauthorized\n".utf8))
      case .forbidden(let user):
        logger.debug("Metrics scrape denied", metadata: ["user": "\(user)"])
        return (.forbidden, Array("Authorization denied for user \(user)\n".utf8))
      case .failed(let summary, let reason):
        logger.error("Metrics scrape could not be checked", metadata: ["error": "\(summary): \(reason)"])
        return (.internalServerError, Array("\(summary)\n".utf8))
      }
    }
    return (.ok, metrics())
  }
}
