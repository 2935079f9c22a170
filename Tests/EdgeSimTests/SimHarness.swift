import Foundation
import KubeCore
import KubeEmulator
@testable import EdgeSim

let sharedDocuments: UpstreamDocuments = {
  do { return try UpstreamDocuments.load() } catch { fatalError("bundled documents missing: \(error)") }
}()

/// An API server with a simulated fleet on it, a scratch sim root, and helpers to write and wait.
struct SimHarness {
  let server: APIServer
  let sim: EdgeSim
  let api: ClusterAPI
  let root: URL

  static func start(fleet: String = "orin-nx-16gb=3,agx-orin-64gb=2,orin-nano-8gb=2", speed: Double = 0.01,
                    metrics: Bool = false, executables: [String: String] = [:],
                    traffic: TrafficConfiguration = TrafficConfiguration(),
                    configure: (inout EdgeSim.Configuration) -> Void = { _ in }) async throws -> SimHarness {
    let server = APIServer(documents: sharedDocuments)
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("edgesim-test-\(UUID().uuidString.prefix(8))")
    var config = EdgeSim.Configuration(fleet: try FleetSpec(parsing: fleet), simRoot: root, executables: executables,
                                       speed: speed, servesMetrics: metrics, simulatedRunSeconds: 2, traffic: traffic)
    configure(&config)
    let sim = try await EdgeSim.start(server: server, configuration: config)
    return SimHarness(server: server, sim: sim, api: ClusterAPI(server: server, component: "test"), root: root)
  }

  /// Runs `body` against a fresh simulator and always shuts it down and removes its sim root.
  static func run(fleet: String = "orin-nx-16gb=3,agx-orin-64gb=2,orin-nano-8gb=2", speed: Double = 0.01, metrics: Bool = false,
                  traffic: TrafficConfiguration = TrafficConfiguration(),
                  configure: (inout EdgeSim.Configuration) -> Void = { _ in },
                  _ body: (SimHarness) async throws -> Void) async throws {
    let h = try await start(fleet: fleet, speed: speed, metrics: metrics, traffic: traffic, configure: configure)
    do { try await body(h) } catch {
      await h.stop()
      throw error
    }
    await h.stop()
  }

  func stop() async {
    await sim.shutdown()
    try? FileManager.default.removeItem(at: root)
  }

  static let slack = 4.0

  func pods(_ namespace: String = "default", label: String? = nil) -> [JSONValue] {
    api.list(Keys.pods, namespace: namespace).filter { pod in label.map { l in
      let kv = l.split(separator: "=").map(String.init)
      return pod.labels[kv[0]] == kv[1]
    } ?? true }
  }

  /// Waits until `check` returns a value (checked on every 20 ms tick), at most `seconds` times
  /// `slack`.
  ///
  /// `seconds` is what the simulated fleet needs on an idle machine; the slack lets a CI machine
  /// busy with a parallel build (three such waits timed out at 36 s under load, then passed alone)
  /// take longer. A wait that succeeds returns as soon as it does, so the slack costs nothing then.
  func eventually<T>(_ seconds: Double = 20, _ what: String = "condition", _ check: () -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(seconds * Self.slack)
    while Date() < deadline {
      if let v = check() { return v }
      try await Task.sleep(for: .milliseconds(20))
    }
    throw HarnessError.timedOut(what)
  }

  static func deployment(_ name: String, replicas: Int = 3, podSpec: JSONValue = ["containers": [["name": "app", "image": "nginx:1.27"]]],
                         strategy: JSONValue? = nil) -> JSONValue {
    var d: JSONValue = [
      "apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": .string(name), "namespace": "default"],
      "spec": ["replicas": JSONValue(replicas), "selector": ["matchLabels": ["app": .string(name)]],
               "template": ["metadata": ["labels": ["app": .string(name)]], "spec": podSpec]],
    ]
    if let strategy { d[path: ["spec", "strategy"]] = strategy }
    return d
  }

  static func pod(_ name: String, spec: JSONValue, annotations: JSONValue? = nil) -> JSONValue {
    var p: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "namespace": "default"], "spec": spec]
    if let annotations { p[path: ["metadata", "annotations"]] = annotations }
    return p
  }
}

enum HarnessError: Error { case timedOut(String) }

/// A plain HTTP/1.1 GET over a POSIX socket (no proxies, no URLSession): status code and body.
func httpGet(host: String, port: Int, path: String) throws -> (Int, String) {
  let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
  guard fd >= 0 else { throw HarnessError.timedOut("socket") }
  defer { close(fd) }
  var addr = sockaddr_in()
  addr.sin_family = sa_family_t(AF_INET)
  addr.sin_port = in_port_t(UInt16(port).bigEndian)
  inet_pton(AF_INET, host, &addr.sin_addr)
  let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
  guard ok == 0 else { throw HarnessError.timedOut("connect \(host):\(port)") }
  let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"
  _ = request.withCString { send(fd, $0, strlen($0), 0) }
  var data = [UInt8]()
  var buffer = [UInt8](repeating: 0, count: 65_536)
  while true {
    let n = recv(fd, &buffer, buffer.count, 0)
    if n <= 0 { break }
    data += buffer[0..<n]
  }
  let text = String(decoding: data, as: UTF8.self)
  let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
  let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
  return (status, body)
}
