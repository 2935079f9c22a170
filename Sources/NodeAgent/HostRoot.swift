import Foundation

/// The host's root file system as the agent sees it: `/` on the node, `/host` in the DaemonSet's
/// container (hostPath mounts), or a fixture tree in tests.
///
/// Every path the agent reads is absolute on a Jetson (`/proc/device-tree/model`) and resolved
/// under `root` here, so one code path serves the node, the container and the fixtures.
public struct HostRoot: Sendable, Equatable {
  /// The directory that stands for `/`.
  public var root: URL

  public init(_ root: URL) { self.root = root }
  public init(path: String) { self.root = URL(fileURLWithPath: path, isDirectory: true) }

  /// The location of an absolute host path under `root`.
  public func url(_ hostPath: String) -> URL {
    let relative = hostPath.drop(while: { $0 == "/" })
    return relative.isEmpty ? root : root.appendingPathComponent(String(relative))
  }

  /// The bytes of a host file, nil when it is missing or unreadable.
  public func bytes(_ hostPath: String) -> [UInt8]? {
    guard let data = FileManager.default.contents(atPath: url(hostPath).path) else { return nil }
    return [UInt8](data)
  }

  /// A host file as text, nil when it is missing, unreadable or not UTF-8.
  public func text(_ hostPath: String) -> String? {
    guard let bytes = bytes(hostPath) else { return nil }
    return String(validating: bytes, as: UTF8.self)
  }

  /// A sysfs-style one-value file: the text without its trailing newline and NUL terminators
  /// (device-tree string properties end in NUL), nil when missing.
  public func value(_ hostPath: String) -> String? {
    guard let text = text(hostPath) else { return nil }
    return text.trimmingCharacters(in: CharacterSet(charactersIn: "\0").union(.whitespacesAndNewlines))
  }

  /// The names in a host directory, sorted; empty when it is missing.
  public func entries(_ hostPath: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: url(hostPath).path)) ?? []).sorted()
  }

  /// Whether a host path exists (file or directory).
  public func exists(_ hostPath: String) -> Bool { FileManager.default.fileExists(atPath: url(hostPath).path) }
}

/// A fact the agent could not read: which host file, and what was wrong with it.
///
/// The label for that fact is left out (docs/edgemodel-contracts.md §1: never guessed); the agent
/// logs a warning when it first appears (`NodeLabeler.label(…knownWarnings:)`).
public struct FactWarning: Sendable, Hashable, CustomStringConvertible {
  /// The host path (absolute on the node), e.g. `/etc/nv_tegra_release`.
  public var file: String
  /// What was wrong: missing, malformed, unknown value.
  public var problem: String

  public init(file: String, problem: String) { self.file = file; self.problem = problem }
  public var description: String { "\(file): \(problem)" }
}
