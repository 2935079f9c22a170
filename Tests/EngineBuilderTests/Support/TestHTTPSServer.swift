import KubeEmulator
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A loopback HTTPS server that serves fixed files, with a certificate from a fresh test CA.
///
/// `GET /path?anything` answers the bytes registered for `/path` (the query is ignored, as a
/// presigned URL's is by anything but S3), 404 otherwise. Requested targets are recorded.
final class TestHTTPSServer: Sendable {
  let group: MultiThreadedEventLoopGroup
  let channel: Channel
  let caPEM: String
  private let recorder: Recorder
  /// Request targets as received (path and query).
  var requests: [String] { recorder.targets.withLock { $0 } }

  final class Recorder: Sendable { let targets = Mutex<[String]>([]) }

  var port: Int { channel.localAddress?.port ?? 0 }
  func url(_ path: String) -> String { "https://localhost:\(port)\(path)" }

  init(files: [String: [UInt8]]) async throws {
    let authority = try CertificateAuthority(commonName: "edgeml-engine-test-ca")
    let serving = try authority.issueServerCertificate(hosts: ["localhost"], ips: [[127, 0, 0, 1]])
    caPEM = authority.certificatePEM
    var tls = TLSConfiguration.makeServerConfiguration(
      certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(serving.certificatePEM.utf8), format: .pem))],
      privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem)))
    tls.applicationProtocols = ["http/1.1"]
    let context = try NIOSSLContext(configuration: tls)
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let recorder = Recorder()
    self.recorder = recorder
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(FileHandler(files: files, recorder: recorder))
        }
      }
    channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
  }

  /// Runs `body` with a server for `files`, and always shuts the server down.
  static func with<T>(files: [String: [UInt8]], _ body: (TestHTTPSServer) async throws -> T) async throws -> T {
    let server = try await TestHTTPSServer(files: files)
    do {
      let value = try await body(server)
      await server.shutdown()
      return value
    } catch {
      await server.shutdown()
      throw error
    }
  }

  func shutdown() async {
    try? await channel.close()
    try? await group.shutdownGracefully()
  }

  private final class FileHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let files: [String: [UInt8]]
    let recorder: Recorder
    init(files: [String: [UInt8]], recorder: Recorder) { self.files = files; self.recorder = recorder }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      guard case .head(let head) = unwrapInboundIn(data) else { return }
      recorder.targets.withLock { $0.append(head.uri) }
      let path = String(head.uri.prefix { $0 != "?" })
      let body = files[path]
      var headers = HTTPHeaders()
      headers.add(name: "content-length", value: String(body?.count ?? 9))
      let responseHead = HTTPResponseHead(version: head.version, status: body == nil ? .notFound : .ok, headers: headers)
      context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body ?? Array("not found".utf8))))), promise: nil)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
  }
}
