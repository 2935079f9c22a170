import Foundation
import KubeClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Finds the programs the real-server tests start (the fetchers' S3, OCI and MLflow servers, and the
/// MLflow server the operator follows aliases in): a library of the test targets only.
///
/// `scripts/setup.sh` installs moto, oras and MLflow into a venv at `EDGEML_FETCH_TOOLS`
/// (default `~/.cache/edgeml-operator/fetch-tools`), apart from the system Python, whose packages they
/// would otherwise downgrade; `docker-registry` comes from apt. A program missing from the venv is
/// looked for on `PATH`.
public enum FetchTools {
  public static var venv: String {
    let environment = ProcessInfo.processInfo.environment
    if let dir = environment["EDGEML_FETCH_TOOLS"], !dir.isEmpty { return dir }
    return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/edgeml-operator/fetch-tools"
  }

  public static func program(_ name: String) -> String? {
    let inVenv = venv + "/bin/" + name
    if FileManager.default.isExecutableFile(atPath: inVenv) { return inVenv }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// The Python that has boto3, oras and mlflow: the venv's, else `python3` on PATH.
  public static var python: String? { program("python") ?? program("python3") }

  /// A port nobody listens on now (bound to 127.0.0.1:0, read back, closed).
  public static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    try #require(bound)
    return Int(UInt16(bigEndian: address.sin_port))
  }

  public static func temporaryDirectory(_ label: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgeml-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  public static func transport() throws -> HTTPTransport { try HTTPTransport(tls: TLSSettings()) }
}

/// A server the test started, in a session of its own: its output goes to a log file, `stop()` ends
/// the whole process group (MLflow's server forks uvicorn, a job runner and its consumers).
///
/// The test runner's threads block SIGTERM and SIGINT and a spawned child inherits that mask, so the
/// server is started through a two-line Python launcher that unblocks every signal and, unless
/// Foundation already made the child a group leader, calls `setsid()` before it execs the program.
public final class ServerProcess {
  public let process = Process()
  public let log: String
  public let name: String
  private var stopped = false

  public init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], logDirectory: String) throws {
    self.name = name
    log = logDirectory + "/\(name).log"
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let handle = try #require(FileHandle(forWritingAtPath: log))
    process.executableURL = URL(fileURLWithPath: try #require(FetchTools.python))
    process.arguments = ["-c", "import os, signal, sys\nsignal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
                         + "if os.getpgid(0) != os.getpid(): os.setsid()\nos.execv(sys.argv[1], sys.argv[1:])", executable] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
  }

  /// Polls `url` until it answers `expect`, the process exits, or `seconds` pass.
  public func waitUntilReady(_ url: String, expect: Int = 200, seconds: Int = 90, transport: HTTPTransport) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
      guard process.isRunning else { break }
      if let response = try? await transport.send(HTTPRequest(method: "GET", url: url, timeout: .seconds(5))), response.status == expect {
        return
      }
      try await Task.sleep(for: .milliseconds(250))
    }
    let tail = (try? String(contentsOfFile: log, encoding: .utf8)).map { String($0.suffix(3000)) } ?? ""
    Issue.record("\(name) did not answer \(url) with \(expect) (running: \(process.isRunning)); log tail:\n\(tail)")
    throw CancellationError()
  }

  /// SIGTERM to the group, then SIGKILL to what is left after ten seconds.
  public func stop() {
    guard !stopped, process.processIdentifier > 0 else { return }
    stopped = true
    let group = -process.processIdentifier
    kill(group, SIGTERM)
    for _ in 0..<100 where process.isRunning { usleep(100_000) }
    kill(group, SIGKILL)  // the group's stragglers, and the leader if it ignored SIGTERM
    process.waitUntilExit()
  }

  deinit { stop() }
}

extension ServerProcess {
  /// Starts `mlflow server` on a free loopback port — one worker, a SQLite backend and proxied
  /// artifacts, both in `dir` — and waits for its `/health` (MLflow takes seconds to start).
  /// - Returns: the server and its tracking URL (`http://127.0.0.1:PORT`).
  public static func startMLflow(in dir: String, transport: HTTPTransport) async throws -> (ServerProcess, String) {
    let port = try FetchTools.freePort()
    let url = "http://127.0.0.1:\(port)"
    let server = try ServerProcess(
      name: "mlflow", executable: try #require(FetchTools.program("mlflow")),
      arguments: ["server", "--host", "127.0.0.1", "--port", "\(port)", "--workers", "1",
                  "--backend-store-uri", "sqlite:///\(dir)/mlflow.db", "--artifacts-destination", dir + "/artifacts"],
      environment: ["MLFLOW_DISABLE_TELEMETRY": "true"], logDirectory: dir)
    try await server.waitUntilReady(url + "/health", seconds: 120, transport: transport)
    return (server, url)
  }
}
