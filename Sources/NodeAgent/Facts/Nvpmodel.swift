import Foundation

/// The active nvpmodel power mode: the ID in `/var/lib/nvpmodel/status`, its name in
/// `/etc/nvpmodel.conf`.
///
/// Status is one line `pmode:0002`, optionally followed by ` fmode:<fan>` (node-facts.md §4; the
/// format comes from third-party readers, jetson-stats shells out to `nvpmodel -q` instead). The conf
/// declares modes as `< POWER_MODEL ID=2 NAME=15W >` (header of NVIDIA's conf files, e.g.
/// `nvpmodel_p3767_0000.conf`).
enum Nvpmodel {
  /// The mode ID from the status file, nil when there is no `pmode:` field with digits.
  static func modeID(fromStatus text: String) -> Int? {
    for field in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) where field.hasPrefix("pmode:") {
      let digits = field.dropFirst("pmode:".count)
      guard NvTegraRelease.isNumber(digits) else { return nil }
      return Int(digits)
    }
    return nil
  }

  /// Mode ID → name for every `POWER_MODEL` line of a conf file.
  static func modeNames(fromConf text: String) -> [Int: String] {
    var names: [Int: String] = [:]
    for rawLine in text.split(separator: "\n") {
      let line = rawLine.trimmingCharacters(in: .whitespaces)
      guard line.hasPrefix("<"), line.hasSuffix(">") else { continue }
      let fields = line.dropFirst().dropLast().split(separator: " ")
      guard fields.first == "POWER_MODEL" else { continue }
      var id: Int?, name: String?
      for field in fields.dropFirst() {
        if field.hasPrefix("ID=") { id = Int(field.dropFirst(3)) }
        if field.hasPrefix("NAME=") { name = String(field.dropFirst(5)) }
      }
      if let id, let name, !name.isEmpty { names[id] = name }
    }
    return names
  }
}
