import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP/1.1 request to a pod IP on loopback, answered with its status code: the kubelet's
/// `httpGet` readiness probe and the simulated clients' feature batches to drift agents.
enum LoopbackHTTP {
  /// - Throws: NIO's error when the connection fails or closes before a response, or no answer
  ///   comes within `timeout` (10 s unless said).
  static func request(group: EventLoopGroup, host: String, port: Int, method: HTTPMethod, path: String,
                      body: [UInt8]? = nil, timeout: TimeAmount = .seconds(10)) async throws -> Int {
    let promise = group.next().makePromise(of: Int.self)
    var headers = HTTPHeaders()
    headers.add(name: "Host", value: "\(host):\(port)")
    headers.add(name: "Connection", value: "close")
    if let body {
      headers.add(name: "Content-Type", value: "application/json")
      headers.add(name: "Content-Length", value: String(body.count))
    }
    let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
    let bootstrap = ClientBootstrap(group: group)
      .connectTimeout(min(timeout, .seconds(5)))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHTTPClientHandlers()
          try channel.pipeline.syncOperations.addHandler(StatusHandler(head: head, body: body, promise: promise))
        }
      }
    let channel: Channel
    do {
      channel = try await bootstrap.connect(host: host, port: port).get()
    } catch {
      promise.fail(error)
      throw error
    }
    defer { channel.close(promise: nil) }
    // A server that accepts and never answers must not hold the caller (a prober, the poster) for ever.
    let deadline = channel.eventLoop.scheduleTask(in: timeout) { promise.fail(ChannelError.operationUnsupported) }
    defer { deadline.cancel() }
    return try await promise.futureResult.get()
  }

  /// Sends the request once connected and completes the promise with the response's status.
  private final class StatusHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let head: HTTPRequestHead
    let body: [UInt8]?
    let promise: EventLoopPromise<Int>
    var status: Int?
    init(head: HTTPRequestHead, body: [UInt8]?, promise: EventLoopPromise<Int>) { self.head = head; self.body = body; self.promise = promise }

    func channelActive(context: ChannelHandlerContext) {
      context.write(wrapOutboundOut(.head(head)), promise: nil)
      if let body { context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil) }
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
      context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .head(let head): status = Int(head.status.code)
      case .body: break
      case .end: if let status { promise.succeed(status) }
      }
    }

    func channelInactive(context: ChannelHandlerContext) {
      promise.fail(ChannelError.eof)   // no-op when already answered
      context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
      promise.fail(error)
      context.close(promise: nil)
    }
  }
}
