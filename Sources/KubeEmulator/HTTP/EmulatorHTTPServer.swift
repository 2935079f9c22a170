import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

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
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(APIChannelHandler(server: server, authenticator: authenticator))
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
