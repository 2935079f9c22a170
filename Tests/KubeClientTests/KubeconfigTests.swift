import Foundation
import Testing
@testable import KubeClient

/// A temporary folder with files, removed at the end of the test.
final class TempDir {
  let path: String
  init() {
    path = (NSTemporaryDirectory() as NSString).appendingPathComponent("kubeconfig-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  @discardableResult
  func write(_ name: String, _ text: String) -> String {
    let p = (path as NSString).appendingPathComponent(name)
    try? FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: p, contents: Data(text.utf8))
    return p
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

let first = """
  apiVersion: v1
  kind: Config
  current-context: dev
  clusters:
  - name: edge
    cluster: {server: "https://10.0.0.1:6443", certificate-authority: certs/ca.pem}
  users:
  - name: alice
    user: {token: from-first}
  contexts:
  - name: dev
    context: {cluster: edge, user: alice, namespace: models}
  """

let second = """
  apiVersion: v1
  kind: Config
  current-context: prod
  clusters:
  - name: edge
    cluster: {server: "https://ignored:6443"}
  - name: lab
    cluster: {server: "https://lab:6443", insecure-skip-tls-verify: true}
  users:
  - name: alice
    user: {token: ignored}
  - name: robot
    user: {tokenFile: secrets/token}
  - name: plugin
    user:
      exec: {apiVersion: client.authentication.k8s.io/v1, command: ./bin/get-token, args: [--audience, edge], env: [{name: A, value: "1"}]}
  contexts:
  - name: lab
    context: {cluster: lab, user: robot}
  - name: plug
    context: {cluster: lab, user: plugin}
  """

@Test("KUBECONFIG files merge by name with the first definition winning, as kubectl merges them")
func mergeOrder() throws {
  let dir = TempDir()
  let a = dir.write("a/config", first)
  let b = dir.write("b/config", second)
  let config = try Kubeconfig.load(environment: ["KUBECONFIG": "\(a):/does/not/exist:\(b)"])
  #expect(config.currentContext == "dev")
  #expect(config.clusters["edge"]?.server == "https://10.0.0.1:6443")
  #expect(config.users["alice"]?.token == "from-first")
  #expect(config.clusters["lab"]?.insecureSkipTLSVerify == true)
  // Relative paths resolve against the file that names them.
  #expect(config.clusters["edge"]?.certificateAuthority == "\(dir.path)/a/certs/ca.pem")
  #expect(config.users["robot"]?.tokenFile == "\(dir.path)/b/secrets/token")
  #expect(config.users["plugin"]?.exec?.command == "\(dir.path)/b/./bin/get-token")
  #expect(config.users["plugin"]?.exec?.args == ["--audience", "edge"])
}

@Test("a context resolves to server, namespace and credential; referenced files are read")
func resolveContext() throws {
  let dir = TempDir()
  dir.write("a/certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
  let a = dir.write("a/config", first)
  let b = dir.write("b/config", second)
  let config = try Kubeconfig.load(environment: ["KUBECONFIG": "\(a):\(b)"])
  let dev = try ClientConfiguration.from(config)
  #expect(dev.server == "https://10.0.0.1:6443")
  #expect(dev.namespace == "models")
  #expect(dev.credential == .bearerToken("from-first"))
  #expect(String(decoding: dev.certificateAuthorityPEM ?? [], as: UTF8.self).hasPrefix("-----BEGIN CERTIFICATE-----"))
  let lab = try ClientConfiguration.from(config, context: "lab", namespace: "edge-system")
  #expect(lab.namespace == "edge-system")
  #expect(lab.credential == .bearerTokenFile("\(dir.path)/b/secrets/token"))
  if case .exec(let exec) = try ClientConfiguration.from(config, context: "plug").credential {
    #expect(exec.env.first?.name == "A")
  } else { Issue.record("expected an exec credential") }
}

@Test("an explicit kubeconfig must exist; an unknown context, cluster or user is a clear error")
func errors() throws {
  #expect(throws: KubeconfigError.missing("/nope/config")) { try Kubeconfig.load(explicitPath: "/nope/config") }
  let dir = TempDir()
  let a = dir.write("config", first)
  let config = try Kubeconfig.load(explicitPath: a)
  #expect(throws: KubeconfigError.unknownContext("prod")) { try ClientConfiguration.from(config, context: "prod") }
  var broken = config
  broken.contexts["dev"]?.cluster = "gone"
  #expect(throws: KubeconfigError.unknownCluster(context: "dev", cluster: "gone")) { try ClientConfiguration.from(broken) }
  #expect(throws: KubeconfigError.missing("\(dir.path)/certs/ca.pem")) { try ClientConfiguration.from(config) }
}

@Test("malformed kubeconfigs are refused with the file and the reason", arguments: [
  ("clusters: [{name: x, cluster: {}}]", "has no server"),
  ("users: [{name: u, user: {client-certificate-data: '***'}}]", "is not base64"),
  ("users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}}}]", "is not supported"),
  ("- just\n- a list", "not a mapping"),
  ("clusters: [{name: x, cluster: {server: [unclosed", "line 2, column 1"),
])
func malformed(text: String, reason: String) {
  do {
    _ = try Kubeconfig(parsing: text, directory: "/tmp", source: "bad.yaml")
    Issue.record("accepted a malformed kubeconfig")
  } catch {
    #expect(error.description.contains("bad.yaml"))
    #expect(error.description.contains(reason))
  }
}

@Test("in-cluster configuration reads the service account and never skips TLS verification")
func inCluster() throws {
  let dir = TempDir()
  dir.write("sa/token", "t0k3n")
  dir.write("sa/ca.crt", "CA")
  dir.write("sa/namespace", "edgeml-system\n")
  let c = try ClientConfiguration.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "443"],
                                            serviceAccountDirectory: "\(dir.path)/sa")
  #expect(c.server == "https://10.43.0.1:443")
  #expect(c.namespace == "edgeml-system")
  #expect(c.insecureSkipTLSVerify == false)
  #expect(c.credential == .bearerTokenFile("\(dir.path)/sa/token"))
  #expect(throws: KubeconfigError.self) { try ClientConfiguration.inCluster(environment: [:], serviceAccountDirectory: "\(dir.path)/sa") }
  let v6 = try ClientConfiguration.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"],
                                             serviceAccountDirectory: "\(dir.path)/sa")
  #expect(v6.server == "https://[fd00::1]:443")
}

@Test("thousands of mutated kubeconfigs are either read or refused with a message, never a crash")
func fuzzKubeconfig() {
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  func next() -> UInt64 { state &+= 0x9E37_79B9_7F4A_7C15; var z = state; z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9; return z ^ (z >> 31) }
  let base = Array((first + "\n" + second).utf8)
  let alphabet = Array(":-[]{}\"'\n #&*!|>%@`,?".utf8) + Array("abc012".utf8)
  var accepted = 0, refused = 0
  for _ in 0..<2000 {
    var bytes = base
    for _ in 0..<Int(next() % 8 + 1) {
      let i = Int(next() % UInt64(bytes.count))
      switch next() % 3 {
      case 0: bytes[i] = alphabet[Int(next() % UInt64(alphabet.count))]
      case 1: bytes.remove(at: i)
      default: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: i)
      }
    }
    do {
      _ = try Kubeconfig(parsing: String(decoding: bytes, as: UTF8.self), directory: "/tmp", source: "fuzz")
      accepted += 1
    } catch {
      #expect(!error.description.isEmpty)
      refused += 1
    }
  }
  #expect(accepted + refused == 2000)
  #expect(refused > 0)
}
