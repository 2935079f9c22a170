import Foundation

/// Runs the `trtexec` binary and collects what it prints.
///
/// stdout and stderr go to one log file in the work directory (no pipe can fill up and stall the
/// child), which is then read back, echoed to this process's stderr for `kubectl logs`, and parsed.
struct TrtexecRunner: Sendable {
  var executable: String
  var environment: [String: String]

  struct Run: Sendable {
    var status: Int32
    var output: String
  }

  /// Asks the binary which TensorRT it is: `trtexec --help` prints the `&&&& RUNNING … [TensorRT v…]`
  /// line first and exits 0 without building (`trtexec.cpp` @v10.3.0 l.215-227; same in 8.5.2).
  func release(workDirectory: String) async throws(EngineBuildError) -> TensorRTRelease {
    let run = try await self.run(["--help"], log: "\(workDirectory)/trtexec-help.log", echo: false)
    guard let release = TrtexecOutput.release(in: run.output) else {
      throw EngineBuildError(.buildFailed, "\(executable) --help printed no '&&&& RUNNING … [TensorRT v…]' line (exit \(run.status))")
    }
    return release
  }

  func run(_ arguments: [String], log: String, echo: Bool = true) async throws(EngineBuildError) -> Run {
    guard FileManager.default.isExecutableFile(atPath: executable) else {
      throw EngineBuildError(.buildFailed, "trtexec not found or not executable at \(executable)")
    }
    guard FileManager.default.createFile(atPath: log, contents: nil), let logHandle = FileHandle(forWritingAtPath: log) else {
      throw EngineBuildError(.buildFailed, "cannot create \(log)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = logHandle
    process.standardError = logHandle
    process.standardInput = FileHandle.nullDevice
    let status: Int32
    do {
      status = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, Error>) in
        process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
        do {
          try process.run()
          BuildInterruption.track(child: process.processIdentifier)
        } catch {
          process.terminationHandler = nil
          continuation.resume(throwing: error)
        }
      }
    } catch {
      try? logHandle.close()
      throw EngineBuildError(.buildFailed, "cannot start \(executable): \(error.localizedDescription)")
    }
    BuildInterruption.untrack(child: process.processIdentifier)
    try? logHandle.close()
    let output = (FileManager.default.contents(atPath: log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    if echo { FileHandle.standardError.write(Data(output.utf8)) }
    return Run(status: status, output: output)
  }
}
