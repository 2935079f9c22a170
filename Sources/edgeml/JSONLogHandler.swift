import Foundation
import KubeCore
import Logging

/// One JSON object per log line (`--log-format json`): time, level, logger, message and the
/// metadata as string fields — what log collectors on a cluster parse without configuration.
struct JSONLogHandler: LogHandler {
  let label: String
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]

  init(label: String) { self.label = label }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
           file: String, function: String, line: UInt) {
    var o: JSONObject = ["time": .string(Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).rfc3339),
                         "level": .string(level.rawValue), "logger": .string(label), "msg": .string(message.description)]
    for (k, v) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
      o[k] = .string("\(v)")
    }
    var bytes = JSONValue.object(o).serialized()
    bytes.append(0x0A)
    FileHandle.standardError.write(Data(bytes))
  }
}
