import Foundation
import KubeCore
import NIOCore
import NIOWebSocket

/// Runs one `pods/exec` process behind a WebSocket speaking Kubernetes' channel protocol, as the
/// kubelet's streaming server does for kubectl and the Python client's `stream`
/// (k8s.io/apimachinery pkg/util/remotecommand/constants.go; k8s.io/apiserver pkg/util/wsstream/conn.go).
///
/// Every binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the final
/// `Status`, 4 terminal resize; `v5.channel.k8s.io` adds 255, "close this channel", with which a
/// client ends stdin. The status is upstream's: `Success`, or `Failure` with reason
/// `NonZeroExitCode` and the exit code as an `ExitCode` cause (pkg/kubelet/cri/streaming/remotecommand/httpstream.go
/// `v4WriteStatusFunc`, exec.go `ServeExec`), which kubectl turns into its own exit code.
///
/// *Caveats*: no terminal: `tty` is accepted but the process gets pipes, and resize messages are ignored.
final class ExecWebSocketHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = WebSocketFrame
  typealias OutboundOut = WebSocketFrame

  /// The subprotocols served, the newer first (a client lists what it speaks, in its order of preference).
  static let subprotocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
  enum StreamChannel: UInt8 { case stdin = 0, stdout = 1, stderr = 2, error = 3, resize = 4, close = 255 }

  private let exec: ExecRequest
  private let subprotocol: String
  private var process: Process?
  private var stdinHandle: FileHandle?
  /// Output streams still open and whether the process has ended; the status goes once all are done.
  private var openStreams = 0
  private var exitCode: Int32?
  private var finished = false

  init(exec: ExecRequest, subprotocol: String) {
    self.exec = exec
    self.subprotocol = subprotocol
  }

  /// The subprotocol to answer with: the first the client offers that is served, or nil.
  static func chooseSubprotocol(_ offered: [String]) -> String? {
    offered.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
      .first { subprotocols.contains($0) }
  }

  func handlerAdded(context: ChannelHandlerContext) {
    let loop = context.eventLoop
    let bound = NIOLoopBound((self, context), eventLoop: loop)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: exec.command.executable)
    process.arguments = exec.command.arguments
    process.environment = exec.command.environment
    process.currentDirectoryURL = URL(fileURLWithPath: exec.command.workingDirectory)
    var pipes: [(Pipe, StreamChannel)] = []
    for (wanted, channel) in [(exec.stdout, StreamChannel.stdout), (exec.stderr, .stderr)] {
      guard wanted else { continue }
      let pipe = Pipe()
      pipes.append((pipe, channel))
      if channel == .stdout { process.standardOutput = pipe } else { process.standardError = pipe }
    }
    if !exec.stdout { process.standardOutput = FileHandle.nullDevice }
    if !exec.stderr { process.standardError = FileHandle.nullDevice }
    if exec.stdin {
      let pipe = Pipe()
      process.standardInput = pipe
      stdinHandle = pipe.fileHandleForWriting
    } else {
      process.standardInput = FileHandle.nullDevice
    }
    openStreams = pipes.count
    // The kubelet's first message: an empty one on the lowest output channel, telling the client
    // the streams are set up (pkg/kubelet/cri/streaming/remotecommand/websocket.go).
    send(context: context, channel: pipes.first?.1 ?? .error, [])
    process.terminationHandler = { p in
      let code = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
      loop.execute {
        let (handler, ctx) = bound.value
        handler.exitCode = code
        handler.finishIfDone(context: ctx)
      }
    }
    do {
      try process.run()
      self.process = process
    } catch {
      openStreams = 0
      finish(context: context, status: Self.failure(message: "failed to start \(exec.command.executable): \(error)", reason: "InternalError", exitCode: nil))
      return
    }
    // Each output is read to its end on a thread of its own (blocking reads: an end of file is
    // never missed, as it can be between two readability callbacks), and handed to the event loop.
    for (pipe, channel) in pipes {
      let handle = pipe.fileHandleForReading
      Thread.detachNewThread {
        while let data = try? handle.read(upToCount: 64 * 1024), !data.isEmpty {
          loop.execute {
            let (handler, ctx) = bound.value
            handler.send(context: ctx, channel: channel, Array(data))
          }
        }
        try? handle.close()
        loop.execute {
          let (handler, ctx) = bound.value
          handler.openStreams -= 1
          handler.finishIfDone(context: ctx)
        }
      }
    }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let frame = unwrapInboundIn(data)
    switch frame.opcode {
    case .binary:
      var payload = frame.unmaskedData
      guard let first = payload.readInteger(as: UInt8.self), let channel = StreamChannel(rawValue: first) else { return }
      switch channel {
      case .stdin:
        if let bytes = payload.readBytes(length: payload.readableBytes), !bytes.isEmpty { try? stdinHandle?.write(contentsOf: Data(bytes)) }
      case .close where subprotocol == "v5.channel.k8s.io":
        if payload.readInteger(as: UInt8.self) == StreamChannel.stdin.rawValue { closeStdin() }
      default:
        break   // resize: no terminal here
      }
    case .ping:
      context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
    case .connectionClose:
      // The client is gone: stop the process as the runtime does when the stream ends.
      closeStdin()
      if let process, process.isRunning { process.terminate() }
      if !finished {
        finished = true
        var code = context.channel.allocator.buffer(capacity: 2)
        code.write(webSocketErrorCode: .normalClosure)
        let done = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
        let channel = context.channel
        done.whenComplete { _ in channel.close(promise: nil) }
      }
    default:
      break
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    closeStdin()
    if let process, process.isRunning { process.terminate() }
    context.fireChannelInactive()
  }

  private func closeStdin() {
    try? stdinHandle?.close()
    stdinHandle = nil
  }

  private func send(context: ChannelHandlerContext, channel: StreamChannel, _ bytes: [UInt8]) {
    guard !finished else { return }
    var buffer = context.channel.allocator.buffer(capacity: bytes.count + 1)
    buffer.writeInteger(channel.rawValue)
    buffer.writeBytes(bytes)
    context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .binary, data: buffer)), promise: nil)
  }

  private func finishIfDone(context: ChannelHandlerContext) {
    guard openStreams == 0, let code = exitCode else { return }
    if code == 0 {
      finish(context: context, status: ["metadata": [:], "status": "Success"])
    } else {
      let command = "[\(exec.command.command.joined(separator: " "))]"
      finish(context: context, status: Self.failure(message: "command terminated with non-zero exit code: error executing command \(command), exit code \(code)",
                                                    reason: "NonZeroExitCode", exitCode: code))
    }
  }

  static func failure(message: String, reason: String, exitCode: Int32?) -> JSONValue {
    var status: JSONValue = ["metadata": [:], "status": "Failure", "message": .string(message), "reason": .string(reason)]
    if let exitCode { status["details"] = ["causes": [["reason": "ExitCode", "message": .string(String(exitCode))]]] }
    return status
  }

  /// Sends the final status, then closes the WebSocket and the connection.
  private func finish(context: ChannelHandlerContext, status: JSONValue) {
    guard !finished else { return }
    send(context: context, channel: .error, status.serialized())
    finished = true
    closeStdin()
    var code = context.channel.allocator.buffer(capacity: 2)
    code.write(webSocketErrorCode: .normalClosure)
    let done = context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: code)))
    let channel = context.channel
    done.whenComplete { _ in channel.close(promise: nil) }
  }
}
