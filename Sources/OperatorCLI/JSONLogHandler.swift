#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KubeCore
import Logging

/// One JSON object per log line (`--log-format json`): time, level, logger, message and the
/// metadata as string fields — what log collectors on a cluster parse without configuration.
public struct JSONLogHandler: LogHandler {
  public let label: String
  public var logLevel: Logger.Level = .info
  public var metadata: Logger.Metadata = [:]

  public init(label: String) { self.label = label }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                  file: String, function: String, line: UInt) {
    let bytes = renderLine(level: level, message: message, metadata: explicit, time: Date())
    // One write(2) per line, as FileHandle.standardError.write did (FoundationEssentials has no FileHandle).
    bytes.withUnsafeBytes { line in
      guard let start = line.baseAddress else { return }
      var written = 0
      while written < line.count {
        let n = write(STDERR_FILENO, start + written, line.count - written)
        if n > 0 { written += n } else if n < 0, errno == EINTR { continue } else { return }
      }
    }
  }

  /// One log line: a JSON object with `time`, `level`, `logger`, `msg` and the metadata (the
  /// logger's, overridden by the call's) as string fields in key order, ending in a newline.
  /// Newlines inside values are escaped, so a line is always one record.
  public func renderLine(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, time: Date) -> [UInt8] {
    var o: JSONObject = ["time": .string(Timestamp(secondsSinceEpoch: Int64(time.timeIntervalSince1970.rounded(.down))).rfc3339),
                         "level": .string(level.rawValue), "logger": .string(label), "msg": .string(message.description)]
    for (k, v) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
      o[k] = .string("\(v)")
    }
    var bytes = JSONValue.object(o).serialized()
    bytes.append(0x0A)
    return bytes
  }
}
