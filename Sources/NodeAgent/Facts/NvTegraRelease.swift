import Foundation

/// The L4T release from the first line of `/etc/nv_tegra_release`.
///
/// The line reads `# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64,
/// DATE: …`. Parsed as jetson-stats does (jtop/core/jetson_variables.py `get_nvidia_l4t`: split on
/// `", "`, strip `# R` and ` (release)` from the first part, `REVISION: ` from the second) and as
/// dusty-nv/jetson-containers `l4t_version.py` does; L4T is `major.revision`, e.g. `36.4.3`.
/// Unlike Python's `lstrip`, which strips a character set, the prefixes here must match exactly.
enum NvTegraRelease {
  /// The L4T version, or nil when the first line does not have the documented shape.
  static func l4t(fromFileText text: String) -> String? {
    guard let line = text.split(separator: "\n", omittingEmptySubsequences: false).first else { return nil }
    let parts = line.components(separatedBy: ", ")
    guard parts.count >= 2, parts[0].hasPrefix("# R"), parts[0].hasSuffix(" (release)"),
          parts[1].hasPrefix("REVISION: ") else { return nil }
    let major = parts[0].dropFirst(3).dropLast(" (release)".count)
    let revision = parts[1].dropFirst("REVISION: ".count)
    let revisionFields = revision.split(separator: ".", omittingEmptySubsequences: false)
    guard isNumber(major), revisionFields.count == 2, revisionFields.allSatisfy(isNumber) else { return nil }
    return "\(major).\(revision)"
  }

  static func isNumber(_ s: Substring) -> Bool { !s.isEmpty && s.utf8.allSatisfy { (0x30...0x39).contains($0) } }
}
