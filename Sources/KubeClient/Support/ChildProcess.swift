internal import CKubeClientShims
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a short-lived program and collects its standard output: what the exec credential plugin
/// needs from Foundation's `Process`, `Pipe` and `FileHandle`, which `FoundationEssentials` leaves out.
///
/// It starts the child as `Process` did on Linux: a command without a `/` runs through
/// `/usr/bin/env`, so the *child's* `PATH` (the plugin's `env` may set it) finds it; the child gets
/// its own process group, inherits standard input, writes standard error to `/dev/null`, and
/// inherits no other descriptor of ours (curl's and NIO's sockets stay in this process).
enum ChildProcess {
  /// Spawns retried because the program was busy (ETXTBSY), ever: what a test of that path reads.
  static let busyRetries = Atomic<Int>(0)

  /// Runs `command` with `arguments` in `environment`, waits for it and returns its termination
  /// status and everything it wrote to standard output. Blocks the calling thread, as `Process` with
  /// `readDataToEndOfFile()` and `waitUntilExit()` did.
  /// - Returns: `status` is the exit status, or the number of the signal that killed the child (as
  ///   `Process.terminationStatus` reports both).
  /// - Throws: `TransportError.setupFailed` when the program cannot be started.
  static func run(_ command: String, arguments: [String], environment: [String: String])
    throws(TransportError) -> (status: Int32, standardOutput: [UInt8]) {
    let path = command.contains("/") ? command : "/usr/bin/env"
    let argv = command.contains("/") ? [command] + arguments : [path, command] + arguments
    var fds: [Int32] = [-1, -1]
    // Close-on-exec, so a child another thread starts meanwhile does not hold the write end open
    // (this read would then wait for that child too).
    guard ckubeclient_pipe_cloexec(&fds) == 0 else { throw .setupFailed("exec plugin \(command) did not start: pipe: \(errorText(errno))") }
    let (readEnd, writeEnd) = (fds[0], fds[1])

    #if canImport(Darwin)
    var actions: posix_spawn_file_actions_t? = nil
    var attributes: posix_spawnattr_t? = nil
    #else
    var actions = posix_spawn_file_actions_t()
    var attributes = posix_spawnattr_t()
    #endif
    posix_spawn_file_actions_init(&actions)
    posix_spawnattr_init(&attributes)
    defer {
      posix_spawn_file_actions_destroy(&actions)
      posix_spawnattr_destroy(&attributes)
    }
    posix_spawn_file_actions_adddup2(&actions, writeEnd, STDOUT_FILENO)
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
    var flags = Int32(POSIX_SPAWN_SETPGROUP)
    #if canImport(Darwin)
    flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
    #else
    if ckubeclient_spawn_closefrom(&actions, 3) != 0 {   // musl: close what we know of
      posix_spawn_file_actions_addclose(&actions, readEnd)
      posix_spawn_file_actions_addclose(&actions, writeEnd)
    }
    #endif
    posix_spawnattr_setpgroup(&attributes, 0)
    posix_spawnattr_setflags(&attributes, Int16(flags))

    let cArguments = argv.map { strdup($0) } + [nil]
    let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { (cArguments + cEnvironment).forEach { free($0) } }
    var pid = pid_t()
    var rc = posix_spawn(&pid, path, &actions, &attributes, cArguments, cEnvironment)
    // ETXTBSY: the program was just written and some process still has it open for writing — in
    // a multithreaded writer, a child forked by another thread holds the descriptor until its own
    // exec. That lasts moments: try again for up to about a second before giving up.
    var delay: UInt32 = 1_000
    while rc == ETXTBSY, delay <= 512_000 {
      busyRetries.add(1, ordering: .relaxed)
      usleep(delay)
      delay *= 2
      rc = posix_spawn(&pid, path, &actions, &attributes, cArguments, cEnvironment)
    }
    close(writeEnd)
    guard rc == 0 else {
      close(readEnd)
      throw .setupFailed("exec plugin \(command) did not start: \(errorText(rc))")
    }

    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
      if n > 0 { output += buffer[..<n] } else if n < 0, errno == EINTR { continue } else { break }
    }
    close(readEnd)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift does not import.
    let signal = status & 0x7f
    return (signal == 0 ? (status >> 8) & 0xff : signal, output)
  }

  private static func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
