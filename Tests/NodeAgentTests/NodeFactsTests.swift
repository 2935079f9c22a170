import EdgeMLVocabulary
import Foundation
import Testing
@testable import NodeAgent

/// One fixture tree and the exact labels and warnings the agent must produce for it.
struct TreeCase: CustomTestStringConvertible, Sendable {
  var tree: String
  var labels: [String: String]
  var warnings: [FactWarning] = []
  var testDescription: String { tree }
}

let treeCases: [TreeCase] = [
  TreeCase(tree: "orin-nx-16gb-r36.4.3", labels: [
    "edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/soc": "tegra234", "edgeml.io/gpu.arch": "sm_87",
    "edgeml.io/l4t": "36.4.3", "edgeml.io/jetpack": "6.2", "edgeml.io/tensorrt": "10.3.0", "edgeml.io/cuda": "12.6",
    "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "15388", "edgeml.io/power.mode": "MAXN", "edgeml.io/secureboot": "false",
  ]),
  TreeCase(tree: "agx-orin-64gb-r36.4.3", labels: [
    "edgeml.io/jetson.module": "agx-orin-64gb", "edgeml.io/soc": "tegra234", "edgeml.io/gpu.arch": "sm_87",
    "edgeml.io/l4t": "36.4.3", "edgeml.io/jetpack": "6.2", "edgeml.io/tensorrt": "10.3.0", "edgeml.io/cuda": "12.6",
    "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "62840", "edgeml.io/power.mode": "MODE_30W", "edgeml.io/secureboot": "true",
  ]),
  TreeCase(tree: "orin-nano-8gb-r36.4.0", labels: [
    "edgeml.io/jetson.module": "orin-nano-8gb", "edgeml.io/soc": "tegra234", "edgeml.io/gpu.arch": "sm_87",
    "edgeml.io/l4t": "36.4.0", "edgeml.io/jetpack": "6.1", "edgeml.io/tensorrt": "10.3.0", "edgeml.io/cuda": "12.6",
    "edgeml.io/dla.cores": "0", "edgeml.io/memory.mib": "7620", "edgeml.io/power.mode": "15W", "edgeml.io/secureboot": "false",
  ]),
  TreeCase(tree: "xavier-nx-8gb-r35.6.0", labels: [
    "edgeml.io/jetson.module": "xavier-nx-8gb", "edgeml.io/soc": "tegra194", "edgeml.io/gpu.arch": "sm_72",
    "edgeml.io/l4t": "35.6.0", "edgeml.io/jetpack": "5.1.4", "edgeml.io/tensorrt": "8.5.2", "edgeml.io/cuda": "11.4",
    "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "7764", "edgeml.io/secureboot": "false",
  ], warnings: [FactWarning(file: "/var/lib/nvpmodel/status", problem: "missing")]),
  TreeCase(tree: "orin-nx-16gb-r35.4.1", labels: [
    "edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/soc": "tegra234", "edgeml.io/gpu.arch": "sm_87",
    "edgeml.io/l4t": "35.4.1", "edgeml.io/jetpack": "5.1.2", "edgeml.io/tensorrt": "8.5.2", "edgeml.io/cuda": "11.4",
    "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "15388", "edgeml.io/power.mode": "15W", "edgeml.io/secureboot": "false",
  ]),
  TreeCase(tree: "broken-orin-nx-16gb", labels: [
    "edgeml.io/jetson.module": "orin-nx-16gb", "edgeml.io/tensorrt": "10.3.0", "edgeml.io/memory.mib": "15388",
    "edgeml.io/power.mode": "MAXN",
  ], warnings: [
    FactWarning(file: "/proc/device-tree/compatible", problem: "missing"),
    FactWarning(file: "/etc/nv_tegra_release", problem: "first line is not '# R<major> (release), REVISION: <minor>.<patch>, …'"),
    FactWarning(file: "/usr/local/cuda/version.json", problem: "no cuda.version or cuda_nvcc.version"),
    FactWarning(file: "/usr/local/cuda/version.txt", problem: "missing"),
    FactWarning(file: "/sys/devices/platform", problem: "no host1x device"),
    FactWarning(file: "/sys/devices/platform/tegra-fuse/odm_production_mode", problem: "not a number: 'fused'"),
  ]),
]

@Suite("Jetson facts and labels from fixture trees")
struct NodeFactsTests {
  @Test("each fixture tree yields exactly its expected edgeml.io labels and warnings", arguments: treeCases)
  func treeLabels(_ c: TreeCase) throws {
    let root = try #require(NodeAgentFixtures.root(forTree: c.tree), "fixture \(c.tree) is bundled")
    let report = NodeFacts.read(from: root)
    #expect(NodeLabels.labels(for: report.facts) == c.labels)
    #expect(report.warnings == c.warnings)
  }

  @Test("every bundled tree is covered by a test case and has a PROVENANCE.md")
  func everyTreeTested() throws {
    #expect(NodeAgentFixtures.treeNames == treeCases.map(\.tree).sorted())
    for name in NodeAgentFixtures.treeNames {
      let url = try #require(NodeAgentFixtures.url(forTree: name))
      #expect(FileManager.default.fileExists(atPath: url.appendingPathComponent("PROVENANCE.md").path), "\(name)")
    }
    #expect(NodeAgentFixtures.url(forTree: "no-such-tree") == nil)
  }

  @Test("every label value is a valid Kubernetes label value", arguments: treeCases)
  func valuesValid(_ c: TreeCase) throws {
    let root = try #require(NodeAgentFixtures.root(forTree: c.tree))
    for (key, value) in NodeLabels.labels(for: NodeFacts.read(from: root).facts) {
      #expect(key.hasPrefix("edgeml.io/"))
      #expect(NodeLabels.isValidLabelValue(value), "\(key)=\(value)")
    }
  }

  @Test("an empty root is all warnings and no labels, not a crash")
  func emptyRoot() throws {
    let dir = try TemporaryTree()
    let report = NodeFacts.read(from: dir.root)
    #expect(NodeLabels.labels(for: report.facts).isEmpty)
    #expect(Set(report.warnings.map(\.file)) == [
      "/proc/meminfo", "/proc/device-tree/compatible", "/proc/device-tree/model", "/etc/nv_tegra_release",
      "/usr/lib/aarch64-linux-gnu", "/usr/local/cuda/version.txt", "/sys/devices/platform", "/var/lib/nvpmodel/status",
      "/sys/devices/platform/tegra-fuse/odm_production_mode",
    ])
  }
}

/// A scratch root directory, removed when the value goes away.
final class TemporaryTree {
  let url: URL
  var root: HostRoot { HostRoot(url) }

  init() throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent("nodeagent-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  func write(_ hostPath: String, _ bytes: [UInt8]) throws {
    let file = root.url(hostPath)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: file)
  }

  func write(_ hostPath: String, _ text: String) throws { try write(hostPath, Array(text.utf8)) }

  deinit { try? FileManager.default.removeItem(at: url) }
}
