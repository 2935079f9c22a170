import Foundation
import Testing
import TestServers

/// The fetcher tests' fixture script (`fetch_fixtures.py`), run with the venv's Python.
extension FetchTools {
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

}
