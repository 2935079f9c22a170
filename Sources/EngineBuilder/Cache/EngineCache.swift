import Foundation
import KubeCore
#if canImport(Glibc)
import Glibc
#endif

/// One key's entry in the node's engine cache (docs/edgemodel-contracts.md §2).
///
/// Files: `<dir>/<key hex>.plan`, `<dir>/<key hex>.json` (an `EngineRecord`) and
/// `<dir>/<key hex>.lock`. Both data files are written to a temporary name in the same directory
/// and renamed into place, plan first, record last.
///
/// *Guarantees*: builders of one key on one node serialise on an exclusive `flock(2)` of the lock
/// file, so the second one waits, then finds the record and reports a cache hit; the lock goes away
/// with the process, so a killed builder never leaves the key locked.
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

  public var planPath: String { "\(directory)/\(keyHex).plan" }
  public var recordPath: String { "\(directory)/\(keyHex).json" }
  public var lockPath: String { "\(directory)/\(keyHex).lock" }
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

  /// Runs `body` holding the key's exclusive lock.
  ///
  /// Waits with `LOCK_NB` polls and `Task.sleep` rather than a blocking `flock`, so a waiting build
  /// never pins a thread of the cooperative pool (this machine may have two).
  public func withLock<T: Sendable>(pollInterval: Duration = .milliseconds(100), _ body: () async throws -> T) async throws -> T {
    let fd = open(lockPath, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
      let code = errno
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: lockPath,
                                                      NSLocalizedDescriptionKey: "open \(lockPath): \(String(cString: strerror(code)))"])
    }
    defer { close(fd) }   // closing the descriptor releases the lock
    while flock(fd, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      guard code == EWOULDBLOCK || code == EINTR else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "flock \(lockPath): \(String(cString: strerror(code)))"])
      }
      try await Task.sleep(for: pollInterval)
    }
    return try await body()
  }
}
