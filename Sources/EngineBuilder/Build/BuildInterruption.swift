import Dispatch
import Foundation
import Synchronization

/// What a stopped init container must not leave behind.
///
/// The kubelet stops a container with SIGTERM, then SIGKILL after the grace period (30 s by default;
/// "Termination of Pods", kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle). A build stopped
/// there — its pod deleted, the node drained — would otherwise leave in the node's engine cache the
/// fetched model, a decrypted copy of it (a secret, in plain text) and a half-written plan, until a
/// later build of the same key happened to clean up; and `trtexec` would go on building for nobody.
/// So the builder tracks its scratch paths and its `trtexec` child, and on SIGTERM or SIGINT stops
/// the child (SIGKILL: its output is thrown away), removes the paths, reports the interruption in
/// the termination message and exits 128 + the signal, as a shell reports a signalled program.
/// Locks are `flock`s: the kernel releases them when the process exits.
public enum BuildInterruption {
  private struct State {
    var paths: Set<String> = []
    var children: Set<Int32> = []
    var signal: Int32?
  }
  private static let state = Mutex(State())
  // Dispatch sources must stay alive to keep delivering; written by `install`, once per process.
  nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

  static func track(path: String) {
    state.withLock { _ = $0.paths.insert(path) }
  }

  static func untrack(path: String) {
    state.withLock { _ = $0.paths.remove(path) }
  }

  /// Tracks a started child; one started after the signal is stopped at once.
  static func track(child pid: Int32) {
    let stopped = state.withLock { state -> Bool in
      if state.signal != nil { return true }
      state.children.insert(pid)
      return false
    }
    if stopped { kill(pid, SIGKILL) }
  }

  static func untrack(child pid: Int32) {
    state.withLock { _ = $0.children.remove(pid) }
  }

  /// Whether a signal has stopped the build.
  public static var isInterrupted: Bool { state.withLock { $0.signal != nil } }

  /// Never returns once the build is interrupted: the signal's handler is stopping the process,
  /// and the build must not race it to an exit of its own. (Its trtexec killed and its files
  /// removed under it, the build would otherwise report a failed build and exit 1 before the
  /// handler exits 143 with the interruption reported, as a loaded machine showed.)
  public static func parkIfInterrupted() async {
    while isInterrupted { try? await Task.sleep(for: .seconds(60)) }
  }

  /// Stops every tracked child and removes every tracked path; says how many of each.
  @discardableResult
  public static func stopAndRemove(signal: Int32) -> (children: Int, paths: Int) {
    let (children, paths) = state.withLock { state in
      state.signal = signal
      defer { state.children = []; state.paths = [] }
      return (state.children, state.paths)
    }
    for pid in children { kill(pid, SIGKILL) }
    for path in paths { try? FileManager.default.removeItem(atPath: path) }
    return (children.count, paths.count)
  }

  /// On SIGTERM and SIGINT: `stopAndRemove`, then `report(signal)` (the termination message),
  /// then exit with 128 + the signal.
  public static func install(report: @escaping @Sendable (Int32) -> Void) {
    var made: [DispatchSourceSignal] = []
    for sig in [SIGTERM, SIGINT] {
      signal(sig, SIG_IGN)   // delivered to the source, not to the default action
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler {
        stopAndRemove(signal: sig)
        report(sig)
        exit(128 + sig)
      }
      source.resume()
      made.append(source)
    }
    sources += made
  }
}
