import KubeClient
import Synchronization

/// What a fetcher may use: the process environment (credentials, endpoints) and one HTTP transport.
///
/// The transport (a libcurl multi handle and its thread) is made on first use, so fetching a
/// `file://` model never loads libcurl and the ~30 libraries it needs (CCurl's `ccurl_load`).
public struct FetchContext: Sendable {
  public var environment: [String: String]
  /// The most bytes one fetch may write: a source that sends more (or announces more in its
  /// `Content-Length`) fails instead of filling the node's disk.
  public var maxBytes = FetchContext.defaultMaxBytes
  /// 4 GiB: above any single-file ONNX model (protobuf caps one at 2 GiB; larger ones keep their
  /// weights in external files) and a fraction of a Jetson's 16-64 GB of eMMC.
  public static let defaultMaxBytes = 4 << 30
  private let lazyTransport: LazyTransport

  /// A context whose transport is made from `tls` the first time a fetcher asks for it.
  public init(environment: [String: String], tls: TLSSettings) {
    self.environment = environment
    self.lazyTransport = LazyTransport(state: .pending(tls))
  }

  /// A context that uses `transport` (the caller shuts it down).
  public init(environment: [String: String], transport: HTTPTransport) {
    self.environment = environment
    self.lazyTransport = LazyTransport(state: .made(transport))
  }

  /// The shared transport, made now if this is the first request for it.
  /// - Throws: `TransportError` when libcurl cannot be loaded or its thread cannot start.
  public func transport() throws(TransportError) -> HTTPTransport { try lazyTransport.get() }

  /// Shuts the transport down if one was made by this context.
  func shutdownTransport() { lazyTransport.shutdown() }
}

/// A transport made at most once, on first use.
private final class LazyTransport: Sendable {
  enum State { case pending(TLSSettings), made(HTTPTransport), owned(HTTPTransport), closed }
  private let state: Mutex<State>

  init(state: State) { self.state = Mutex(state) }

  func get() throws(TransportError) -> HTTPTransport {
    try state.withLock { (s: inout State) throws(TransportError) -> HTTPTransport in
      switch s {
      case .made(let t), .owned(let t): return t
      case .closed: throw TransportError.shutDown
      case .pending(let tls):
        let t = try HTTPTransport(tls: tls)
        s = .owned(t)
        return t
      }
    }
  }

  /// Shuts down a transport this context made; later requests for one fail with `shutDown`.
  func shutdown() {
    let owned = state.withLock { (s: inout State) -> HTTPTransport? in
      switch s {
      case .made: return nil   // the caller's to shut down
      case .owned(let t): s = .closed; return t
      case .pending, .closed: s = .closed; return nil
      }
    }
    owned?.loop.shutdown()
  }
}

/// The fetchers `edgeml engine` knows, picked by the URI's scheme.
///
/// Each entry is one line: the fetcher's type (its `schemes` say which URIs it takes) and how to
/// make it from a `FetchContext`. The first entry that lists a scheme wins.
public struct FetcherRegistry: Sendable {
  public struct Registration: Sendable {
    public var schemes: [String]
    public var make: @Sendable (FetchContext) throws -> any ArtifactFetcher

    /// Registers `F` for its `schemes`.
    public static func fetcher<F: ArtifactFetcher>(_ type: F.Type, _ make: @escaping @Sendable (FetchContext) throws -> F) -> Registration {
      Registration(schemes: F.schemes, make: { try make($0) })
    }
  }

  public var registrations: [Registration]

  public init(_ registrations: [Registration]) { self.registrations = registrations }

  /// Every fetcher of this program.
  public static let standard = FetcherRegistry([
    .fetcher(FileFetcher.self) { FileFetcher(maxBytes: $0.maxBytes) },
    .fetcher(HTTPSFetcher.self) { var f = HTTPSFetcher(transport: try $0.transport()); f.maxBytes = $0.maxBytes; return f },
    .fetcher(S3Fetcher.self) { var f = S3Fetcher(environment: $0.environment, transport: try $0.transport()); f.maxBytes = $0.maxBytes; return f },
    .fetcher(OCIFetcher.self) { var f = OCIFetcher(environment: $0.environment, transport: try $0.transport()); f.maxBytes = $0.maxBytes; return f },
    .fetcher(MLflowFetcher.self) { var f = MLflowFetcher(environment: $0.environment, transport: try $0.transport()); f.maxBytes = $0.maxBytes; return f },
  ])

  /// The schemes some registered fetcher handles.
  public var schemes: [String] { registrations.flatMap(\.schemes) }

  /// Makes the fetcher for `uri`'s scheme.
  /// - Throws: `FetchError` when no fetcher takes the scheme or the fetcher cannot be made
  ///   (missing credentials, for example).
  public func fetcher(for uri: String, context: FetchContext) throws(FetchError) -> any ArtifactFetcher {
    let scheme = URIText.scheme(of: uri)
    guard let registration = registrations.first(where: { $0.schemes.contains(scheme) }) else {
      throw FetchError(uri: URIText.redacted(uri), message: "no fetcher for scheme \"\(scheme)\" (known: \(schemes.joined(separator: ", ")))")
    }
    do {
      return try registration.make(context)
    } catch let error as FetchError {
      throw error
    } catch {
      throw FetchError(uri: URIText.redacted(uri), message: "cannot set up the \(scheme) fetcher: \(error)")
    }
  }
}
