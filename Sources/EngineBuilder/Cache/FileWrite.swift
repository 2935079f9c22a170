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

  /// A copy stopped at its limit (the source grew past it, or never ends).
  struct LimitExceeded: Error { var limit: Int }

  /// Copies `source` to `destination` (created or truncated, mode 0644); with `durable`, syncs the
  /// copy before closing it. Only the bytes are copied: unlike `FileManager.copyItem`, which also
  /// reads the owner's and group's names (the passwd and group databases) and extended attributes
  /// to carry them over, which a plan in a cache or a pod's emptyDir has no use for.
  /// - Returns: the number of bytes copied.
  /// - Throws: `LimitExceeded` once more than `limit` bytes would be written.
  @discardableResult
  static func copy(from source: String, to destination: String, durable: Bool, limit: Int = .max) throws -> Int {
    let input = open(source, O_RDONLY | O_CLOEXEC)
    guard input >= 0 else { throw failure("open", source) }
    defer { close(input) }
    let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard output >= 0 else { throw failure("open", destination) }
    defer { close(output) }
    // Left uninitialized: only the pages a read fills are touched (a small plan touches a few).
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
    defer { buffer.deallocate() }
    var total = 0
    while true {
      let n = read(input, buffer.baseAddress!, buffer.count)
      if n < 0 {
        if errno == EINTR { continue }
        throw failure("read", source)
      }
      if n == 0 { break }
      if total + n > limit { throw LimitExceeded(limit: limit) }
      var offset = 0
      while offset < n {
        let m = posixWrite(output, buffer.baseAddress! + offset, n - offset)
        if m < 0 {
          if errno == EINTR { continue }
          throw failure("write", destination)
        }
        if m == 0 { throw failure("write (no progress)", destination) }
        offset += m
      }
      total += n
    }
    if durable, fsync(output) != 0 { throw failure("fsync", destination) }
    return total
  }

  /// A regular file's size in bytes, nil when there is no such file (`stat(2)`, without
  /// `FileManager.attributesOfItem`'s owner and group name look-ups).
  static func size(of path: String) -> Int? {
    var info = stat()
    guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int(info.st_size)
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
    // A full disk is the node's, not a bug of ours: say so in words an operator acts on.
    let cause = code == ENOSPC ? "the node's disk is full (no space left on device)" : String(cString: strerror(code))
    return CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path,
                                                    NSLocalizedDescriptionKey: "\(call) \(path): \(cause)"])
  }
}
