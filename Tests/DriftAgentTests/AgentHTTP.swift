import DriftAgent
import DriftStatistics
import Foundation
import Synchronization

/// A drift agent on a free loopback port with a clock the test moves.
struct AgentFixture {
  let store: SummaryStore
  let server: DriftAgentServer
  let clock: TestClock

  static func run(_ configuration: AgentConfiguration, start: Double = 1_800_000_000,
                  _ body: (AgentFixture) async throws -> Void) async throws {
    let clock = TestClock(start)
    let store = SummaryStore(configuration: configuration)
    let server = try await DriftAgentServer(store: store, host: "127.0.0.1", port: 0, source: "detector-0",
                                            clock: { clock.now })
    let fixture = AgentFixture(store: store, server: server, clock: clock)
    do { try await body(fixture) } catch {
      await server.shutdown()
      throw error
    }
    await server.shutdown()
  }

  func post(_ body: String) throws -> (Int, String) { try http("POST", "/v1/observations", body: Array(body.utf8)) }
  func post(bytes: [UInt8]) throws -> (Int, String) { try http("POST", "/v1/observations", body: bytes) }
  func get(_ path: String) throws -> (Int, String) { try http("GET", path, body: nil) }

  /// One HTTP/1.1 request over a POSIX socket (Connection: close): status and body.
  func http(_ method: String, _ path: String, body: [UInt8]?) throws -> (Int, String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw AgentTestError("socket") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(server.port).bigEndian)
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else { throw AgentTestError("connect") }
    var request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".utf8)
    if let body { request += Array("Content-Type: application/json\r\nContent-Length: \(body.count)\r\n".utf8) }
    request += Array("\r\n".utf8)
    if let body { request += body }
    var sent = 0
    while sent < request.count {
      let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if n <= 0 { break }   // the server may answer 413 and close before reading everything
      sent += n
    }
    var data = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n <= 0 { break }
      data += buffer[0..<n]
    }
    let text = String(decoding: data, as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    let payload = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    return (status, payload)
  }

  /// `GET /v1/summaries` decoded.
  func summaries(since: Double? = nil, until: Double? = nil) throws -> DriftSummaryReport {
    var query: [String] = []
    if let since { query.append("since=\(Int(since))") }
    if let until { query.append("until=\(Int(until))") }
    let (status, body) = try get("/v1/summaries" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
    guard status == 200 else { throw AgentTestError("summaries: \(status) \(body)") }
    return try JSONDecoder().decode(DriftSummaryReport.self, from: Data(body.utf8))
  }

  /// One metric's value from `/metrics` (labels as written, e.g. `{feature="brightness"}`).
  func metric(_ series: String) throws -> Double? {
    let (_, text) = try get("/metrics")
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
      return Double(line.dropFirst(series.count + 1))
    }
    return nil
  }
}

final class TestClock: Sendable {
  private let seconds: Mutex<Double>
  init(_ start: Double) { seconds = Mutex(start) }
  var now: Double { seconds.withLock { $0 } }
  func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

struct AgentTestError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}
