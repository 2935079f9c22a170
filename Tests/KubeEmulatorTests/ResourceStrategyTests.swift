import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

/// What the per-resource strategies and the admission chain decide, seen through the API.
@Suite struct ResourceStrategyTests {
  @Test("RBAC names are path segments: `system:` names are valid, '/' and '..' are refused with upstream's message")
  func rbacNames() {
    let s = makeServer()
    let path = "/apis/rbac.authorization.k8s.io/v1/clusterroles"
    func role(_ name: String) -> JSONValue {
      ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": ["name": .string(name)], "rules": []]
    }
    #expect(s.call("POST", path, role("system:controller:edge-Model_1")).0 == 201)
    let (slash, status) = s.call("POST", path, role("a/b"))
    #expect(slash == 422)
    #expect(status["message"]?.stringValue?.contains("metadata.name: Invalid value: \"a/b\": may not contain '/'") == true)
    let (dots, dotsStatus) = s.call("POST", path, role(".."))
    #expect(dots == 422)
    #expect(dotsStatus["message"]?.stringValue?.contains("may not be '..'") == true)
  }

  @Test("a pod passes the admission chain: service account, default tolerations and priority are added")
  func podAdmission() {
    let s = makeServer()
    let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "p"],
                          "spec": ["containers": [["name": "c", "image": "nginx:1.27"]]]]
    let (code, created) = s.call("POST", "/api/v1/namespaces/default/pods", pod)
    #expect(code == 201)
    #expect(created[path: ["spec", "serviceAccountName"]] == "default")
    #expect(created[path: ["spec", "priority"]] == 0)
    #expect(created[path: ["spec", "preemptionPolicy"]] == "PreemptLowerPriority")
    let keys = (created[path: ["spec", "tolerations"]]?.arrayValue ?? []).compactMap { $0["key"]?.stringValue }
    #expect(keys == ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"])
  }

  @Test("the admission chain runs its plugins in order and the first refusal answers")
  func chainOrder() throws {
    struct Refuse: AdmissionPlugin {
      let name: String
      func validate(_ object: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {
        throw APIError(code: 403, reason: "Forbidden", message: name)
      }
    }
    struct Label: AdmissionPlugin {
      let name: String
      func admit(_ object: inout JSONValue, _ attributes: AdmissionAttributes) throws {
        var order = object[path: ["metadata", "labels", "order"]]?.stringValue ?? ""
        order += name
        object[path: ["metadata", "labels", "order"]] = .string(order)
      }
    }
    let chain = AdmissionChain(plugins: [Label(name: "a"), Refuse(name: "first"), Label(name: "b"), Refuse(name: "second")])
    let server = makeServer()
    guard let resource = server.catalog.resource(group: "", version: "v1", resource: "configmaps") else {
      Issue.record("no configmaps resource"); return
    }
    let attributes = AdmissionAttributes(resource: resource, operation: .create, namespace: "default")
    var object: JSONValue = ["metadata": ["name": "x"]]
    try chain.admit(&object, attributes)
    #expect(object[path: ["metadata", "labels", "order"]] == "ab")
    #expect(throws: APIError.self) { try server.store.transaction { try chain.validate(object, attributes, state: $0) } }
    do { try server.store.transaction { try chain.validate(object, attributes, state: $0) } } catch let error as APIError {
      #expect(error.status["message"] == "first")
    }
  }
}

@Suite struct PodDisruptionBudgetTableTests {
  @Test("`kubectl get pdb` gets printers.go's columns: unset bounds print N/A, set ones as written")
  func columns() {
    let s = makeServer()
    let path = "/apis/policy/v1/namespaces/default/poddisruptionbudgets"
    let selector: JSONValue = ["matchLabels": ["app": "web"]]
    s.call("POST", path, ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "a"],
                          "spec": ["minAvailable": 2, "selector": selector]])
    s.call("POST", path, ["apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": ["name": "b"],
                          "spec": ["maxUnavailable": "25%", "selector": selector]])
    let (code, table) = s.call("GET", path, headers: [("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")])
    #expect(code == 200)
    let names = (table["columnDefinitions"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    #expect(names == ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"])
    let cells = (table["rows"]?.arrayValue ?? []).map { Array(($0["cells"]?.arrayValue ?? []).prefix(4)) }
    #expect(cells == [["a", "2", "N/A", 0], ["b", "N/A", "25%", 0]])
  }
}
