import KubeCore
import Testing
import YAML
@testable import ManifestTools

let diffNow = Timestamp(secondsSinceEpoch: 1_767_225_600)   // 2026-01-01T00:00:00Z

@Suite("edgeml diff")
struct ManifestDiffTests {
  static func node(_ name: String, module: String, l4t: String = "36.3.0") -> JSONValue {
    ["apiVersion": "v1", "kind": "Node",
     "metadata": ["name": .string(name), "labels": ["edgeml.io/jetson.module": .string(module), "edgeml.io/l4t": .string(l4t),
                                                    "edgeml.io/tensorrt": "10.3.0", "edgeml.io/gpu.arch": "sm_87",
                                                    "edgeml.io/memory.mib": "15600"]],
     "status": ["conditions": [["type": "Ready", "status": "True"]], "allocatable": ["nvidia.com/gpu": "1"]]]
  }

  static func stored(_ text: String) throws -> [JSONValue] {
    let (documents, _) = ManifestReader.parse(text, file: "m.yaml")
    let (findings, stored) = try ManifestValidator(crds: sharedValidatorCRDs).validateKeepingObjects(documents)
    #expect(findings.allSatisfy { $0.verdict == .valid })
    return stored
  }

  @Test("with eligible nodes the plan is a Deployment per node group, its disruption budget and a Service, the engine built by an init container")
  func withNodes() throws {
    let nodes = [Self.node("orin-a", module: "orin-nx-16gb"), Self.node("nano-a", module: "orin-nano-8gb")]
    let text = validModel.replacingOccurrences(of: "  serving:", with: "  placement:\n    jetson: {modules: [orin-nx-16gb]}\n  serving:")
    let plans = try ManifestDiff.plans(objects: try Self.stored(text), nodes: nodes, builderImage: "builder:1", now: diffNow)
    let plan = try #require(plans.first)
    #expect(plan.notes[0].hasPrefix("1/2 nodes eligible"))
    #expect(plan.objects.compactMap { $0.object?["kind"]?.stringValue }.sorted() == ["Deployment", "PodDisruptionBudget", "Service"])
    let deployment = try #require(plan.objects.compactMap(\.object).first { $0["kind"] == "Deployment" })
    let initContainers = deployment[path: ["spec", "template", "spec", "initContainers"]]?.arrayValue ?? []
    #expect(initContainers.first?["image"] == "builder:1")
    #expect(deployment[path: ["spec", "replicas"]]?.intValue == 1)
    #expect(deployment[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"] == .string(ManifestDiff.uidPlaceholder))
    let out = ManifestDiff.yaml(plans)
    #expect(out.hasPrefix("# EdgeModel default/detector: 1/2 nodes eligible"))
    #expect(try YAML.parseDocuments(out).count == 3)
  }

  @Test("without nodes nothing can be placed: no objects, and why in a comment")
  func withoutNodes() throws {
    let plans = try ManifestDiff.plans(objects: try Self.stored(validModel), nodes: [], builderImage: "builder:1", now: diffNow)
    #expect(plans.first?.objects.isEmpty == true)
    let out = ManifestDiff.yaml(plans)
    #expect(out.hasPrefix("# EdgeModel default/detector: 0/0 nodes eligible (of the 0 given)\n"))
    #expect(out.contains("# Scheduled=False: "), "\(out)")
  }

  @Test("a DriftPolicy in the same manifest adds its drift-agent sidecar to the model's pods")
  func driftPolicySidecar() throws {
    let policy = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/driftpolicy-ks-psi.yaml"), encoding: .utf8)
    let model = try #require(try Self.stored(policy).first { $0["kind"] == "DriftPolicy" })
    let target = model[path: ["spec", "modelRef", "name"]]?.stringValue ?? ""
    let text = validModel.replacingOccurrences(of: "name: detector", with: "name: \(target)") + "---\n" + policy
    let plans = try ManifestDiff.plans(objects: try Self.stored(text), nodes: [Self.node("orin-a", module: "orin-nx-16gb")],
                                       builderImage: "builder:1", now: diffNow)
    let deployment = try #require(plans.first?.objects.compactMap(\.object).first { $0["kind"] == "Deployment" })
    let containers = deployment[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
    #expect(containers.count == 2)
  }
}
