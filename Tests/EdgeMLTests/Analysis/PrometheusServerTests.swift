import Foundation
import KubeClient
import KubeCore
import Testing
@testable import EdgeML
#if canImport(Glibc)
import Glibc
#endif

/// The analysis providers against a real Prometheus (Debian's `prometheus` package, installed by
/// scripts/setup.sh), started by the test on loopback with a tmp TSDB, scraping a small Python
/// server that exports Triton-style metrics (shared/reference/jetson/triton.md, §4).
@Suite("Analysis against a real Prometheus", .serialized,
       .enabled(if: RealPrometheus.binary != nil && RealPrometheus.python != nil,
                "prometheus (or python3) is not installed: scripts/setup.sh runs apt-get install prometheus"))
struct PrometheusServerTests {
  static let candidate = #"model="detector",version="4""#

  static func metric(_ query: String, success: String, address: String) -> AnalysisMetric {
    AnalysisMetric(name: "m", provider: MetricProvider(prometheus: PrometheusQuery(address: address, query: query)), successCondition: success)
  }

  static func measure(_ query: String, success: String, on server: RealPrometheus) async throws -> EdgeML.Measurement {
    let provider = PrometheusProvider(transport: try HTTPTransport(tls: TLSSettings()), timeout: .seconds(5))
    return await provider.measure(metric(query, success: success, address: server.address), context: server.context())
  }

  @Test("A vector result is a list of doubles, one per series, judged by the success condition")
  func vector() async throws {
    let server = try await RealPrometheus.start()
    defer { server.stop() }
    let m = try await Self.measure("nv_inference_request_success{{{candidate}}}", success: "result.all(x, x > 1000)", on: server)
    #expect(m.phase == .successful, "\(m)")
    #expect(m.value == "[1234]")
  }

  @Test("A scalar result is a double; the same value fails a stricter success condition")
  func scalarPassesAndFails() async throws {
    let server = try await RealPrometheus.start()
    defer { server.stop() }
    let query = #"scalar(max(nv_inference_request_summary_us{quantile="0.99",{{candidate}}})) / 1000"#
    let passed = try await Self.measure(query, success: "result < 50", on: server)
    #expect(passed.phase == .successful, "\(passed)")
    #expect(passed.value == "42.5")
    let failed = try await Self.measure(query, success: "result < 40", on: server)
    #expect(failed.phase == .failed)
    #expect(failed.message == #"successCondition "result < 40" is false for result 42.5"#)
  }

  @Test("A query that returns no data is inconclusive, never successful")
  func noData() async throws {
    let server = try await RealPrometheus.start()
    defer { server.stop() }
    let m = try await Self.measure(#"nv_inference_request_success{model="absent"}"#, success: "true", on: server)
    #expect(m.phase == .inconclusive)
    #expect(m.message == "query returned no data")
  }

  @Test("A query Prometheus cannot parse is an error carrying Prometheus' own message")
  func badQuery() async throws {
    let server = try await RealPrometheus.start()
    defer { server.stop() }
    let m = try await Self.measure("sum(nv_inference_request_success", success: "true", on: server)
    #expect(m.phase == .error)
    let message = try #require(m.message)
    #expect(message.hasPrefix("Prometheus refused the query (HTTP 400): bad_data: "), "\(message)")
    #expect(message.contains("parse error"), "\(message)")
  }

  @Test("A Prometheus that is down, one that never answers, and a server that is not Prometheus are errors that say so")
  func unreachable() async throws {
    let server = try await RealPrometheus.start()
    defer { server.stop() }
    let down = try await Self.measure("up", success: "true", on: RealPrometheus.unstarted(address: "http://127.0.0.1:\(server.closedPort)"))
    #expect(down.phase == .error)
    #expect(down.message?.hasPrefix("Prometheus at http://127.0.0.1:\(server.closedPort) did not answer: connection refused") == true, "\(down)")
    let silent = try await Self.measure("up", success: "true", on: RealPrometheus.unstarted(address: "http://127.0.0.1:\(server.silentPort)"))
    #expect(silent.phase == .error)
    #expect(silent.message?.contains("did not answer: timed out") == true, "\(silent)")
    let notPrometheus = try await Self.measure("up", success: "true", on: RealPrometheus.unstarted(address: "http://127.0.0.1:\(server.targetPort)"))
    #expect(notPrometheus.phase == .error)
    #expect(notPrometheus.message?.hasPrefix("Prometheus answered HTTP 404 without a JSON body") == true, "\(notPrometheus)")
  }

  @Test("podMetrics scrapes the pods' /metrics itself and reads a summary's p99; an unreachable pod is an error naming it")
  func podMetrics() async throws {
    let server = try await RealPrometheus.start()
    defer { server.stop() }
    let provider = PodMetricsProvider(transport: try HTTPTransport(tls: TLSSettings()), timeout: .seconds(5))
    let metric = AnalysisMetric(name: "p99", provider: MetricProvider(podMetrics: PodMetricQuery(
      metric: "nv_inference_request_summary_us", aggregation: "p99", labels: ["model": "detector", "version": "4"])), successCondition: "result < 50000")
    let pod = ScrapeTarget(pod: "detector-4-a", url: "http://127.0.0.1:\(server.targetPort)/metrics")
    var context = server.context()
    context.pods = [pod]
    let m = await provider.measure(metric, context: context)
    #expect(m.phase == .successful, "\(m)")
    #expect(m.value == "42500")
    context.pods = [pod, ScrapeTarget(pod: "detector-4-b", url: "http://127.0.0.1:\(server.closedPort)/metrics")]
    let partial = await provider.measure(metric, context: context)
    #expect(partial.phase == .error)
    #expect(partial.message?.contains("detector-4-b: http://127.0.0.1:\(server.closedPort)/metrics did not answer") == true, "\(partial)")
  }
}

/// One Prometheus and its scrape target, for one test; `stop()` kills both and removes their files.
final class RealPrometheus {
  static let binary: String? = program("prometheus")
  static let python: String? = program("python3")

  /// What the target serves at /metrics: Triton's series for two versions of one model.
  static let tritonMetrics = """
    # HELP nv_inference_request_success Number of successful inference requests, all batch sizes
    # TYPE nv_inference_request_success counter
    nv_inference_request_success{model="detector",version="4"} 1234
    nv_inference_request_success{model="detector",version="3"} 5678
    # HELP nv_inference_request_summary_us Summary of inference request duration in microseconds
    # TYPE nv_inference_request_summary_us summary
    nv_inference_request_summary_us{model="detector",version="4",quantile="0.5"} 21000
    nv_inference_request_summary_us{model="detector",version="4",quantile="0.99"} 42500
    nv_inference_request_summary_us_sum{model="detector",version="4"} 2.6e+07
    nv_inference_request_summary_us_count{model="detector",version="4"} 1234

    """

  /// Serves `metrics` at /metrics (404 elsewhere) on a free port; also finds a free port for
  /// Prometheus, one bound but never listened on (refuses connections), and one that listens but
  /// never accepts (a server that does not answer); writes the four numbers to `ports` once bound.
  static let targetScript = """
    import http.server, os, socket, sys
    d = sys.argv[1]
    body = open(os.path.join(d, "metrics"), "rb").read()
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code, data = (200, body) if self.path == "/metrics" else (404, b"<html>not found</html>")
            self.send_response(code)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        def log_message(self, *args): pass
    def port(listen):
        s = socket.socket(); s.bind(("127.0.0.1", 0))
        if listen: s.listen(1)
        return s, s.getsockname()[1]
    free, prometheus_port = port(False); free.close()
    closed, closed_port = port(False)
    silent, silent_port = port(True)
    server = http.server.HTTPServer(("127.0.0.1", 0), H)
    with open(os.path.join(d, "ports.tmp"), "w") as f:
        f.write("%d %d %d %d" % (server.server_port, prometheus_port, closed_port, silent_port))
    os.rename(os.path.join(d, "ports.tmp"), os.path.join(d, "ports"))
    server.serve_forever()
    """

  let directory: String
  let address: String
  let targetPort: Int
  let closedPort: Int
  let silentPort: Int
  private var processes: [Process]
  private var stopped = false

  private init(directory: String, address: String, ports: [Int], processes: [Process]) {
    self.directory = directory
    self.address = address
    targetPort = ports[0]
    closedPort = ports[2]
    silentPort = ports[3]
    self.processes = processes
  }

  /// An address with nothing started behind it, for the unreachable cases.
  static func unstarted(address: String) -> RealPrometheus {
    RealPrometheus(directory: "", address: address, ports: [0, 0, 0, 0], processes: [])
  }

  func context() -> AnalysisContext {
    AnalysisContext(rolloutNamespace: "edge", rolloutName: "detector-v4", rolloutUID: "uid", runID: "step-1",
                    now: Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)),
                    candidateMatchers: PrometheusServerTests.candidate, stableMatchers: #"model="detector",version="3""#)
  }

  static func start() async throws -> RealPrometheus {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edgeml-prometheus-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try tritonMetrics.write(toFile: directory + "/metrics", atomically: true, encoding: .utf8)
    let target = try launch(try #require(python), ["-c", targetScript, directory], log: directory + "/target.log")
    var server = RealPrometheus(directory: directory, address: "", ports: [0, 0, 0, 0], processes: [target])
    let ports: [Int]
    do {
      ports = try await waitForPorts(directory + "/ports")
      try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
        - job_name: triton
          static_configs: [{targets: ["127.0.0.1:\(ports[0])"]}]
        """.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
      // The port was free when the target script looked, but with the whole suite starting at once
      // another test may take it before Prometheus binds it ("bind: address already in use", seen
      // in a clean-clone CI run): then Prometheus exits, and starts again on another free port.
      var port = ports[1]
      var prometheus: Process
      var attempt = 0
      while true {
        prometheus = try launch(try #require(binary), [
          "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
          "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ], log: directory + "/prometheus.log")
        server = RealPrometheus(directory: directory, address: "http://127.0.0.1:\(port)", ports: ports, processes: [target, prometheus])
        if try await server.listensUnlessItExits(prometheus) { break }
        attempt += 1
        guard attempt < 5 else { break }
        port = try freePort()
      }
      try await server.waitForFirstScrape()
    } catch {
      server.stop()
      throw error
    }
    return server
  }

  /// Waits until Prometheus answers `/-/ready`; false when it exits first (its port was taken).
  private func listensUnlessItExits(_ prometheus: Process) async throws -> Bool {
    let transport = try HTTPTransport(tls: TLSSettings())
    let deadline = ContinuousClock.now + .seconds(120)
    while ContinuousClock.now < deadline {
      if !prometheus.isRunning { return false }
      if let response = try? await transport.send(HTTPRequest(method: "GET", url: address + "/-/ready", timeout: .seconds(2))),
         response.status == 200 { return true }
      try await Task.sleep(for: .milliseconds(200))
    }
    return true   // still running: waitForFirstScrape reports what its log says
  }

  /// A port nothing listens on now (bound to port 0 and closed again).
  private static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { p in
      p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try #require(bound)
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Waits until Prometheus has scraped the target once (`up{job="triton"}` is 1): a condition, not a sleep.
  private func waitForFirstScrape() async throws {
    let transport = try HTTPTransport(tls: TLSSettings())
    let deadline = ContinuousClock.now + .seconds(120)
    while ContinuousClock.now < deadline {
      let url = PrometheusProvider.queryURL(address: address, query: #"up{job="triton"} == 1"#, time: context().now)
      if let response = try? await transport.send(HTTPRequest(method: "GET", url: url, timeout: .seconds(2))),
         case .success(.vector(let values)) = PrometheusResponse.decode(status: response.status, body: response.body), values == [1] {
        return
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    let log = (try? String(contentsOfFile: directory + "/prometheus.log", encoding: .utf8)) ?? ""
    Issue.record("Prometheus did not scrape its target within 120 s; its log:\n\(log.suffix(3000))")
    throw CancellationError()
  }

  private static func waitForPorts(_ path: String) async throws -> [Int] {
    // Generous: the whole suite starts at once on two cores, and Python's start-up waits its turn
    // (a clean-clone CI run once took more than 30 s here). A deadline for a condition, not a sleep.
    let deadline = ContinuousClock.now + .seconds(120)
    while ContinuousClock.now < deadline {
      if let text = try? String(contentsOfFile: path, encoding: .utf8) {
        let ports = text.split(separator: " ").compactMap { Int($0) }
        if ports.count == 4 { return ports }
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("the metrics target did not start within 120 s")
    throw CancellationError()
  }

  private static func launch(_ executable: String, _ arguments: [String], log: String) throws -> Process {
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try #require(FileHandle(forWritingAtPath: log))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
    return process
  }

  /// SIGKILL: the test runner's threads block SIGTERM, and a child inherits that mask; SIGKILL
  /// cannot be blocked, and neither program needs a clean shutdown (the TSDB is thrown away).
  func stop() {
    guard !stopped else { return }
    stopped = true
    for process in processes where process.processIdentifier > 0 {
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
    }
    if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
  }

  private static func program(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") + ["/usr/bin"] {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}
