#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Keeps the read-only pages of the executable and its libraries out of the resident set unless
/// they are in use.
///
/// Most of an idle operator's RSS is file-backed: pages of its own static executable (the Swift
/// runtime, NIO, BoringSSL, every protocol conformance record the runtime scans once) and of
/// libcurl's libraries, touched while the process starts and never again. Two things put them
/// there: the kernel maps up to 16 neighbouring pages on every fault of a file mapping
/// ("fault-around", `/proc/sys/vm/fault_around_bytes`, 64 KiB by default), and start-up code runs
/// once. So, on Linux:
///
/// - `adviseRandomAccess()`, at start: `madvise(MADV_RANDOM)` on every read-only file mapping, so a
///   fault maps the one page it needs (the kernel skips fault-around and read-ahead for such
///   mappings, mm/filemap.c `do_read_fault` → `should_fault_around`);
/// - `releaseIdlePages()`, once the caches are synced: `madvise(MADV_DONTNEED)` on those of them
///   that hold no private page (not the RELRO segments the loader relocated). Their pages are
///   clean and backed by their files, so nothing is lost: a page needed again is faulted back in
///   from the page cache (a minor fault, no I/O).
///
/// Writable mappings (data, BSS, heap) are never touched. Elsewhere both are no-ops.
public enum MappedFiles {
  /// The read-only, file-backed mappings of this process, from `/proc/self/smaps`.
  ///
  /// - Parameter cleanOnly: only mappings none of whose pages is a private copy. The dynamic
  ///   loader writes relocations into some read-only segments before protecting them (RELRO): those
  ///   pages exist nowhere else, and dropping them would bring back the file's unrelocated bytes.
  static func readOnlyFileMappings(cleanOnly: Bool) -> [(start: UInt, length: UInt)] {
    guard let file = fopen("/proc/self/smaps", "r") else { return [] }
    defer { fclose(file) }
    var out: [(UInt, UInt)] = []
    var current: (start: UInt, length: UInt)? = nil
    var line = [CChar](repeating: 0, count: 4096)
    func finish(anonymousKiB: Int) {
      if let c = current, !cleanOnly || anonymousKiB == 0 { out.append(c) }
      current = nil
    }
    while fgets(&line, Int32(line.count), file) != nil {
      let text = String(cString: line)
      if text.hasPrefix("Anonymous:") {
        let kib = Int(text.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 1
        finish(anonymousKiB: kib)
        continue
      }
      // A mapping's header: "start-end perms offset dev inode path". Only readable, not writable
      // mappings of a file; its Anonymous line decides.
      let fields = text.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 6, fields[0].contains("-"), fields[5].hasPrefix("/") else { continue }
      let range = fields[0].split(separator: "-")
      guard fields[1].hasPrefix("r"), !fields[1].contains("w"), range.count == 2,
            let start = UInt(range[0], radix: 16), let end = UInt(range[1], radix: 16), end > start else { continue }
      current = (start, end - start)
    }
    return out
  }

  /// Limits every later fault on a read-only file mapping to the page it needs.
  public static func adviseRandomAccess() {
    #if os(Linux)
    for m in readOnlyFileMappings(cleanOnly: false) { _ = madvise(UnsafeMutableRawPointer(bitPattern: m.start), Int(m.length), MADV_RANDOM) }
    #endif
  }

  /// Drops this process's resident pages of read-only file mappings; those in use come back.
  public static func releaseIdlePages() {
    #if os(Linux)
    for m in readOnlyFileMappings(cleanOnly: true) { _ = madvise(UnsafeMutableRawPointer(bitPattern: m.start), Int(m.length), MADV_DONTNEED) }
    #endif
  }
}
