#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeCore
import YAML

/// A kubeconfig, merged from one or more files the way kubectl merges them.
///
/// Rules from k8s.io/client-go/tools/clientcmd/loader.go (`ClientConfigLoadingRules.Load`):
/// - `KUBECONFIG` is a list of paths (`:`-separated); missing files are skipped; clusters, users and
///   contexts are merged by name and the **first** file that defines a name wins, as does the first
///   `current-context`;
/// - an explicit path (`--kubeconfig`) is the only file read, and it must exist;
/// - relative file references in a file (`certificate-authority`, `client-certificate`, `client-key`,
///   `tokenFile`, an exec plugin's relative `command`) resolve against that file's directory
///   (`ResolveLocalPaths`).
public struct Kubeconfig: Sendable, Equatable {
  public var clusters: [String: Cluster] = [:]
  public var users: [String: AuthInfo] = [:]
  public var contexts: [String: Context] = [:]
  public var currentContext: String?

  public struct Cluster: Sendable, Equatable {
    public var server: String
    public var certificateAuthority: String?
    public var certificateAuthorityData: [UInt8]?
    public var insecureSkipTLSVerify = false
    public var tlsServerName: String?
  }

  public struct AuthInfo: Sendable, Equatable {
    public var token: String?
    public var tokenFile: String?
    public var clientCertificate: String?
    public var clientCertificateData: [UInt8]?
    public var clientKey: String?
    public var clientKeyData: [UInt8]?
    public var username: String?
    public var password: String?
    public var exec: ExecConfig?
  }

  /// An exec credential plugin (client.authentication.k8s.io/v1).
  public struct ExecConfig: Sendable, Equatable {
    public var apiVersion: String
    public var command: String
    public var args: [String] = []
    public var env: [(name: String, value: String)] = []
    public var provideClusterInfo = false
    public var interactiveMode: String?

    public static func == (a: ExecConfig, b: ExecConfig) -> Bool {
      a.apiVersion == b.apiVersion && a.command == b.command && a.args == b.args && a.provideClusterInfo == b.provideClusterInfo
        && a.interactiveMode == b.interactiveMode && a.env.map { "\($0.name)=\($0.value)" } == b.env.map { "\($0.name)=\($0.value)" }
    }
  }

  public struct Context: Sendable, Equatable {
    public var cluster: String
    public var user: String
    public var namespace: String?
  }

  public init() {}

  /// Parses one kubeconfig file's text; `directory` resolves relative paths.
  /// - Throws: `KubeconfigError` naming the file and field.
  public init(parsing text: String, directory: String, source: String = "kubeconfig") throws(KubeconfigError) {
    let doc: JSONValue
    do { doc = try YAML.parse(text) } catch { throw KubeconfigError.malformed(source, "\(error)") }
    if doc == .null { return }
    guard case .object = doc else { throw KubeconfigError.malformed(source, "not a mapping") }
    func resolve(_ path: String?) -> String? {
      guard let path, !path.isEmpty else { return path }
      return path.hasPrefix("/") ? path : FilePath.join(directory, path)
    }
    func decodeData(_ v: JSONValue?, _ field: String) throws(KubeconfigError) -> [UInt8]? {
      guard let s = v?.stringValue else { return nil }
      guard let d = Data(base64Encoded: s.filter { !$0.isWhitespace }) else {
        throw KubeconfigError.malformed(source, "\(field) is not base64")
      }
      return [UInt8](d)
    }
    for entry in doc["clusters"]?.arrayValue ?? [] {
      guard let name = entry["name"]?.stringValue, let c = entry["cluster"] else { continue }
      guard let server = c["server"]?.stringValue, !server.isEmpty else {
        throw KubeconfigError.malformed(source, "cluster \"\(name)\" has no server")
      }
      clusters[name] = Cluster(server: server, certificateAuthority: resolve(c["certificate-authority"]?.stringValue),
                               certificateAuthorityData: try decodeData(c["certificate-authority-data"], "certificate-authority-data"),
                               insecureSkipTLSVerify: c["insecure-skip-tls-verify"]?.boolValue ?? false,
                               tlsServerName: c["tls-server-name"]?.stringValue)
    }
    for entry in doc["users"]?.arrayValue ?? [] {
      guard let name = entry["name"]?.stringValue else { continue }
      let u = entry["user"] ?? [:]
      var info = AuthInfo(token: u["token"]?.stringValue, tokenFile: resolve(u["tokenFile"]?.stringValue),
                          clientCertificate: resolve(u["client-certificate"]?.stringValue),
                          clientCertificateData: try decodeData(u["client-certificate-data"], "client-certificate-data"),
                          clientKey: resolve(u["client-key"]?.stringValue),
                          clientKeyData: try decodeData(u["client-key-data"], "client-key-data"),
                          username: u["username"]?.stringValue, password: u["password"]?.stringValue)
      if let e = u["exec"] {
        guard let command = e["command"]?.stringValue, !command.isEmpty else {
          throw KubeconfigError.malformed(source, "user \"\(name)\" has an exec plugin without command")
        }
        let apiVersion = e["apiVersion"]?.stringValue ?? ""
        guard apiVersion == "client.authentication.k8s.io/v1" || apiVersion == "client.authentication.k8s.io/v1beta1" else {
          throw KubeconfigError.malformed(source, "user \"\(name)\": exec plugin apiVersion \"\(apiVersion)\" is not supported (client.authentication.k8s.io/v1 or v1beta1)")
        }
        // A command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
        let resolvedCommand = command.contains("/") ? (resolve(command) ?? command) : command
        info.exec = ExecConfig(apiVersion: apiVersion, command: resolvedCommand,
                               args: (e["args"]?.arrayValue ?? []).compactMap(\.stringValue),
                               env: (e["env"]?.arrayValue ?? []).compactMap { v in
                                 guard let n = v["name"]?.stringValue else { return nil }
                                 return (n, v["value"]?.stringValue ?? "")
                               },
                               provideClusterInfo: e["provideClusterInfo"]?.boolValue ?? false,
                               interactiveMode: e["interactiveMode"]?.stringValue)
      }
      users[name] = info
    }
    for entry in doc["contexts"]?.arrayValue ?? [] {
      guard let name = entry["name"]?.stringValue, let c = entry["context"] else { continue }
      contexts[name] = Context(cluster: c["cluster"]?.stringValue ?? "", user: c["user"]?.stringValue ?? "",
                               namespace: c["namespace"]?.stringValue)
    }
    if let current = doc["current-context"]?.stringValue, !current.isEmpty { currentContext = current }
  }

  /// Adds what `other` defines and this one does not (first definition wins).
  public mutating func merge(_ other: Kubeconfig) {
    for (k, v) in other.clusters where clusters[k] == nil { clusters[k] = v }
    for (k, v) in other.users where users[k] == nil { users[k] = v }
    for (k, v) in other.contexts where contexts[k] == nil { contexts[k] = v }
    if currentContext == nil { currentContext = other.currentContext }
  }

  /// Loads as kubectl does: `explicitPath` alone if given; otherwise every path of `KUBECONFIG`
  /// (missing ones skipped); otherwise `~/.kube/config`.
  public static func load(explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws(KubeconfigError) -> Kubeconfig {
    func read(_ path: String, mustExist: Bool) throws(KubeconfigError) -> Kubeconfig? {
      guard let data = FileManager.default.contents(atPath: path) else {
        if mustExist { throw KubeconfigError.missing(path) }
        return nil
      }
      guard let text = String(data: data, encoding: .utf8) else { throw KubeconfigError.malformed(path, "not UTF-8") }
      return try Kubeconfig(parsing: text, directory: FilePath.directory(of: path), source: path)
    }
    if let explicitPath, !explicitPath.isEmpty {
      return try read(explicitPath, mustExist: true) ?? Kubeconfig()
    }
    if let list = environment["KUBECONFIG"], !list.isEmpty {
      var merged = Kubeconfig()
      var seen = Set<String>()
      for path in list.split(separator: ":").map(String.init) where !path.isEmpty && seen.insert(path).inserted {
        if let config = try read(path, mustExist: false) { merged.merge(config) }
      }
      return merged
    }
    let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
    return try read(FilePath.join(home, ".kube/config"), mustExist: false) ?? Kubeconfig()
  }
}

/// Why a kubeconfig cannot be used.
public enum KubeconfigError: Error, Sendable, Equatable, CustomStringConvertible {
  case missing(String)
  case malformed(String, String)
  case noContext
  case unknownContext(String)
  case unknownCluster(context: String, cluster: String)
  case unknownUser(context: String, user: String)
  case notInCluster(String)

  public var description: String {
    switch self {
    case .missing(let p): return "kubeconfig \(p) does not exist"
    case .malformed(let p, let why): return "kubeconfig \(p) is invalid: \(why)"
    case .noContext: return "no current context: set current-context in the kubeconfig or pass a context"
    case .unknownContext(let c): return "context \"\(c)\" does not exist in the kubeconfig"
    case .unknownCluster(let c, let cl): return "context \"\(c)\" refers to cluster \"\(cl)\", which does not exist"
    case .unknownUser(let c, let u): return "context \"\(c)\" refers to user \"\(u)\", which does not exist"
    case .notInCluster(let why): return "not running in a cluster: \(why)"
    }
  }
}
