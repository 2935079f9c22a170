import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

@Suite("APIServices")
struct APIServiceTableTests {
  /// Rows: whether the APIService names a Service, its Available condition (status, reason), and the
  /// SERVICE and AVAILABLE cells kubectl prints.
  @Test("kubectl get apiservices shows the backing service (or Local) and availability with its reason", arguments: [
    (true, "True", "Passed", "kube-system/metrics-server", "True"),
    (true, "False", "MissingEndpoints", "kube-system/metrics-server", "False (MissingEndpoints)"),
    (false, "", "", "Local", "Unknown"),
  ])
  func table(_ hasService: Bool, _ conditionStatus: String, _ reason: String, _ service: String, _ available: String) throws {
    let status: JSONValue = conditionStatus.isEmpty ? [:]
      : ["conditions": [["type": "Available", "status": .string(conditionStatus), "reason": .string(reason)]]]
    let s = makeServer()
    var spec: JSONValue = ["group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100]
    if hasService { spec["service"] = ["name": "metrics-server", "namespace": "kube-system"] }
    #expect(s.call("POST", "/apis/apiregistration.k8s.io/v1/apiservices", [
      "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": ["name": "v1beta1.metrics.k8s.io"],
      "spec": spec]).0 == 201)
    s.call("PATCH", "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io/status", ["status": status],
           contentType: "application/merge-patch+json")
    let (_, table) = s.call("GET", "/apis/apiregistration.k8s.io/v1/apiservices",
                            headers: [("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")])
    #expect((table["columnDefinitions"]?.arrayValue ?? []).map { $0["name"]?.stringValue ?? "" } == ["Name", "Service", "Available", "Age"])
    let cells = try #require(table["rows"]?.arrayValue?.first?["cells"]?.arrayValue)
    #expect(cells.prefix(3) == ["v1beta1.metrics.k8s.io", .string(service), .string(available)])
  }
}
