import Foundation
import KubeClient
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Finds the programs the real-server fetcher tests start.
///
/// `scripts/setup.sh` installs moto, oras and MLflow into a venv at `EDGEML_FETCH_TOOLS`
/// (default `~/.cache/edgeml-operator/fetch-tools`), apart from the system Python, whose packages they
/// would otherwise downgrade; `docker-registry` comes from apt. A program missing from the venv is
/// looked for on `PATH`.
enum FetchTools {
  static var venv: String {
    let environment = ProcessInfo.processInfo.environment
    if let dir = environment["EDGEML_FETCH_TOOLS"], !dir.isEmpty { return dir }
    return (environment["HOME"] ?? NSHomeDirectory()) + "/.cache/edgeml-operator/fetch-tools"
  }

  static func program(_ name: String) -> String? {
    let inVenv = venv + "/bin/" + name
    if FileManager.default.isExecutableFile(atPath: inVenv) { return inVenv }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }

  /// The Python that has boto3, oras and mlflow: the venv's, else `python3` on PATH.
  static var python: String? { program("python") ?? program("python3") }

  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("fetch_fixtures.py").path

  /// Runs `fetch_fixtures.py` and decodes the JSON object it prints.
  ///
  /// Waits for the script with a termination handler, not `waitUntilExit`: registering a model in
  /// MLflow takes seconds, and a blocked thread of the cooperative pool (two on this machine)
  /// would stall every other test running alongside.
  static func runFixture(_ arguments: [String]) async throws -> [String: Any] {
    let python = try #require(python)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [fixtures] + arguments
    let id = UUID().uuidString
    let outLog = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-fixture-\(id).out")
    let errorLog = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-fixture-\(id).log")
    _ = FileManager.default.createFile(atPath: outLog.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorLog.path, contents: nil)
    defer {
      try? FileManager.default.removeItem(at: outLog)
      try? FileManager.default.removeItem(at: errorLog)
    }
    process.standardOutput = try FileHandle(forWritingTo: outLog)
    process.standardError = try FileHandle(forWritingTo: errorLog)  // files, so a chatty script cannot fill a pipe
    let status = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int32, Error>) in
      process.terminationHandler = { c.resume(returning: $0.terminationStatus) }
      do { try process.run() } catch { process.terminationHandler = nil; c.resume(throwing: error) }
    }
    let output = (try? Data(contentsOf: outLog)) ?? Data()
    let errors = (try? Data(contentsOf: errorLog)) ?? Data()
    guard status == 0 else {
      Issue.record("fetch_fixtures.py \(arguments.first ?? "") failed: \(String(decoding: errors.suffix(4000), as: UTF8.self))")
      throw CancellationError()
    }
    let lastLine = String(decoding: output, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    return try #require(try JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any])
  }

  /// A port nobody listens on now (bound to 127.0.0.1:0, read back, closed).
  static func freePort() throws -> Int {
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

  static func temporaryDirectory(_ label: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("edgeml-\(label)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  static func transport() throws -> HTTPTransport { try HTTPTransport(tls: TLSSettings()) }
}

/// A server the test started, in a session of its own: its output goes to a log file, `stop()` ends
/// the whole process group (MLflow's server forks uvicorn, a job runner and its consumers).
///
/// The test runner's threads block SIGTERM and SIGINT and a spawned child inherits that mask, so the
/// server is started through a two-line Python launcher that unblocks every signal and, unless
/// Foundation already made the child a group leader, calls `setsid()` before it execs the program.
final class ServerProcess {
  let process = Process()
  let log: String
  let name: String
  private var stopped = false

  init(name: String, executable: String, arguments: [String], environment: [String: String] = [:], logDirectory: String) throws {
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
  func waitUntilReady(_ url: String, expect: Int = 200, seconds: Int = 90, transport: HTTPTransport) async throws {
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
  func stop() {
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
