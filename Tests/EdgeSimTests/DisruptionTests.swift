import Foundation
import KubeCore
import Testing
@testable import EdgeSim

/// The disruption controller's PodDisruptionBudget status and the evictions it admits.
@Suite("PodDisruptionBudgets", .serialized)
struct DisruptionTests {
  static let budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"

  @Test("A budget's status follows its Deployment's pods, and an eviction spends it until the replacement is Ready")
  func budgetStatusAndEviction() async throws {
    try await SimHarness.run(fleet: "orin-nx-16gb=3") { h in
      try h.api.create("/apis/apps/v1/namespaces/default/deployments", SimHarness.deployment("web", replicas: 3))
      try h.api.create(Self.budgets, ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "web"],
                                      "spec": ["maxUnavailable": 1, "selector": ["matchLabels": ["app": "web"]]]])
      let status = try await h.eventually(60, "budget observed") {
        h.api.get(Keys.disruptionBudgets, namespace: "default", name: "web")?["status"].flatMap { $0["currentHealthy"] == 3 ? $0 : JSONValue?.none }
      }
      #expect(status["expectedPods"] == 3 && status["desiredHealthy"] == 2 && status["disruptionsAllowed"] == 1)
      #expect(status["observedGeneration"] == 1)
      let condition = status["conditions"]?.arrayValue?.first
      #expect(condition?["type"] == "DisruptionAllowed" && condition?["status"] == "True" && condition?["reason"] == "SufficientPods")

      let pods = h.pods(label: "app=web").map(\.name).sorted()
      func evict(_ name: String) throws(EdgeSimError) {
        try h.api.create(Paths.pod("default", name) + "/eviction", ["apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": .string(name)]])
      }
      try evict(pods[0])
      // The budget is spent: the next eviction is refused until the replacement is Ready.
      do {
        try evict(pods[1])
        Issue.record("a second eviction was admitted at once")
      } catch EdgeSimError.api(_, _, let code, _) {
        #expect(code == 429)
      }
      _ = try await h.eventually(60, "replacement ready") {
        h.api.get(Keys.disruptionBudgets, namespace: "default", name: "web")?[path: ["status", "disruptionsAllowed"]] == 1 ? true : nil
      }
      try evict(pods[1])
    }
  }

  @Test("Percentages of a budget round up, as intstr.GetScaledValueFromIntOrPercent(roundUp: true) does", arguments: [
    ("50%", 3, 2), ("10%", 3, 1), ("0%", 3, 0), ("100%", 7, 7),
  ])
  func percentagesRoundUp(value: String, total: Int, scaled: Int) throws {
    #expect(try DisruptionController.scaledValue(.string(value), total: total) == scaled)
  }

  @Test("A budget value that is neither a number nor a percentage is an error")
  func invalidValue() {
    #expect(throws: DisruptionController.SyncError.self) { try DisruptionController.scaledValue("half", total: 3) }
    #expect((try? DisruptionController.scaledValue(2, total: 3)) == 2)
  }
}
