import Foundation
import KubeCore
import NIOConcurrencyHelpers

/// What the API server asks of the kubelet of a pod's node. kube-apiserver proxies `pods/log` to
/// the kubelet's `/containerLogs` (pkg/registry/core/pod/rest/log.go, `LogLocation` in
/// pkg/registry/core/pod/strategy.go); the emulator has no kubelet of its own, so whoever runs the
/// pods (EdgeSim) registers one with `APIServer.setKubeletConnection`.
public protocol KubeletConnection: Sendable {
  /// The log of one container of `pod` (its stored object; the container name already checked).
  /// - Throws: `KubeletError` with the kubelet's message when there is no such log (a container
  ///   that has not started, no previous instance); the API server answers 400 with it.
  func containerLog(pod: JSONValue, container: String, options: ContainerLogOptions) throws(KubeletError) -> ResponseStream

  /// The process `command` becomes in the sandbox of `container` of `pod` (`pods/exec`).
  /// - Throws: `KubeletError` when the container cannot run it (not running, or simulated).
  func exec(pod: JSONValue, container: String, command: [String]) throws(KubeletError) -> ExecCommand
}

/// A process to start for `pods/exec`, in a container's sandbox.
public struct ExecCommand: Sendable, Equatable {
  public var executable: String
  public var arguments: [String]
  public var environment: [String: String]
  public var workingDirectory: String
  /// The command as the client sent it, for messages.
  public var command: [String]
  public init(executable: String, arguments: [String], environment: [String: String], workingDirectory: String, command: [String]) {
    self.executable = executable; self.arguments = arguments; self.environment = environment
    self.workingDirectory = workingDirectory; self.command = command
  }
}

/// The `pods/log` query parameters the kubelet applies (k8s.io/api core/v1 `PodLogOptions`).
public struct ContainerLogOptions: Sendable, Equatable {
  public var follow = false
  public var previous = false
  /// The last N lines only.
  public var tailLines: Int?
  /// At most this many bytes, from the start of what would be sent.
  public var limitBytes: Int?
  public init(follow: Bool = false, previous: Bool = false, tailLines: Int? = nil, limitBytes: Int? = nil) {
    self.follow = follow; self.previous = previous; self.tailLines = tailLines; self.limitBytes = limitBytes
  }
}

/// A refusal by the kubelet, in its words.
public struct KubeletError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  /// The HTTP status the API server answers with (400 Bad Request unless said otherwise).
  public var code: Int
  public init(_ message: String, code: Int = 400) { self.message = message; self.code = code }
  public var description: String { message }
}

/// A response body written a piece at a time (a followed log), streamed as chunked HTTP.
///
/// The producer calls `write` and `finish` from any thread; bytes written before the HTTP layer
/// attaches are kept until it does. The consumer's `cancel` (the client went away) runs the
/// producer's `onCancel` so it stops.
public final class ResponseStream: Sendable {
  public enum Chunk: Sendable { case data([UInt8]), end }
  private struct State {
    var pending: [Chunk] = []
    var sink: (@Sendable (Chunk) -> Void)?
    var finished = false
    var cancelled = false
    var onCancel: (@Sendable () -> Void)?
  }
  private let state = NIOLockedValueBox(State())
  public let contentType: String

  public init(contentType: String = "text/plain") { self.contentType = contentType }

  /// A stream that holds `bytes` and ends.
  public static func complete(_ bytes: [UInt8], contentType: String = "text/plain") -> ResponseStream {
    let s = ResponseStream(contentType: contentType)
    if !bytes.isEmpty { s.write(bytes) }
    s.finish()
    return s
  }

  public var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

  public func write(_ bytes: [UInt8]) { deliver(.data(bytes)) }
  public func finish() { deliver(.end) }

  /// Runs `handler` when the consumer cancels (at once if it already has).
  public func onCancel(_ handler: @escaping @Sendable () -> Void) {
    let now = state.withLockedValue { s -> Bool in
      if s.cancelled { return true }
      s.onCancel = handler
      return false
    }
    if now { handler() }
  }

  private func deliver(_ chunk: Chunk) {
    let sink = state.withLockedValue { s -> (@Sendable (Chunk) -> Void)? in
      if s.finished || s.cancelled { return nil }
      if case .end = chunk { s.finished = true }
      if s.sink == nil { s.pending.append(chunk) }
      return s.sink
    }
    sink?(chunk)
  }

  /// Hands every chunk, those already written first, to `sink` (the HTTP layer).
  func attach(_ sink: @escaping @Sendable (Chunk) -> Void) {
    let pending = state.withLockedValue { s -> [Chunk] in
      s.sink = sink
      defer { s.pending = [] }
      return s.pending
    }
    for chunk in pending { sink(chunk) }
  }

  /// Every chunk written so far, ended or not (in-process callers and tests).
  public func collected() -> (bytes: [UInt8], finished: Bool) {
    state.withLockedValue { s in
      var out: [UInt8] = []
      for case .data(let d) in s.pending { out += d }
      return (out, s.finished)
    }
  }

  func cancel() {
    let handler = state.withLockedValue { s -> (@Sendable () -> Void)? in
      s.cancelled = true
      defer { s.onCancel = nil }
      return s.onCancel
    }
    handler?()
  }
}
