import EngineBuilder
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What the node's engine cache directory holds, read from the disk.
///
/// An entry is one key's files (`<key hex>.plan`, `.json`, `.used`, `.lock`: `EngineCache`'s
/// layout). Everything else in the directory — the shared `timing.cache`, build directories of
/// running builds, temporary files before their rename — counts towards the size on disk but is
/// never an entry: the agent does not remove it.
public struct CacheInventory: Sendable, Equatable {
  /// One key's files.
  public struct Entry: Sendable, Equatable {
    /// The key's 64 hex digits, as the file names carry them.
    public var keyHex: String
    /// The bytes its files take (plan, record and marks).
    public var bytes: Int
    /// When a pod last used it: the modification time of its `.used` mark (the engine sets it when
    /// it lays the plan out, the agent when it sees a pod on the node use it); for an entry without
    /// a mark (written by an engine before marks), the later of its record's and plan's.
    public var lastUsed: Date
    /// Whether the record is there: a plan without one is a build cut short, never served.
    public var isCommitted: Bool

    public init(keyHex: String, bytes: Int, lastUsed: Date, isCommitted: Bool) {
      self.keyHex = keyHex
      self.bytes = bytes
      self.lastUsed = lastUsed
      self.isCommitted = isCommitted
    }
  }

  public var entries: [Entry]
  /// Every regular file under the directory, entries and the rest.
  public var totalBytes: Int

  public init(entries: [Entry], totalBytes: Int) {
    self.entries = entries
    self.totalBytes = totalBytes
  }

  /// The file suffixes of one entry, in `EngineCache`'s layout.
  static let entrySuffixes = [".plan", ".json", ".used", ".lock"]

  /// Reads `directory`; an absent or unreadable directory is an empty cache.
  ///
  /// - Complexity: one `stat` per file under the directory.
  public static func scan(directory: String) -> CacheInventory {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    var byKey: [String: Entry] = [:]
    var marks: [String: Date] = [:]
    var total = 0
    for name in names {
      let path = "\(directory)/\(name)"
      guard let info = FileInfo(path) else { continue }
      if info.isDirectory {
        total += bytesUnder(path)
        continue
      }
      total += info.bytes
      guard let suffix = entrySuffixes.first(where: { name.hasSuffix($0) }) else { continue }
      let keyHex = String(name.dropLast(suffix.count))
      guard EngineCache.isKeyHex(Substring(keyHex)) else { continue }
      var entry = byKey[keyHex] ?? Entry(keyHex: keyHex, bytes: 0, lastUsed: .distantPast, isCommitted: false)
      entry.bytes += info.bytes
      switch suffix {
      case ".used": marks[keyHex] = info.modified
      case ".lock": break
      default: entry.lastUsed = max(entry.lastUsed, info.modified)
      }
      if suffix == ".json" { entry.isCommitted = true }
      byKey[keyHex] = entry
    }
    // A key with only a lock file (an evicted entry's, or a failed build's) or a mark left is no entry.
    let entries = byKey.values.filter { $0.lastUsed != .distantPast }.map { entry in
      var entry = entry
      if let mark = marks[entry.keyHex] { entry.lastUsed = mark }
      return entry
    }.sorted { $0.keyHex < $1.keyHex }
    return CacheInventory(entries: entries, totalBytes: total)
  }

  /// The bytes of the regular files under a directory, at any depth; symbolic links not followed.
  static func bytesUnder(_ directory: String) -> Int {
    guard let walker = FileManager.default.enumerator(atPath: directory) else { return 0 }
    var total = 0
    while let relative = walker.nextObject() as? String {
      if let info = FileInfo("\(directory)/\(relative)"), !info.isDirectory { total += info.bytes }
    }
    return total
  }
}

/// `lstat(2)` of one path: size, modification time, and whether it is a directory.
struct FileInfo {
  var bytes: Int
  var modified: Date
  var isDirectory: Bool

  init?(_ path: String) {
    var s = stat()
    guard lstat(path, &s) == 0 else { return nil }
    let kind = s.st_mode & S_IFMT
    guard kind == S_IFREG || kind == S_IFDIR else { return nil }
    bytes = kind == S_IFREG ? Int(s.st_size) : 0
    modified = Date(timeIntervalSince1970: Double(s.st_mtim.tv_sec) + Double(s.st_mtim.tv_nsec) / 1e9)
    isDirectory = kind == S_IFDIR
  }
}
