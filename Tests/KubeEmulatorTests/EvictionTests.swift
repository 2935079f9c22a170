import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

/// The eviction subresource against hand-written budget statuses (no disruption controller here),
/// as pkg/registry/core/pod/storage/eviction.go answers.
@Suite("Pod eviction")
struct EvictionTests {
  let pods = "/api/v1/namespaces/default/pods"
  let budgets = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"

  /// A pod that is Running and Ready (unbound, so a delete removes it at once).
  func runningPod(_ s: APIServer, _ name: String, labels: JSONValue = ["app": "web"]) {
    s.call("POST", pods, ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": .string(name), "labels": labels],
                          "spec": ["containers": [["name": "c", "image": "nginx"]]]])
    s.call("PATCH", pods + "/\(name)/status", ["status": ["phase": "Running", "conditions": [["type": "Ready", "status": "True"]]]],
           contentType: "application/merge-patch+json")
  }

  func budget(_ s: APIServer, _ name: String, allowed: Int, observed: Int = 1) {
    s.call("POST", budgets, ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": .string(name)],
                             "spec": ["maxUnavailable": 1, "selector": ["matchLabels": ["app": "web"]]]])
    s.call("PATCH", budgets + "/\(name)/status", ["status": ["observedGeneration": JSONValue(observed), "disruptionsAllowed": JSONValue(allowed),
                                                             "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3]],
           contentType: "application/merge-patch+json")
  }

  func eviction(_ name: String) -> JSONValue {
    ["apiVersion": "policy/v1", "kind": "Eviction", "metadata": ["name": .string(name), "namespace": "default"]]
  }

  @Test("an eviction the budget allows deletes the pod, spends the budget and records the pod")
  func allowedEviction() throws {
    let s = makeServer()
    runningPod(s, "web-a")
    budget(s, "web", allowed: 1)
    let (code, status) = s.call("POST", pods + "/web-a/eviction", eviction("web-a"))
    #expect(code == 201)
    #expect(status["status"] == "Success" && status["code"] == 201)
    #expect(s.call("GET", pods + "/web-a").0 == 404)
    let (_, pdb) = s.call("GET", budgets + "/web")
    #expect(pdb[path: ["status", "disruptionsAllowed"]] == 0)
    #expect(pdb[path: ["status", "disruptedPods", "web-a"]]?.stringValue != nil)
    let condition = try #require(pdb[path: ["status", "conditions"]]?.arrayValue?.first)
    #expect(condition["type"] == "DisruptionAllowed" && condition["status"] == "False" && condition["reason"] == "InsufficientPods")
  }

  @Test("an eviction the budget does not allow is a 429 with a DisruptionBudget cause, and the pod stays")
  func refusedEviction() {
    let s = makeServer()
    runningPod(s, "web-a")
    budget(s, "web", allowed: 0)
    let (code, status) = s.call("POST", pods + "/web-a/eviction", eviction("web-a"))
    #expect(code == 429)
    #expect(status["reason"] == "TooManyRequests")
    #expect(status["message"] == "Cannot evict pod as it would violate the pod's disruption budget.")
    #expect(status[path: ["details", "causes"]] == [["reason": "DisruptionBudget", "message": "The disruption budget web needs 2 healthy pods and has 3 currently"]])
    #expect(s.call("GET", pods + "/web-a").0 == 200)
  }

  @Test("a budget its controller has not observed yet refuses with Retry-After 10")
  func unobservedBudget() {
    let s = makeServer()
    runningPod(s, "web-a")
    budget(s, "web", allowed: 1, observed: 0)
    let response = s.handle(APIRequest(method: "POST", uri: pods + "/web-a/eviction", headers: [("Content-Type", "application/json")],
                                       body: eviction("web-a").serialized(), user: admin))
    #expect(response.status == 429)
    #expect(response.headers.contains { $0.0 == "Retry-After" && $0.1 == "10" })
  }

  @Test("a pod covered by two budgets is a 500 the eviction subresource does not support")
  func twoBudgets() {
    let s = makeServer()
    runningPod(s, "web-a")
    budget(s, "web", allowed: 1)
    budget(s, "web-too", allowed: 1)
    let (code, status) = s.call("POST", pods + "/web-a/eviction", eviction("web-a"))
    #expect(code == 500)
    #expect(status["reason"] == nil)
    #expect(status["message"] == "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
  }

  @Test("a pending pod and a pod no budget covers are deleted without a budget check")
  func noBudgetNeeded() {
    let s = makeServer()
    budget(s, "web", allowed: 0)
    s.call("POST", pods, ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "pending", "labels": ["app": "web"]],
                          "spec": ["containers": [["name": "c", "image": "nginx"]]]])
    #expect(s.call("POST", pods + "/pending/eviction", eviction("pending")).0 == 201)
    runningPod(s, "other", labels: ["app": "db"])
    #expect(s.call("POST", pods + "/other/eviction", eviction("other")).0 == 201)
    #expect(s.call("GET", pods + "/other").0 == 404)
  }

  @Test("an Eviction naming another pod is a 400")
  func nameMismatch() {
    let s = makeServer()
    runningPod(s, "web-a")
    let (code, status) = s.call("POST", pods + "/web-a/eviction", eviction("web-b"))
    #expect(code == 400)
    #expect(status["message"] == "name in URL does not match name in Eviction object")
  }
}
