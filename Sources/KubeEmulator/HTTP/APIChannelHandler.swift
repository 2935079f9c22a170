import Foundation
import KubeCore
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOWebSocket

/// Turns HTTP/1.1 requests into `APIRequest`s, authenticates them, and writes `APIResponse`s,
/// streaming watch responses as chunked bodies. No Kubernetes rules live here.
final class APIChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let server: APIServer
  private let authenticator: Authenticator
  private var head: HTTPRequestHead?
  private var body: ByteBuffer?
  private var bodyTooLarge = false
  private var activeWatch: WatchStream?
  private var activeStream: ResponseStream?
  private var watchTasks: [Scheduled<Void>] = []
  private var watchTimer: RepeatedTask?
  private var isWatching = false
  private var peerUser: UserInfo?
  private var peerChecked = false

  init(server: APIServer, authenticator: Authenticator) {
    self.server = server
    self.authenticator = authenticator
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      body = nil
      bodyTooLarge = false
    case .body(var chunk):
      if bodyTooLarge { return }
      if (body?.readableBytes ?? 0) + chunk.readableBytes > APIServer.maxRequestBodyBytes {
        bodyTooLarge = true
        body = nil
        return
      }
      if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
    case .end:
      guard let head else { return }
      self.head = nil
      handle(context: context, head: head)
    }
  }

  private func clientCertificateUser(context: ChannelHandlerContext) -> UserInfo? {
    if peerChecked { return peerUser }
    peerChecked = true
    peerUser = Self.clientCertificateUser(channel: context.channel, authenticator: authenticator)
    return peerUser
  }

  /// The user of the connection's verified client certificate, if any (call on its event loop).
  static func clientCertificateUser(channel: any Channel, authenticator: Authenticator) -> UserInfo? {
    guard let tls = try? channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self),
          let cert = tls.peerCertificate else { return nil }
    return authenticator.user(forCertificateDER: (try? cert.toDERBytes()) ?? [])
  }

  /// Authenticates a request that arrives outside this handler (a WebSocket upgrade), as `handle` does.
  static func authenticate(_ request: APIRequest, channel: any Channel, authenticator: Authenticator,
                           server: APIServer) -> Authenticator.Outcome {
    authenticator.authenticate(authorization: request.header("authorization"),
                               certificateUser: clientCertificateUser(channel: channel, authenticator: authenticator),
                               issuedToken: { server.authenticateServiceAccountToken($0) })
  }

  private func handle(context: ChannelHandlerContext, head: HTTPRequestHead) {
    var headers: [(String, String)] = []
    for (name, value) in head.headers { headers.append((name, value)) }
    var bytes: [UInt8] = []
    if let b = body { bytes = b.getBytes(at: b.readerIndex, length: b.readableBytes) ?? [] }
    body = nil
    var request = APIRequest(method: head.method.rawValue, uri: head.uri, headers: headers, body: bytes)
    let keepAlive = head.isKeepAlive
    if bodyTooLarge {
      write(context: context, response: .error(.requestEntityTooLarge(limit: APIServer.maxRequestBodyBytes)), head: head, keepAlive: false)
      return
    }
    switch authenticator.authenticate(authorization: request.header("authorization"), certificateUser: clientCertificateUser(context: context),
                                      issuedToken: { [server] in server.authenticateServiceAccountToken($0) }) {
    case .authenticated(let user): request.user = user
    case .anonymous: request.user = nil
    case .rejected:
      // A credential that is present but wrong is refused even where anonymous access is allowed.
      write(context: context, response: .error(.unauthorized), head: head, keepAlive: keepAlive)
      return
    }
    let response = server.handle(request)
    let latency = server.faults.configuration.latency
    if latency > .zero {
      let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
      context.eventLoop.scheduleTask(in: .nanoseconds(Int64(latency.components.seconds) * 1_000_000_000 + latency.components.attoseconds / 1_000_000_000)) {
        let (handler, ctx) = loopBound.value
        handler.write(context: ctx, response: response, head: head, keepAlive: keepAlive)
      }
    } else {
      write(context: context, response: response, head: head, keepAlive: keepAlive)
    }
  }

  private func write(context: ChannelHandlerContext, response: APIResponse, head: HTTPRequestHead, keepAlive: Bool) {
    var headers = HTTPHeaders()
    for (k, v) in response.headers where k.lowercased() != "transfer-encoding" { headers.add(name: k, value: v) }
    headers.add(name: "Audit-Id", value: UUID().uuidString.lowercased())
    headers.add(name: "Cache-Control", value: "no-cache, private")
    headers.add(name: "X-Kubernetes-Pf-Flowschema-Uid", value: "edgeml-emulator")
    if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
    let status = HTTPResponseStatus(statusCode: response.status)
    let body: APIResponse.Body
    switch response.payload {
    case .encoded(let encoded):
      var buffer = context.channel.allocator.buffer(capacity: 0)
      JSONBodyWriter.write(encoded, into: &buffer)
      finish(context: context, status: status, headers: headers, buffer: buffer, head: head, keepAlive: keepAlive)
      return
    case .body(let b): body = b
    }
    switch body {
    case .json(let value):
      var buffer = context.channel.allocator.buffer(capacity: 1024)
      JSONBodyWriter.write(value, into: &buffer)
      finish(context: context, status: status, headers: headers, buffer: buffer, head: head, keepAlive: keepAlive)
    case .bytes(let bytes):
      var buffer = context.channel.allocator.buffer(capacity: bytes.count)
      buffer.writeBytes(bytes)
      finish(context: context, status: status, headers: headers, buffer: buffer, head: head, keepAlive: keepAlive)
    case .watch(let stream):
      startWatch(context: context, stream: stream, headers: headers, status: status)
    case .stream(let stream):
      startStream(context: context, stream: stream, headers: headers, status: status, keepAlive: keepAlive)
    }
  }

  private func finish(context: ChannelHandlerContext, status: HTTPResponseStatus, headers: HTTPHeaders, buffer: ByteBuffer,
                      head: HTTPRequestHead, keepAlive: Bool) {
    var headers = headers
    headers.replaceOrAdd(name: "Content-Length", value: String(buffer.readableBytes))
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
    if head.method != .HEAD && buffer.readableBytes > 0 {
      context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }
    let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    if !keepAlive {
      let channel = context.channel
      done.whenComplete { _ in channel.close(promise: nil) }
    }
  }

  // MARK: streamed bodies

  /// Sends a `ResponseStream` as a chunked body, each piece as it is written, until it ends or the
  /// client goes away (which cancels it).
  private func startStream(context: ChannelHandlerContext, stream: ResponseStream, headers: HTTPHeaders,
                           status: HTTPResponseStatus, keepAlive: Bool) {
    var headers = headers
    headers.remove(name: "Content-Length")
    headers.replaceOrAdd(name: "Content-Type", value: stream.contentType)
    headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    activeStream = stream
    let loop = context.eventLoop
    let bound = NIOLoopBound((self, context), eventLoop: loop)
    stream.attach { chunk in
      loop.execute {
        let (handler, ctx) = bound.value
        guard handler.activeStream === stream else { return }
        switch chunk {
        case .data(let bytes):
          handler.writeFrame(context: ctx, bytes)
          ctx.flush()
        case .end:
          handler.activeStream = nil
          let done = ctx.writeAndFlush(handler.wrapOutboundOut(.end(nil)))
          if !keepAlive { let channel = ctx.channel; done.whenComplete { _ in channel.close(promise: nil) } }
        }
      }
    }
  }

  // MARK: watch streaming

  private func startWatch(context: ChannelHandlerContext, stream: WatchStream, headers: HTTPHeaders, status: HTTPResponseStatus) {
    isWatching = true
    activeWatch = stream
    var headers = headers
    headers.remove(name: "Content-Length")
    headers.replaceOrAdd(name: "Content-Type", value: stream.contentType)
    headers.replaceOrAdd(name: "Transfer-Encoding", value: "chunked")
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
    var sent = 0
    let closeAfter = server.faults.configuration.closeWatchAfterEvents
    for frame in stream.initialFrames {
      writeFrame(context: context, frame)
      sent += 1
      if closeAfter > 0 && sent >= closeAfter { endWatch(context: context); return }
    }
    context.flush()
    if stream.timeout == .zero { endWatch(context: context); return }
    let loop = context.eventLoop
    let bound = NIOLoopBound((self, context), eventLoop: loop)
    let counter = NIOLoopBoundBox(sent, eventLoop: loop)
    // Events that reach the loop together leave in one write: the flush is queued behind the
    // events already queued, as a busy watch gets them in bursts (a status step of many objects).
    let flushQueued = NIOLoopBoundBox(false, eventLoop: loop)
    stream.attach { event in
      loop.execute {
        let (handler, ctx) = bound.value
        guard handler.activeWatch === stream, let frame = stream.encode(event) else { return }
        handler.writeFrame(context: ctx, frame)
        counter.value += 1
        if closeAfter > 0 && counter.value >= closeAfter { handler.endWatch(context: ctx); return }
        guard !flushQueued.value else { return }
        flushQueued.value = true
        loop.execute {
          flushQueued.value = false
          let (handler, ctx) = bound.value
          if handler.activeWatch === stream { ctx.flush() }
        }
      }
    }
    if let timeout = stream.timeout {
      watchTasks.append(loop.scheduleTask(in: .nanoseconds(Self.nanos(timeout))) {
        let (handler, ctx) = bound.value
        handler.endWatch(context: ctx)
      })
    }
    if let closeAfterTime = server.faults.configuration.closeWatchAfter {
      watchTasks.append(loop.scheduleTask(in: .nanoseconds(Self.nanos(closeAfterTime))) {
        let (handler, ctx) = bound.value
        handler.endWatch(context: ctx)
      })
    }
    if let bookmark = stream.bookmark {
      let interval = TimeAmount.nanoseconds(Self.nanos(stream.bookmarkInterval))
      watchTimer = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
        // Read the version first, then queue the bookmark behind every event already queued for
        // this stream (events up to that version were queued while the store lock was held).
        let rv = stream.currentResourceVersion()
        loop.execute {
          let (handler, ctx) = bound.value
          guard handler.activeWatch === stream else { return }
          handler.writeFrame(context: ctx, bookmark(rv))
          ctx.flush()
        }
      }
    }
  }

  static func nanos(_ d: Duration) -> Int64 {
    d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
  }

  private func writeFrame(context: ChannelHandlerContext, _ frame: [UInt8]) {
    var buffer = context.channel.allocator.buffer(capacity: frame.count)
    buffer.writeBytes(frame)
    context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
  }

  private func endWatch(context: ChannelHandlerContext) {
    guard let stream = activeWatch else { return }
    stream.cancel()
    activeWatch = nil
    for t in watchTasks { t.cancel() }
    watchTasks = []
    watchTimer?.cancel()
    watchTimer = nil
    isWatching = false
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    activeStream?.cancel()
    activeStream = nil
    activeWatch?.cancel()
    activeWatch = nil
    for t in watchTasks { t.cancel() }
    watchTimer?.cancel()
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: Error) {
    // A WebSocket upgrade `ExecUpgrade` declined: the request itself follows, and is answered here.
    if error is NIOWebSocketUpgradeError { return }
    activeStream?.cancel()
    activeStream = nil
    activeWatch?.cancel()
    activeWatch = nil
    context.close(promise: nil)
  }
}
