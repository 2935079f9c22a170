import Foundation
import KubeCore
import NIOSSL

/// An in-process Kubernetes API server on loopback, for tests and `edgeml sim`.
///
/// It serves the real wire protocol (HTTP/1.1, optionally TLS with a CA it generates) so that clients
/// written elsewhere — kubectl, the official Python client, our own KubeClient — use it unmodified.
/// Authentication: a bearer token for the admin user, and client certificates signed by its CA.
public final class KubeEmulator: Sendable {
  public struct Configuration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port.
    public var port = 0
    public var useTLS = true
    /// Event loop threads.
    public var threads = 2
    /// Watch history kept for resuming watches (older versions get 410 Gone).
    public var historyLimit = 20_000
    /// Extra tokens (token → user) besides the admin token.
    public var tokens: [String: UserInfo] = [:]
    public init() {}
  }

  public let api: APIServer
  public let certificateAuthority: CertificateAuthority?
  public let adminToken: String
  public let configuration: Configuration
  private let http: EmulatorHTTPServer
  /// The server's base URL (`https://127.0.0.1:PORT`).
  public let url: String

  private init(api: APIServer, ca: CertificateAuthority?, adminToken: String, configuration: Configuration, http: EmulatorHTTPServer, url: String) {
    self.api = api
    self.certificateAuthority = ca
    self.adminToken = adminToken
    self.configuration = configuration
    self.http = http
    self.url = url
  }

  /// Loads the upstream documents, builds the server and starts listening.
  public static func start(_ configuration: Configuration = Configuration(), documents: UpstreamDocuments? = nil) async throws -> KubeEmulator {
    let docs = try documents ?? UpstreamDocuments.load()
    let api = APIServer(documents: docs, historyLimit: configuration.historyLimit)
    let token = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    var tokens = configuration.tokens
    tokens[token] = UserInfo(name: "admin", groups: ["system:masters", "system:authenticated"])
    // Plain HTTP is for local tools only (loopback): requests without credentials are the admin.
    let authenticator = Authenticator(tokens: tokens, unauthenticatedUser: configuration.useTLS ? nil
                                        : UserInfo(name: "admin", groups: ["system:masters", "system:authenticated"]))
    var ca: CertificateAuthority? = nil
    var tls: TLSConfiguration? = nil
    if configuration.useTLS {
      let authority = try CertificateAuthority()
      let serving = try authority.issueServerCertificate()
      var config = TLSConfiguration.makeServerConfiguration(
        certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(serving.certificatePEM.utf8), format: .pem))],
        privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem)))
      config.certificateVerification = .optionalVerification
      config.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(authority.certificatePEM.utf8), format: .pem)])
      config.sendCANameList = true
      config.applicationProtocols = ["http/1.1"]
      ca = authority
      tls = config
      api.setRootCertificate(pem: authority.certificatePEM)
    }
    let http = try await EmulatorHTTPServer(host: configuration.host, port: configuration.port, server: api,
                                            authenticator: authenticator, tls: tls, threads: configuration.threads)
    let url = "\(configuration.useTLS ? "https" : "http")://\(configuration.host):\(http.port)"
    api.serverAddress = "\(configuration.host):\(http.port)"
    return KubeEmulator(api: api, ca: ca, adminToken: token, configuration: configuration, http: http, url: url)
  }

  /// Stops listening and closes every connection.
  public func shutdown() async { await http.shutdown() }

  /// How a kubeconfig authenticates.
  public enum Credential: Sendable { case adminToken, clientCertificate(user: String, groups: [String]), token(String) }

  /// A kubeconfig (YAML) for this server: cluster `edgeml-sim`, context `edgeml-sim`.
  public func kubeconfig(credential: Credential = .adminToken, namespace: String = "default") throws -> String {
    var cluster = "    server: \(url)\n"
    if let ca = certificateAuthority {
      cluster += "    certificate-authority-data: \(Data(ca.certificatePEM.utf8).base64EncodedString())\n"
    }
    var user = ""
    switch credential {
    case .adminToken:
      user = "    token: \(adminToken)\n"
    case .token(let t):
      user = "    token: \(t)\n"
    case .clientCertificate(let name, let groups):
      guard let ca = certificateAuthority else { throw KubeEmulatorError.clientCertificatesNeedTLS }
      let issued = try ca.issueClientCertificate(user: name, groups: groups)
      user = "    client-certificate-data: \(Data(issued.certificatePEM.utf8).base64EncodedString())\n"
      user += "    client-key-data: \(Data(issued.privateKeyPEM.utf8).base64EncodedString())\n"
    }
    return """
      apiVersion: v1
      kind: Config
      clusters:
      - name: edgeml-sim
        cluster:
      \(cluster)users:
      - name: edgeml-sim-user
        user:
      \(user)contexts:
      - name: edgeml-sim
        context:
          cluster: edgeml-sim
          user: edgeml-sim-user
          namespace: \(namespace)
      current-context: edgeml-sim

      """
  }
}

public enum KubeEmulatorError: Error, CustomStringConvertible {
  case clientCertificatesNeedTLS
  public var description: String {
    switch self {
    case .clientCertificatesNeedTLS: return "client certificates need the emulator to serve HTTPS"
    }
  }
}
