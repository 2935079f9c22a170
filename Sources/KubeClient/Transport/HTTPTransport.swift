import Synchronization

/// Sends HTTP requests through a `CurlMultiLoop`, with async/await on top.
public final class HTTPTransport: Sendable {
  public let loop: CurlMultiLoop
  public let tls: TLSSettings
  public let userAgent: String

  public init(tls: TLSSettings, userAgent: String = "edgeml/0.1.0", loop: CurlMultiLoop? = nil) throws(TransportError) {
    if let loop { self.loop = loop } else { self.loop = try CurlMultiLoop() }
    self.tls = tls
    self.userAgent = userAgent
  }

  /// Sends a request and returns the whole response.
  /// - Throws: `TransportError` when no HTTP response arrived (the caller decides on retries).
  public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
    let transfer = try CurlTransfer(request: request, tls: tls, userAgent: userAgent)
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
        transfer.onComplete = { result in continuation.resume(with: result.mapError { $0 as Error }) }
        loop.submit(transfer)
      }
    } onCancel: {
      loop.cancel(transfer)
    }
  }

  /// Starts a streaming request (a watch): the status and headers, then body bytes as they arrive.
  ///
  /// The transfer stops when the iterator goes away (the reader breaks out of its loop or its task
  /// is cancelled), not only when the sequence itself is released.
  public func stream(_ request: HTTPRequest) throws -> ResponseStream {
    let transfer = try CurlTransfer(request: request, tls: tls, userAgent: userAgent)
    let loop = self.loop
    let parts = AsyncThrowingStream<StreamPart, Error> { continuation in
      let sentHead = Mutex(false)
      transfer.onData = { [unowned transfer] bytes in
        let first = sentHead.withLock { sent -> Bool in defer { sent = true }; return !sent }
        if first { continuation.yield(.head(status: transfer.status, headers: transfer.responseHeaders)) }
        continuation.yield(.body(bytes))
      }
      transfer.onComplete = { result in
        switch result {
        case .success(let response):
          let first = sentHead.withLock { sent -> Bool in defer { sent = true }; return !sent }
          if first { continuation.yield(.head(status: response.status, headers: response.headers)) }
          continuation.finish()
        case .failure(.cancelled): continuation.finish()
        case .failure(let error): continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in loop.cancel(transfer) }
      loop.submit(transfer)
    }
    return ResponseStream(parts: parts, transfer: transfer, loop: loop)
  }

  /// The parts of a streamed response; iterating it once is the intended use.
  public struct ResponseStream: AsyncSequence, Sendable {
    public typealias Element = StreamPart
    let parts: AsyncThrowingStream<StreamPart, Error>
    let transfer: CurlTransfer
    let loop: CurlMultiLoop

    public func makeAsyncIterator() -> Iterator {
      Iterator(base: parts.makeAsyncIterator(), stopper: Stopper(transfer: transfer, loop: loop))
    }

    public struct Iterator: AsyncIteratorProtocol {
      var base: AsyncThrowingStream<StreamPart, Error>.Iterator
      let stopper: Stopper
      public mutating func next() async throws -> StreamPart? { try await base.next() }
    }

    /// Cancels the transfer when the last copy of the iterator is gone.
    final class Stopper: Sendable {
      let transfer: CurlTransfer
      let loop: CurlMultiLoop
      init(transfer: CurlTransfer, loop: CurlMultiLoop) { self.transfer = transfer; self.loop = loop }
      deinit { loop.cancel(transfer) }
    }
  }

  /// A piece of a streamed response.
  public enum StreamPart: Sendable {
    case head(status: Int, headers: [(String, String)])
    case body([UInt8])
  }
}
