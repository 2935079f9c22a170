import Foundation

#if canImport(Glibc)
import Glibc
private let posixWrite = Glibc.write
#elseif canImport(Musl)
import Musl
private let posixWrite = Musl.write
#endif

/// Whole-file writes with the durability each file needs.
///
/// Foundation's `Data.write(to:)` and `String.write(toFile:)` fsync every file they write
/// (swift-foundation's `writeToFileNoAux`), whatever it is. The node's engine cache must survive a
/// power cut, so its files are synced before the rename that publishes them: a published plan or
/// record is never torn (a rename that did not reach the disk only loses the entry, and the next
/// pod builds or copies it again). The pod's own files — the
/// termination message and the model repository in an emptyDir — vanish with the pod anyway, and
/// are written without a sync.
enum FileWrite {
  /// Creates or truncates `path` and writes `bytes`; with `durable`, syncs them before closing.
  static func write(_ bytes: [UInt8], to path: String, durable: Bool) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure("open", path) }
    defer { close(fd) }
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { posixWrite(fd, $0.baseAddress! + offset, bytes.count - offset) }
      if n < 0 {
        if errno == EINTR { continue }
        throw failure("write", path)
      }
      if n == 0 { throw failure("write (no progress)", path) }
      offset += n
    }
    if durable, fsync(fd) != 0 { throw failure("fsync", path) }
  }

  /// Syncs an existing file's data to disk (a plan about to be renamed into the cache).
  static func sync(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw failure("open", path) }
    defer { close(fd) }
    if fsync(fd) != 0 { throw failure("fsync", path) }
  }

  private static func failure(_ call: String, _ path: String) -> CocoaError {
    let code = errno
    return CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                    NSLocalizedDescriptionKey: "\(call) \(path): \(String(cString: strerror(code)))"])
  }
}
