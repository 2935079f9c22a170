import Foundation
import KubeClient

/// The demo's MLflow tracking server: `mlflow server` on loopback (one worker, SQLite, proxied
/// artifacts under the demo's directory) when `mlflow` is installed, so the retrained model is
/// registered there and reaches the devices as `mlflow://detector/N` (docs/mlflow.md).
///
/// It starts at the beginning of the demo (MLflow takes seconds to start) and is waited for only
/// when the drift act needs it. Its process group is ended with the demo: MLflow's server forks
/// uvicorn workers and job runners of its own.
final class DemoMLflow {
  let process: Process
  private var stopped = false
  let url: String
  let log: String

  /// `mlflow` on PATH, else where scripts/setup.sh installs it (`$EDGEML_FETCH_TOOLS`, or
  /// ~/.cache/edgeml-operator/fetch-tools, a venv of its own).
  static func program() -> String? {
    let env = ProcessInfo.processInfo.environment
    var candidates = (env["PATH"] ?? "").split(separator: ":").map { "\($0)/mlflow" }
    let tools = env["EDGEML_FETCH_TOOLS"] ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/edgeml-operator/fetch-tools")
    candidates.append("\(tools)/bin/mlflow")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// A Python to launch it with: the one beside `mlflow` (its venv), else python3 on PATH.
  static func python(beside program: String) -> String? {
    let env = ProcessInfo.processInfo.environment
    let candidates = [(program as NSString).deletingLastPathComponent + "/python"]
      + (env["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// Starts the server; nil (and why) when mlflow is not installed or cannot start.
  static func start(in directory: URL) -> (server: DemoMLflow?, why: String) {
    guard let program = program() else {
      return (nil, "mlflow is not installed (scripts/setup.sh installs it into ~/.cache/edgeml-operator/fetch-tools)")
    }
    guard let python = python(beside: program) else { return (nil, "no python3 to start \(program) with") }
    do {
      return (try DemoMLflow(program: program, python: python, directory: directory), program)
    } catch {
      return (nil, "mlflow server did not start: \(error)")
    }
  }

  init(program: String, python: String, directory: URL) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    var address = sockaddr_in()
    // A free loopback port, as the kernel picks it.
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw MLflowTrackingError("no free loopback port") }
    let port = Int(UInt16(bigEndian: address.sin_port))
    url = "http://127.0.0.1:\(port)"
    log = directory.appendingPathComponent("mlflow.log").path
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    guard let handle = FileHandle(forWritingAtPath: log) else { throw MLflowTrackingError("cannot write \(log)") }
    process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    // A session of its own with no signal blocked, so that stop() ends every process it forks.
    process.arguments = ["-c", "import os, signal, sys\nsignal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
                         + "if os.getpgid(0) != os.getpid(): os.setsid()\nos.execv(sys.argv[1], sys.argv[1:])", program,
                         "server", "--host", "127.0.0.1", "--port", "\(port)", "--workers", "1",
                         "--backend-store-uri", "sqlite:///\(directory.path)/mlflow.db",
                         "--artifacts-destination", directory.appendingPathComponent("artifacts").path]
    process.environment = ProcessInfo.processInfo.environment.merging(["MLFLOW_DISABLE_TELEMETRY": "true"]) { $1 }
    process.standardOutput = handle
    process.standardError = handle
    try process.run()
  }

  /// Waits for `GET /health` to answer 200, the process to exit, or `seconds` to pass.
  func waitUntilReady(seconds: Double) async -> Bool {
    guard let transport = try? HTTPTransport(tls: TLSSettings()) else { return false }
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline, process.isRunning {
      if let r = try? await transport.send(HTTPRequest(method: "GET", url: url + "/health", timeout: .seconds(5))), r.status == 200 { return true }
      try? await Task.sleep(for: .milliseconds(250))
    }
    return false
  }

  /// SIGTERM to its process group, then SIGKILL to what is left after five seconds.
  func stop() {
    guard !stopped, process.processIdentifier > 0 else { return }
    stopped = true
    let group = -process.processIdentifier
    kill(group, SIGTERM)
    for _ in 0..<50 where process.isRunning { usleep(100_000) }
    kill(group, SIGKILL)
    if process.isRunning { process.waitUntilExit() }
  }
}
