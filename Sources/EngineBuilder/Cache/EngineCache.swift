import Foundation
import KubeCore
#if canImport(Glibc)
import Glibc
#endif

/// One key's entry in the node's engine cache (docs/edgemodel-contracts.md §2).
///
/// Files: `<dir>/<key hex>.plan`, `<dir>/<key hex>.json` (an `EngineRecord`),
/// `<dir>/<key hex>.lock` and `<dir>/<key hex>.used` (empty; its mtime is the entry's last use).
/// Both data files are written to a temporary name in the same directory and renamed into place,
/// plan first, record last.
///
/// *Guarantees*: builders of one key on one node serialise on an exclusive `flock(2)` of the lock
/// file, so the second one waits, then finds the record and reports a cache hit; the lock goes away
/// with the process, so a killed builder never leaves the key locked. A pod taking a cached plan
/// holds a shared lock of the same file while it lays the plan out, and the node agent removes an
/// entry only under an exclusive lock it got without waiting (`tryLock()`), so it never removes a
/// plan a build writes or a pod is copying.
/// *Caveats*: `flock` locks are advisory. On NFS, Linux emulates `flock` with byte-range locks the
/// server arbitrates (nfs(5), `local_lock=none`, the default), which is what lets the nodes of a
/// group share a ReadWriteMany cache; a file system without server-side locks would not serialise
/// builders on different nodes (they would each build, and the renames keep the cache consistent).
public struct EngineCache: Sendable {
  public let directory: String
  public let keyHex: String

  public init(directory: String, keyHex: String) {
    self.directory = directory
    self.keyHex = keyHex
  }

  /// The node cache's host directory unless an EdgeModel names another (the CRD's default of
  /// `spec.engine.cache.hostPath`).
  public static let defaultHostPath = "/var/lib/edgeml/engines"

  /// Whether `text` is a key's hex part as cache file names carry it: 64 lower-case hex digits.
  public static func isKeyHex(_ text: Substring) -> Bool {
    text.utf8.count == 64 && text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
  }

  public var planPath: String { "\(directory)/\(keyHex).plan" }
  public var recordPath: String { "\(directory)/\(keyHex).json" }
  public var lockPath: String { "\(directory)/\(keyHex).lock" }
  /// Empty file whose modification time is when a pod last used the entry (`markUsed`).
  ///
  /// Access times cannot say it: Jetson root file systems are commonly mounted `noatime` or
  /// `relatime` (mount(8)), under which reading the plan leaves its atime stale.
  public var usedPath: String { "\(directory)/\(keyHex).used" }
  /// The global timing cache shared by every build on the node (`trtexec --timingCacheFile`).
  public var timingCachePath: String { "\(directory)/timing.cache" }

  /// The committed entry, if there is one whose plan is present with the recorded size.
  public func lookup() -> EngineRecord? {
    guard let data = FileManager.default.contents(atPath: recordPath),
          let value = try? JSONParser.parse([UInt8](data)),
          let record = EngineRecord(json: value),
          FileWrite.size(of: planPath) == record.sizeBytes
    else { return nil }
    return record
  }

  /// Moves a finished plan into the cache and commits its record.
  ///
  /// Plan and record reach the disk before the renames that publish them, so after a power cut
  /// neither is torn: a lost rename only loses the entry (the lookup checks the plan's size
  /// against the record), and the key names the plan, so an older plan of the same key is the
  /// same engine.
  /// - Parameter synced: the temporary plan is already on disk (a copy written durably).
  public func commit(plan temporaryPlan: String, record: EngineRecord, synced: Bool = false) throws {
    if !synced { try FileWrite.sync(temporaryPlan) }
    try EngineCache.replace(planPath, with: temporaryPlan)
    let temporaryRecord = "\(directory)/.\(keyHex).json.\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max))"
    try FileWrite.write(record.json.serialized() + [0x0A], to: temporaryRecord, durable: true)
    try EngineCache.replace(recordPath, with: temporaryRecord)
  }

  /// `rename(2)`: atomic replacement within one file system.
  static func replace(_ destination: String, with source: String) throws {
    guard rename(source, destination) == 0 else {
      let code = errno
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination,
                                                      NSLocalizedDescriptionKey: "rename to \(destination): \(String(cString: strerror(code)))"])
    }
  }

  /// Records that a pod uses the entry at `date`: sets the `.used` file's modification time,
  /// creating it if needed, with `utimensat(2)`, which `noatime` does not affect. Best effort: a
  /// failure only makes the entry look older to the node agent.
  public func markUsed(at date: Date = Date()) {
    let fd = open(usedPath, O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
    if fd >= 0 { close(fd) }
    let seconds = date.timeIntervalSince1970.rounded(.down)
    let stamp = timespec(tv_sec: Int(seconds), tv_nsec: Int((date.timeIntervalSince1970 - seconds) * 1e9))
    _ = [stamp, stamp].withUnsafeBufferPointer { utimensat(AT_FDCWD, usedPath, $0.baseAddress, 0) }
  }

  /// Runs `body` holding the key's exclusive lock if nobody holds the lock now (`LOCK_EX |
  /// LOCK_NB`); returns nil without running it otherwise.
  ///
  /// For the node agent, which must never wait on a build nor remove what a pod is reading.
  /// - Throws: when the lock file cannot be opened (a missing or read-only directory), or what
  ///   `body` throws.
  public func ifUnlocked<T>(_ body: () throws -> T) throws -> T? {
    let fd = try openLockFile()
    defer { close(fd) }   // closing the descriptor releases the lock
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return nil }
    return try body()
  }

  private func openLockFile() throws -> Int32 {
    let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      let code = errno
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: lockPath,
                                                      NSLocalizedDescriptionKey: "open \(lockPath): \(String(cString: strerror(code)))"])
    }
    return fd
  }

  /// Runs `body` holding the key's lock: exclusive for a build, `shared` for a pod taking a cached
  /// plan (many pods at once, none while a build or the node agent holds it exclusively).
  ///
  /// Waits with `LOCK_NB` polls and `Task.sleep` rather than a blocking `flock`, so a waiting build
  /// never pins a thread of the cooperative pool (this machine may have two).
  public func withLock<T: Sendable>(shared: Bool = false, pollInterval: Duration = .milliseconds(100),
                                    _ body: () async throws -> T) async throws -> T {
    let fd = try openLockFile()
    defer { close(fd) }   // closing the descriptor releases the lock
    while flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 {
      let code = errno
      guard code == EWOULDBLOCK || code == EINTR else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "flock \(lockPath): \(String(cString: strerror(code)))"])
      }
      try await Task.sleep(for: pollInterval)
    }
    return try await body()
  }
}
