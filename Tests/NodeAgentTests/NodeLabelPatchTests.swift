import KubeCore
import Testing
@testable import NodeAgent

@Suite("The merge patch for a Node's labels")
struct NodeLabelPatchTests {
  @Test("only edgeml.io keys are set or removed; matching values and foreign labels stay out of the patch")
  func onlyOwnKeys() {
    let current = ["kubernetes.io/arch": "arm64", "node.edgeml.io/pool": "a", "edgeml.io/l4t": "35.4.1",
                   "edgeml.io/tensorrt": "10.3.0", "edgeml.io/old.fact": "x"]
    let patch = NodeLabelPatch(current: current, desired: ["edgeml.io/l4t": "36.4.3", "edgeml.io/tensorrt": "10.3.0", "edgeml.io/soc": "tegra234"])
    #expect(patch.assignments == ["edgeml.io/l4t": "36.4.3", "edgeml.io/soc": "tegra234"])
    #expect(patch.removals == ["edgeml.io/old.fact"])
    #expect(patch.mergePatch(resourceVersion: "42") == [
      "metadata": ["resourceVersion": "42",
                   "labels": ["edgeml.io/l4t": "36.4.3", "edgeml.io/soc": "tegra234", "edgeml.io/old.fact": .null]],
    ])
  }

  @Test("labels that already match need no patch")
  func steady() {
    let labels = ["edgeml.io/l4t": "36.4.3", "kubernetes.io/hostname": "n1"]
    #expect(NodeLabelPatch(current: labels, desired: ["edgeml.io/l4t": "36.4.3"]).isEmpty)
    #expect(!NodeLabelPatch(current: [:], desired: ["edgeml.io/l4t": "36.4.3"]).isEmpty)
  }
}
