import Foundation

/// The Jetson root file-system trees bundled with the agent (`Sources/NodeAgent/Fixtures/`).
///
/// Each tree is a node as `edgeml node-agent --root` sees it, with a PROVENANCE.md citing where
/// every value comes from. Tests, EdgeSim and `edgeml demo` use them to give simulated nodes real
/// facts: `edgeml node-agent --root "$(fixture path)" --once`, or `NodeLabeler.label(node:root:…)`
/// with `NodeAgentFixtures.root(forTree:)`; `edgeml node-agent --fixture NAME` does the same.
///
/// Caveat: SwiftPM's `Bundle.module` traps when the resource bundle is not next to the executable,
/// so only tests, EdgeSim and the demo touch this type; the agent on a node never does.
public enum NodeAgentFixtures {
  /// The bundle directory holding the trees.
  public static var directory: URL? { Bundle.module.url(forResource: "Fixtures", withExtension: nil) }

  /// Tree names, sorted, e.g. `orin-nx-16gb-r36.4.3` (broken ones start with `broken-`).
  public static var treeNames: [String] {
    guard let directory else { return [] }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { name in
      var isDirectory: ObjCBool = false
      return FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path, isDirectory: &isDirectory)
        && isDirectory.boolValue
    }.sorted()
  }

  /// The root of one tree, nil when there is no tree of that name.
  public static func url(forTree name: String) -> URL? {
    guard treeNames.contains(name), let directory else { return nil }
    return directory.appendingPathComponent(name, isDirectory: true)
  }

  /// The root of one tree as a `HostRoot`, nil when there is no tree of that name.
  public static func root(forTree name: String) -> HostRoot? { url(forTree: name).map(HostRoot.init) }
}
