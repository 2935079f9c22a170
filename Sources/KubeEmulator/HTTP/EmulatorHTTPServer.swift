import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket

/// Listens on a loopback address and serves `APIServer` over HTTP/1.1, with or without TLS.
///
/// Only HTTP/1.1 is offered in ALPN; Go clients (kubectl) and the Python client then speak HTTP/1.1.
final class EmulatorHTTPServer: Sendable {
  let group: MultiThreadedEventLoopGroup
  let channel: Channel

  /// The port actually bound (useful with port 0).
  var port: Int { channel.localAddress?.port ?? 0 }

  init(host: String, port: Int, server: APIServer, authenticator: Authenticator, tls: TLSConfiguration?, threads: Int) async throws {
    group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.backlog, value: 256)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          if let sslContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
          }
          let api = APIChannelHandler(server: server, authenticator: authenticator)
          let exec = ExecUpgrade(server: server, authenticator: authenticator, eventLoop: channel.eventLoop)
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [exec.upgrader], completionHandler: { context in
              // After the 101 the connection speaks WebSocket: the HTTP request handler leaves.
              if let api = try? context.pipeline.syncOperations.handler(type: APIChannelHandler.self) {
                context.pipeline.syncOperations.removeHandler(api, promise: nil)
              }
            }),
            withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(api)
        }
      }
    do {
      channel = try await bootstrap.bind(host: host, port: port).get()
    } catch {
      try? await group.shutdownGracefully()
      throw error
    }
  }

  func shutdown() async {
    try? await channel.close()
    try? await group.shutdownGracefully()
  }
}

/// The WebSocket upgrade of `pods/exec` requests (kubectl since v1.30, the Python client's `stream`).
///
/// A request is upgraded only when `APIServer.prepareExec` accepts it (authenticated, authorized,
/// a running container that can run the command); anything else stays an ordinary request, so the
/// client gets the error as a `Status` — and kubectl, after its SPDY fallback gets the same answer,
/// prints it.
struct ExecUpgrade: Sendable {
  let upgrader: NIOWebSocketServerUpgrader

  init(server: APIServer, authenticator: Authenticator, eventLoop: any EventLoop) {
    // The accepted request, from `shouldUpgrade` to `upgradePipelineHandler` of the same connection.
    let accepted = NIOLoopBoundBox<(ExecRequest, String)?>(nil, eventLoop: eventLoop)
    upgrader = NIOWebSocketServerUpgrader(
      shouldUpgrade: { channel, head in
        var headers: [(String, String)] = []
        for (name, value) in head.headers { headers.append((name, value)) }
        var request = APIRequest(method: head.method.rawValue, uri: head.uri, headers: headers, body: [])
        guard request.path.hasSuffix("/exec"),
              let subprotocol = ExecWebSocketHandler.chooseSubprotocol(head.headers["sec-websocket-protocol"]) else {
          return channel.eventLoop.makeSucceededFuture(nil)
        }
        switch APIChannelHandler.authenticate(request, channel: channel, authenticator: authenticator, server: server) {
        case .authenticated(let user): request.user = user
        case .anonymous: request.user = nil
        case .rejected: return channel.eventLoop.makeSucceededFuture(nil)
        }
        guard case .success(let exec) = server.prepareExec(request) else { return channel.eventLoop.makeSucceededFuture(nil) }
        accepted.value = (exec, subprotocol)
        return channel.eventLoop.makeSucceededFuture(HTTPHeaders([("Sec-WebSocket-Protocol", subprotocol)]))
      },
      upgradePipelineHandler: { channel, _ in
        guard let (exec, subprotocol) = accepted.value else { return channel.close() }
        accepted.value = nil
        return channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(ExecWebSocketHandler(exec: exec, subprotocol: subprotocol))
        }
      })
  }
}
