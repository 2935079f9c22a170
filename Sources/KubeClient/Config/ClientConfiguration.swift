#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeCore

/// Everything a connection to one API server needs, resolved from a kubeconfig context or from the
/// in-cluster service account.
public struct ClientConfiguration: Sendable, Equatable {
  public var server: String
  public var namespace: String
  /// PEM bytes of the CA bundle to trust; nil means the system roots.
  public var certificateAuthorityPEM: [UInt8]?
  public var insecureSkipTLSVerify: Bool
  public var tlsServerName: String?
  public var credential: Credential

  public init(server: String, namespace: String = "default", certificateAuthorityPEM: [UInt8]? = nil,
              insecureSkipTLSVerify: Bool = false, tlsServerName: String? = nil, credential: Credential) {
    self.server = server
    self.namespace = namespace
    self.certificateAuthorityPEM = certificateAuthorityPEM
    self.insecureSkipTLSVerify = insecureSkipTLSVerify
    self.tlsServerName = tlsServerName
    self.credential = credential
  }

  /// How requests authenticate.
  public enum Credential: Sendable, Equatable {
    case none
    case bearerToken(String)
    /// A token file re-read when it changes (a rotated service-account token).
    case bearerTokenFile(String)
    case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
    case basic(username: String, password: String)
    case exec(Kubeconfig.ExecConfig)
  }

  /// Resolves a context (the given one, else `current-context`), reading referenced files.
  /// - Throws: `KubeconfigError` when the context, cluster or user is missing or a file cannot be read.
  public static func from(_ config: Kubeconfig, context name: String? = nil, namespace override: String? = nil) throws(KubeconfigError) -> ClientConfiguration {
    guard let contextName = name ?? config.currentContext else { throw KubeconfigError.noContext }
    guard let context = config.contexts[contextName] else { throw KubeconfigError.unknownContext(contextName) }
    guard let cluster = config.clusters[context.cluster] else {
      throw KubeconfigError.unknownCluster(context: contextName, cluster: context.cluster)
    }
    guard let user = config.users[context.user] ?? (context.user.isEmpty ? Kubeconfig.AuthInfo() : nil) else {
      throw KubeconfigError.unknownUser(context: contextName, user: context.user)
    }
    func file(_ path: String) throws(KubeconfigError) -> [UInt8] {
      guard let data = FileManager.default.contents(atPath: path) else { throw KubeconfigError.missing(path) }
      return [UInt8](data)
    }
    var ca = cluster.certificateAuthorityData
    if ca == nil, let path = cluster.certificateAuthority { ca = try file(path) }
    // Precedence as client-go's auth: client certificates and a token may both be set; a token beats a
    // tokenFile; exec and basic only when nothing else is set.
    var credential = Credential.none
    var cert = user.clientCertificateData
    if cert == nil, let path = user.clientCertificate { cert = try file(path) }
    var key = user.clientKeyData
    if key == nil, let path = user.clientKey { key = try file(path) }
    if let token = user.token, !token.isEmpty {
      credential = .bearerToken(token)
    } else if let tokenFile = user.tokenFile, !tokenFile.isEmpty {
      credential = .bearerTokenFile(tokenFile)
    } else if let cert, let key {
      credential = .clientCertificate(certificatePEM: cert, keyPEM: key)
    } else if let exec = user.exec {
      credential = .exec(exec)
    } else if let u = user.username, let p = user.password {
      credential = .basic(username: u, password: p)
    }
    return ClientConfiguration(server: cluster.server, namespace: override ?? context.namespace ?? "default",
                               certificateAuthorityPEM: ca, insecureSkipTLSVerify: cluster.insecureSkipTLSVerify,
                               tlsServerName: cluster.tlsServerName, credential: credential)
  }

  /// The in-cluster configuration (k8s.io/client-go/rest/config.go `InClusterConfig`): the API server
  /// from `KUBERNETES_SERVICE_HOST`/`_PORT`, the service-account token (a file, re-read when it
  /// rotates), its CA bundle and namespace. TLS verification is always on in-cluster.
  ///
  /// The files are read from `serviceAccountDirectory`, else from `$EDGEML_SERVICE_ACCOUNT_DIR`
  /// (EdgeSim's stand-in for the mount: its containers share this machine's file system), else from
  /// the standard `/var/run/secrets/kubernetes.io/serviceaccount`.
  public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment,
                               serviceAccountDirectory: String? = nil) throws(KubeconfigError) -> ClientConfiguration {
    let serviceAccountDirectory = serviceAccountDirectory ?? environment["EDGEML_SERVICE_ACCOUNT_DIR"].flatMap { $0.isEmpty ? nil : $0 }
      ?? "/var/run/secrets/kubernetes.io/serviceaccount"
    guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
          let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
      throw KubeconfigError.notInCluster("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set")
    }
    let tokenPath = FilePath.join(serviceAccountDirectory, "token")
    guard FileManager.default.fileExists(atPath: tokenPath) else {
      throw KubeconfigError.notInCluster("no service account token at \(tokenPath)")
    }
    let caPath = FilePath.join(serviceAccountDirectory, "ca.crt")
    guard let ca = FileManager.default.contents(atPath: caPath) else {
      throw KubeconfigError.notInCluster("no CA bundle at \(caPath)")
    }
    let namespaceFile = FilePath.join(serviceAccountDirectory, "namespace")
    let namespace = FileManager.default.contents(atPath: namespaceFile)
      .flatMap { String(data: $0, encoding: .utf8) }?.trimmingWhitespace() ?? "default"
    let hostPart = host.contains(":") ? "[\(host)]" : host   // IPv6 literal
    return ClientConfiguration(server: "https://\(hostPart):\(port)", namespace: namespace.isEmpty ? "default" : namespace,
                               certificateAuthorityPEM: [UInt8](ca), insecureSkipTLSVerify: false, tlsServerName: nil,
                               credential: .bearerTokenFile(tokenPath))
  }
}
