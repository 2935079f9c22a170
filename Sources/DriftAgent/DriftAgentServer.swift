import DriftStatistics
import Foundation
import KubeCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// The drift agent's HTTP API on one port (docs/drift-agent.md):
/// `POST /v1/observations`, `GET /v1/summaries`, `GET /v1/samples`, `GET /metrics`, `GET /healthz`.
///
/// *Caveats:* batches are parsed and counted on the event loop: a batch of 100 observations takes
/// microseconds (docs/benchmarks.md, "drift agent"), and a 4 MiB one a few milliseconds.
public final class DriftAgentServer: Sendable {
  private let group: MultiThreadedEventLoopGroup
  private let channel: Channel
  /// The port bound (useful with port 0).
  public var port: Int { channel.localAddress?.port ?? 0 }

  /// Binds the API.
  /// - Parameters:
  ///   - source: the report's `source` (the pod name).
  ///   - clock: Unix seconds now; tests inject their own.
  /// - Throws: NIO's error when the address cannot be bound.
  public init(store: SummaryStore, host: String, port: Int, source: String,
              clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) async throws {
    group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let api = DriftAgentAPI(store: store, source: source, clock: clock)
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(DriftAgentHandler(api: api))
        }
      }
    do {
      channel = try await bootstrap.bind(host: host, port: port).get()
    } catch {
      try? await group.shutdownGracefully()
      throw error
    }
  }

  /// Closes the port and stops the event loop.
  public func shutdown() async {
    try? await channel.close()
    try? await group.shutdownGracefully()
  }
}

/// The routes, apart from HTTP plumbing: a request in, a status, content type and body out.
public struct DriftAgentAPI: Sendable {
  public struct Response: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
  }

  let store: SummaryStore
  let source: String
  let clock: @Sendable () -> Double

  public init(store: SummaryStore, source: String, clock: @escaping @Sendable () -> Double) {
    self.store = store; self.source = source; self.clock = clock
  }

  public func handle(method: String, uri: String, body: [UInt8]) -> Response {
    let (path, query) = Self.split(uri)
    switch (method, path) {
    case ("POST", "/v1/observations"): return observe(body)
    case ("GET", "/v1/summaries"): return summaries(query)
    case ("GET", "/v1/samples"): return samples(query)
    case ("GET", "/metrics"):
      return Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(AgentMetrics.text(store).utf8))
    case ("GET", "/healthz"), ("GET", "/readyz"): return Response(status: 200, contentType: "text/plain; charset=utf-8", body: Array("ok".utf8))
    case (_, "/v1/observations"), (_, "/v1/summaries"), (_, "/v1/samples"), (_, "/metrics"), (_, "/healthz"):
      return Self.error(405, "method \(method) not allowed on \(path)")
    default: return Self.error(404, "no route \(path)")
    }
  }

  func observe(_ body: [UInt8]) -> Response {
    do {
      let batch = try ObservationBatch(parsing: body, configuration: store.configuration)
      store.insert(batch, at: clock())
      return Self.json(202, "{\"accepted\":\(batch.rows)}")
    } catch {
      store.refused(error.reason)
      return Self.error(400, error.message)
    }
  }

  /// Refuses a body over the limit (counted); the server calls it before reading the body whole.
  func tooLarge() -> Response {
    store.refused(.tooLarge)
    return Self.error(413, "request body over \(store.configuration.maximumBodyBytes) bytes")
  }

  func summaries(_ query: [String: String]) -> Response {
    let range: (Double, Double)
    switch Self.range(query, now: clock()) {
    case .success(let r): range = r
    case .failure(let message): return Self.error(400, message)
    }
    let report = store.report(source: source, since: range.0, until: range.1)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(report) else { return Self.error(500, "could not encode the report") }
    return Response(status: 200, contentType: "application/json", body: Array(data))
  }

  func samples(_ query: [String: String]) -> Response {
    let range: (Double, Double)
    switch Self.range(query, now: clock()) {
    case .success(let r): range = r
    case .failure(let message): return Self.error(400, message)
    }
    guard let columns = store.samples(since: range.0, until: range.1) else {
      return Self.error(404, "raw samples are not kept: the agent runs without --keep-samples")
    }
    var features = JSONObject()
    for column in columns {
      features[column.feature.name] = .array(column.values.map { value in
        switch value {
        case .number(let v): JSONValue(v)
        case .string(let v): .string(v)
        }
      })
    }
    let out = JSONValue.object(["features": .object(features)]).serializedString()
    return Response(status: 200, contentType: "application/json", body: Array(out.utf8))
  }

  enum RangeResult { case success((Double, Double)), failure(String) }

  /// `since` and `until` in Unix seconds; defaults: everything held, up to now.
  static func range(_ query: [String: String], now: Double) -> RangeResult {
    var bounds: [Double] = []
    for (name, fallback) in [("since", -Double.greatestFiniteMagnitude), ("until", now + 1)] {
      guard let text = query[name] else { bounds.append(fallback); continue }
      guard let v = Double(text), v.isFinite else { return .failure("\(name) must be Unix seconds, not \"\(text)\"") }
      bounds.append(v)
    }
    guard bounds[0] <= bounds[1] else { return .failure("since must not be after until") }
    return .success((bounds[0], bounds[1]))
  }

  static func split(_ uri: String) -> (String, [String: String]) {
    guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
    var query: [String: String] = [:]
    for pair in uri[uri.index(after: q)...].split(separator: "&") {
      let kv = pair.split(separator: "=", maxSplits: 1)
      let key = String(kv[0]).removingPercentEncoding ?? String(kv[0])
      query[key] = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
    }
    return (String(uri[..<q]), query)
  }

  static func json(_ status: Int, _ text: String) -> Response { Response(status: status, contentType: "application/json", body: Array(text.utf8)) }

  static func error(_ status: Int, _ message: String) -> Response {
    json(status, JSONValue.object(["error": .string(message)]).serializedString())
  }
}

/// HTTP/1.1 plumbing: gathers a request's body up to the limit, answers 413 beyond it (and closes,
/// since the rest of the body is not read), and writes the route's response.
final class DriftAgentHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let api: DriftAgentAPI
  private var head: HTTPRequestHead?
  private var body: [UInt8] = []
  private var refused = false

  init(api: DriftAgentAPI) { self.api = api }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let limit = api.store.configuration.maximumBodyBytes
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      body.removeAll(keepingCapacity: true)
      refused = false
      if let length = h.headers.first(name: "content-length").flatMap(Int.init), length > limit {
        refuse(context: context)
      }
    case .body(var buffer):
      guard !refused else { return }
      if body.count + buffer.readableBytes > limit { refuse(context: context); return }
      body += buffer.readBytes(length: buffer.readableBytes) ?? []
    case .end:
      // A refused request was answered at once; its connection closes once its body has gone by,
      // so that the client reads the answer instead of a reset.
      if refused { context.close(promise: nil); return }
      guard let head else { return }
      let response = api.handle(method: head.method.rawValue, uri: head.uri, body: body)
      write(response, context: context, keepAlive: head.isKeepAlive)
      self.head = nil
      body.removeAll(keepingCapacity: body.capacity <= 1 << 16)
    }
  }

  private func refuse(context: ChannelHandlerContext) {
    refused = true
    body = []
    write(api.tooLarge(), context: context, keepAlive: false, closeAfter: false)
  }

  private func write(_ response: DriftAgentAPI.Response, context: ChannelHandlerContext, keepAlive: Bool, closeAfter: Bool = true) {
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: response.contentType)
    headers.add(name: "Content-Length", value: String(response.body.count))
    if !keepAlive { headers.add(name: "Connection", value: "close") }
    let version = head?.version ?? .http1_1
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers))),
                  promise: nil)
    var buffer = context.channel.allocator.buffer(capacity: response.body.count)
    buffer.writeBytes(response.body)
    context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
    if !keepAlive && closeAfter { done.whenComplete { [context] _ in context.close(promise: nil) } }
  }
}
