/// One HTTP request as the transport sends it.
public struct HTTPRequest: Sendable {
  public var method: String
  public var url: String
  public var headers: [(String, String)]
  public var body: [UInt8]
  /// Whole-request timeout; nil for none (watch streams end by their own `timeoutSeconds`).
  public var timeout: Duration?

  public init(method: String, url: String, headers: [(String, String)] = [], body: [UInt8] = [], timeout: Duration? = .seconds(30)) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
  }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
  public var status: Int
  /// Header names in lower case, in arrival order.
  public var headers: [(String, String)]
  public var body: [UInt8]

  public func header(_ name: String) -> String? {
    let lower = name.lowercased()
    return headers.last { $0.0 == lower }?.1
  }
}

/// TLS material for one server.
public struct TLSSettings: Sendable, Equatable {
  /// PEM CA bundle to trust; nil means the system roots.
  public var certificateAuthorityPEM: [UInt8]?
  /// Skip server verification (never in-cluster; kubeconfig `insecure-skip-tls-verify`).
  public var insecureSkipVerify: Bool
  public var clientCertificatePEM: [UInt8]?
  public var clientKeyPEM: [UInt8]?

  public init(certificateAuthorityPEM: [UInt8]? = nil, insecureSkipVerify: Bool = false,
              clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil) {
    self.certificateAuthorityPEM = certificateAuthorityPEM
    self.insecureSkipVerify = insecureSkipVerify
    self.clientCertificatePEM = clientCertificatePEM
    self.clientKeyPEM = clientKeyPEM
  }
}

/// Why a request got no HTTP response.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
  /// libcurl failed: its error code and message (connection refused, TLS verification, timeout, …).
  case curl(code: Int, message: String)
  case cancelled
  case shutDown
  case setupFailed(String)

  public var description: String {
    switch self {
    case .curl(let code, let message): return "transport error \(code): \(message)"
    case .cancelled: return "request cancelled"
    case .shutDown: return "the transport is shut down"
    case .setupFailed(let why): return "could not set up the request: \(why)"
    }
  }

  /// Connection-level failures worth retrying with backoff.
  public var isRetryable: Bool {
    guard case .curl(let code, _) = self else { return false }
    // CURLE_COULDNT_CONNECT 7, OPERATION_TIMEDOUT 28, SEND_ERROR 55, RECV_ERROR 56, GOT_NOTHING 52, PARTIAL_FILE 18, HTTP2 16/92
    return [7, 16, 18, 28, 52, 55, 56, 92].contains(code)
  }
}
