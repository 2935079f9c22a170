import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

/// The drift agent sidecar on an EdgeModel's serving pods, per the lead's contract.
struct DriftAgentSidecarTests {
  func workloads(_ plan: EdgeModelPlanner.Plan) -> [JSONValue] { plan.objects.filter { $0.resource == .deployments }.map(\.object) }

  func plan(policies: [DriftPolicy]) throws -> EdgeModelPlanner.Plan {
    let model = try EdgeModel(json: ["apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel",
                                     "metadata": ["name": "detector", "namespace": "default", "uid": "uid-1", "generation": 1],
                                     "spec": baseSpec])
    return EdgeModelPlanner.plan(.init(model: model, nodes: fleet, pods: [], builderImage: "ghcr.io/edgeml/edgeml:0.1.0", now: "2026-11-25T12:00:00Z",
                                       driftAgent: DriftAgentSidecar.container(policies: policies, image: "ghcr.io/edgeml/edgeml:0.1.0")))
  }

  @Test("a DriftPolicy gives the model's serving pods the drift-agent sidecar; removing the policy removes it")
  func sidecarFollowsThePolicy() throws {
    let samples = try DriftFixtures.policy(features: [["name": "brightness", "type": "numerical"], ["name": "label", "type": "categorical"]],
                                           schedule: ["interval": "10m", "window": "2h"])
    var withSamples = samples
    withSamples.spec.source = DriftSource(podMetrics: nil, prometheus: nil, samples: SamplesSource(path: nil))
    for (policy, keepsSamples) in [(samples, false), (withSamples, true)] {
      let p = try plan(policies: [policy])
      #expect(!workloads(p).isEmpty)
      for workload in workloads(p) {
        let containers = workload[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
        let agent = try #require(containers.first { $0["name"]?.stringValue == "drift-agent" })
        #expect(containers.first?["name"]?.stringValue == "serving")
        #expect(agent["image"]?.stringValue == "ghcr.io/edgeml/edgeml:0.1.0")
        let command = (agent["command"]?.arrayValue ?? []).compactMap(\.stringValue) + (agent["args"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(Array(command.prefix(6)) == ["edgeml", "drift-agent", "--port", "9470", "--host", "$(POD_IP)"])
        #expect(command.joined(separator: " ").contains("--feature brightness:numerical --feature label:categorical"))
        #expect(command.joined(separator: " ").contains("--retain 7200s"))
        #expect(command.contains("--keep-samples") == keepsSamples)
        #expect(agent[path: ["env"]]?.arrayValue?.first { $0["name"]?.stringValue == "POD_IP" }?[path: ["valueFrom", "fieldRef", "fieldPath"]]?.stringValue == "status.podIP")
        #expect(agent[path: ["ports"]]?.arrayValue?.first?["name"]?.stringValue == "drift")
        #expect(agent[path: ["ports"]]?.arrayValue?.first?["containerPort"]?.intValue == 9470)
        #expect(agent[path: ["readinessProbe", "httpGet", "path"]]?.stringValue == "/healthz")
        #expect(agent[path: ["readinessProbe", "httpGet", "port"]]?.stringValue == "drift")
      }
    }
    // No policy (or one being deleted): the template is exactly what it was before DriftPolicies existed.
    let without = try plan(policies: [])
    var deleting = samples
    deleting.metadata.deletionTimestamp = Timestamp(secondsSinceEpoch: 1)
    #expect(workloads(try plan(policies: [deleting])) == workloads(without))
    for workload in workloads(without) {
      #expect(workload[path: ["spec", "template", "spec", "containers"]]?.arrayValue?.contains { $0["name"]?.stringValue == "drift-agent" } == false)
    }
  }
}
