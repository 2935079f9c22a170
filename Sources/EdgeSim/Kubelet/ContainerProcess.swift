import Dispatch
import Foundation
import Synchronization

/// One container run as a process on this machine.
///
/// Waits for exit without blocking a thread (Foundation's termination handler resumes a
/// continuation); cancelling the waiting task sends SIGTERM, then SIGKILL after the grace period,
/// as a container runtime stops a container — to the process and everything it started.
struct ContainerProcess: Sendable {
  var executable: String
  var arguments: [String]
  var environment: [(String, String)]
  var workingDirectory: URL
  var logFile: URL

  struct Exit: Sendable, Equatable {
    var code: Int32
    /// The signal that ended it, if any.
    var signal: Int32?
  }

  /// Runs the process to completion; `onStart` gets its pid once it runs.
  /// - Throws: an error when it cannot be started (missing or not executable).
  func run(grace: Duration, onStart: @Sendable (Int32) -> Void = { _ in }) async throws -> Exit {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env: [String: String] = [:]
    for (k, v) in environment { env[k] = v }
    process.environment = env
    try? FileManager.default.createDirectory(at: workingDirectory, withIntermediateDirectories: true)
    process.currentDirectoryURL = workingDirectory
    try? FileManager.default.createDirectory(at: logFile.deletingLastPathComponent(), withIntermediateDirectories: true)
    FileManager.default.createFile(atPath: logFile.path, contents: nil)
    let log = try FileHandle(forWritingTo: logFile)
    defer { try? log.close() }
    process.standardOutput = log
    process.standardError = log
    process.standardInput = FileHandle.nullDevice
    let box = ExitBox()
    process.terminationHandler = { p in
      box.finish(Exit(code: p.terminationStatus, signal: p.terminationReason == .uncaughtSignal ? p.terminationStatus : nil))
    }
    try process.run()
    // Foundation starts the child as the leader of a process group of its own (posix_spawn with
    // POSIX_SPAWN_SETPGROUP), so the group stands for the container: its signals reach every
    // process the command started, as a runtime's reach every process of the container's cgroup.
    let pid = process.processIdentifier
    onStart(pid)
    let exit = await withTaskCancellationHandler {
      await box.wait()
    } onCancel: {
      kill(-pid, SIGTERM)
      // The runtime's stop timeout: SIGKILL to what is still alive after the grace period.
      let (seconds, attoseconds) = grace.components
      let delay = Double(seconds) + Double(attoseconds) / 1e18
      DispatchQueue.global().asyncAfter(deadline: .now() + delay) { kill(-pid, SIGKILL) }
    }
    // When a container's first process ends, the kernel ends the rest of its PID namespace:
    // nothing the command left behind outlives it.
    kill(-pid, SIGKILL)
    return exit
  }
}

/// The exit status, handed from Foundation's termination handler to the awaiting task.
final class ExitBox: Sendable {
  private let state = Mutex<(exit: ContainerProcess.Exit?, waiter: CheckedContinuation<ContainerProcess.Exit, Never>?)>((nil, nil))

  var isFinished: Bool { state.withLock { $0.exit != nil } }

  func finish(_ exit: ContainerProcess.Exit) {
    let waiter = state.withLock { s -> CheckedContinuation<ContainerProcess.Exit, Never>? in
      s.exit = exit
      defer { s.waiter = nil }
      return s.waiter
    }
    waiter?.resume(returning: exit)
  }

  func wait() async -> ContainerProcess.Exit {
    await withCheckedContinuation { c in
      let done = state.withLock { s -> ContainerProcess.Exit? in
        if let e = s.exit { return e }
        s.waiter = c
        return nil
      }
      if let done { c.resume(returning: done) }
    }
  }
}
