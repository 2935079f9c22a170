import Foundation

/// One process's CPU time and resident memory, read from `/proc`.
///
/// What a container runtime reads from a container's cgroup (cumulative CPU, working set), EdgeSim
/// reads per process: a container is the process group of the process it started (see
/// `ContainerProcess`), so its figures are the sum over the group's processes.
struct ProcessSample: Sendable, Equatable {
  var pid: Int32
  /// The process group: the pid of the container's first process.
  var processGroup: Int32
  /// User plus system CPU time, in clock ticks (`utime` + `stime`).
  var cpuTicks: UInt64
  /// When the process started, in clock ticks after boot: with the pid, it names one process even
  /// when the pid is reused.
  var startTicks: UInt64
  /// Resident set size in bytes (`VmRSS`), EdgeSim's working set.
  var residentBytes: UInt64
}

/// Reads `ProcessSample`s from procfs (proc(5): `/proc/PID/stat`, `/proc/PID/status`).
enum ProcFS {
  /// Clock ticks per second, the unit of `utime`, `stime` and `starttime` (proc(5), `sysconf(_SC_CLK_TCK)`).
  static let ticksPerSecond: UInt64 = {
    let ticks = sysconf(Int32(_SC_CLK_TCK))
    return ticks > 0 ? UInt64(ticks) : 100
  }()

  /// The fields of `/proc/PID/stat` a sample needs: pid (1), pgrp (5), utime (14), stime (15) and
  /// starttime (22). The command name (2) is in parentheses and may itself hold spaces and
  /// parentheses, so fields are counted from the last `)`. Nil for text that is not a stat line.
  static func parseStat(_ text: String) -> (pid: Int32, processGroup: Int32, cpuTicks: UInt64, startTicks: UInt64)? {
    guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")"), open < close,
          let pid = Int32(text[..<open].trimmingCharacters(in: .whitespaces)) else { return nil }
    // After ") ": field 3 (state) is index 0, so field n is index n - 3.
    let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
    guard fields.count > 19, let group = Int32(fields[2]), let user = UInt64(fields[11]), let system = UInt64(fields[12]),
          let start = UInt64(fields[19]) else { return nil }
    return (pid, group, user + system, start)
  }

  /// `VmRSS` of `/proc/PID/status` in bytes (the kernel writes it in kB); nil without that line
  /// (a kernel thread, a zombie).
  static func residentBytes(status: String) -> UInt64? {
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      let parts = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
      guard let kB = parts.first.flatMap({ UInt64($0) }) else { return nil }
      return kB * 1024
    }
    return nil
  }

  /// Every process under `root` (`/proc`) whose process group is in `groups`, read in one pass.
  ///
  /// A process that ends while it is being read is skipped.
  /// - Complexity: O(processes on the machine): every `stat` is read; `status` only for members.
  static func samples(inGroups groups: Set<Int32>, root: String = "/proc") -> [ProcessSample] {
    guard !groups.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return [] }
    var samples: [ProcessSample] = []
    for entry in entries where entry.first?.isNumber == true {
      guard let statText = readSmallFile("\(root)/\(entry)/stat"), let stat = parseStat(statText),
            groups.contains(stat.processGroup),
            let statusText = readSmallFile("\(root)/\(entry)/status"), let resident = residentBytes(status: statusText) else { continue }
      samples.append(ProcessSample(pid: stat.pid, processGroup: stat.processGroup, cpuTicks: stat.cpuTicks,
                                   startTicks: stat.startTicks, residentBytes: resident))
    }
    return samples
  }

  /// The whole of a small file read with read(2) until end of file: procfs files report a size of 0,
  /// so nothing that trusts the size reads them.
  static func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 { return nil }
      if n == 0 { break }
      bytes += buffer[0..<n]
      if bytes.count > 1 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}
