import KubeClient

/// What a fetcher may use: the process environment (credentials, endpoints) and the one HTTP transport.
public struct FetchContext: Sendable {
  public var environment: [String: String]
  public var transport: HTTPTransport
  public init(environment: [String: String], transport: HTTPTransport) {
    self.environment = environment
    self.transport = transport
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
    .fetcher(FileFetcher.self) { _ in FileFetcher() },
    .fetcher(HTTPSFetcher.self) { HTTPSFetcher(transport: $0.transport) },
    .fetcher(S3Fetcher.self) { S3Fetcher(environment: $0.environment, transport: $0.transport) },
    .fetcher(OCIFetcher.self) { OCIFetcher(environment: $0.environment, transport: $0.transport) },
    .fetcher(MLflowFetcher.self) { MLflowFetcher(environment: $0.environment, transport: $0.transport) },
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
