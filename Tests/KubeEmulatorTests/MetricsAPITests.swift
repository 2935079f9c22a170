import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

/// A provider with fixed figures, by node name and by "namespace/pod".
private struct FixedMetrics: ResourceMetricsProvider {
  var nodes: [String: ResourceUsage] = [:]
  var pods: [String: PodUsage] = [:]
  func nodeMetrics(node: JSONValue) -> ResourceUsage? { nodes[node[path: ["metadata", "name"]]?.stringValue ?? ""] }
  func podMetrics(pod: JSONValue) -> PodUsage? {
    pods["\(pod[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(pod[path: ["metadata", "name"]]?.stringValue ?? "")"]
  }
}

private let scraped = Date(timeIntervalSince1970: 1_800_000_000)

private func metricsServer() -> APIServer {
  let s = makeServer()
  for (name, module) in [("orin-0", "orin-nx-16gb"), ("orin-1", "orin-nx-16gb"), ("nano-0", "orin-nano-8gb")] {
    s.call("POST", "/api/v1/nodes", ["apiVersion": "v1", "kind": "Node",
                                     "metadata": ["name": .string(name), "labels": ["edgeml.io/jetson.module": .string(module)]]])
  }
  s.call("POST", "/api/v1/namespaces", ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "vision"]])
  for (ns, name) in [("default", "hog"), ("default", "idle"), ("vision", "detector"), ("default", "simulated")] {
    s.call("POST", "/api/v1/namespaces/\(ns)/pods", ["apiVersion": "v1", "kind": "Pod",
                                                     "metadata": ["name": .string(name), "labels": ["app": .string(name)]],
                                                     "spec": ["containers": [["name": "main", "image": "busybox"]]]])
  }
  let window = Duration.milliseconds(15_012)
  s.setResourceMetricsProvider(FixedMetrics(
    nodes: ["orin-0": ResourceUsage(cpuNanoCores: 329_087_452, memoryBytes: 2_814_136_320, timestamp: scraped, window: window),
            "nano-0": ResourceUsage(cpuNanoCores: 250_000_000, memoryBytes: 1_073_741_824, timestamp: scraped, window: window)],
    pods: ["default/hog": PodUsage(containers: [.init(name: "grow", cpuNanoCores: 1_000_000_000, memoryBytes: 209_715_200),
                                                .init(name: "sidecar", cpuNanoCores: 2_000_000, memoryBytes: 10_485_760)],
                                   timestamp: scraped, window: window),
           "default/idle": PodUsage(containers: [.init(name: "main", cpuNanoCores: 0, memoryBytes: 123_456_789)], timestamp: scraped, window: window),
           "vision/detector": PodUsage(containers: [.init(name: "main", cpuNanoCores: 5_000, memoryBytes: 4096)], timestamp: scraped, window: window)]))
  return s
}

private func names(_ list: JSONValue) -> [String] {
  (list["items"]?.arrayValue ?? []).compactMap { $0[path: ["metadata", "name"]]?.stringValue }
}

@Suite("metrics.k8s.io (kubectl top)")
struct MetricsAPITests {
  @Test("without a metrics provider the group is not served, as on a cluster without metrics-server")
  func absentWithoutProvider() {
    let s = makeServer()
    let (_, groups) = s.call("GET", "/apis")
    #expect(!(groups["groups"]?.arrayValue ?? []).contains { $0["name"] == "metrics.k8s.io" })
    #expect(s.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes").0 == 404)
  }

  @Test("discovery lists metrics.k8s.io/v1beta1 with nodes and pods, get and list only, as metrics-server does")
  func discovery() throws {
    let s = metricsServer()
    let (_, groups) = s.call("GET", "/apis")
    let last = try #require(groups["groups"]?.arrayValue?.last)
    #expect(last["name"] == "metrics.k8s.io" && last[path: ["preferredVersion", "groupVersion"]] == "metrics.k8s.io/v1beta1")
    let (code, list) = s.call("GET", "/apis/metrics.k8s.io/v1beta1")
    #expect(code == 200)
    let resources = list["resources"]?.arrayValue ?? []
    #expect(resources.map { $0["name"]?.stringValue ?? "" } == ["nodes", "pods"])
    #expect(resources.map { $0["kind"]?.stringValue ?? "" } == ["NodeMetrics", "PodMetrics"])
    #expect(resources.map { $0["namespaced"]?.boolValue ?? false } == [false, true])
    #expect(resources.allSatisfy { $0["verbs"] == ["get", "list"] })
    s.setResourceMetricsProvider(nil)
    #expect(s.call("GET", "/apis/metrics.k8s.io/v1beta1").0 == 404)
  }

  @Test("a NodeMetrics list carries name, labels, timestamp, window and usage in metrics-server's quantities; nodes without figures are left out")
  func nodeList() throws {
    let s = metricsServer()
    let (code, list) = s.call("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
    #expect(code == 200 && list["kind"] == "NodeMetricsList" && list["apiVersion"] == "metrics.k8s.io/v1beta1")
    #expect(names(list) == ["nano-0", "orin-0"])
    let orin = try #require(list["items"]?.arrayValue?.last)
    #expect(orin["kind"] == "NodeMetrics")
    #expect(orin[path: ["metadata", "labels", "edgeml.io/jetson.module"]] == "orin-nx-16gb")
    #expect(orin["timestamp"] == .string(RFC3339.format(scraped)))
    #expect(orin["window"] == "15.012s")
    #expect(orin["usage"] == ["cpu": "329087452n", "memory": "2748180Ki"])
    #expect(list["items"]?.arrayValue?.first?["usage"] == ["cpu": "250m", "memory": "1Gi"])
  }

  @Test("label and field selectors pick the nodes and pods whose metrics are listed", arguments: [
    ("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=edgeml.io%2Fjetson.module%3Dorin-nx-16gb", ["orin-0"]),
    ("/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=metadata.name%3Dnano-0", ["nano-0"]),
    ("/apis/metrics.k8s.io/v1beta1/nodes?fieldSelector=spec.unschedulable%3Dtrue", []),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%20in%20(hog,detector)", ["hog"]),
    ("/apis/metrics.k8s.io/v1beta1/pods?fieldSelector=metadata.namespace%21%3Ddefault", ["detector"]),
  ])
  func selectors(_ uri: String, _ expected: [String]) {
    let (code, list) = metricsServer().call("GET", uri)
    #expect(code == 200)
    #expect(names(list) == expected)
  }

  @Test("pods are listed per namespace or across all, by namespace then name, and a pod without figures is left out")
  func podLists() throws {
    let s = metricsServer()
    #expect(names(s.call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods").1) == ["hog", "idle"])
    let (_, all) = s.call("GET", "/apis/metrics.k8s.io/v1beta1/pods")
    #expect(names(all) == ["hog", "idle", "detector"])
    let hog = try #require(all["items"]?.arrayValue?.first)
    #expect(hog["kind"] == "PodMetrics" && hog[path: ["metadata", "namespace"]] == "default")
    #expect(hog["containers"] == [["name": "grow", "usage": ["cpu": "1", "memory": "200Mi"]],
                                  ["name": "sidecar", "usage": ["cpu": "2m", "memory": "10Mi"]]])
    #expect(all[path: ["items"]]?.arrayValue?[1]["containers"] == [["name": "main", "usage": ["cpu": "0", "memory": "123456789"]]])
  }

  @Test("a get names what is missing: the pod or node itself, or its metrics", arguments: [
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/hog", 200, ""),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/simulated", 404, #"podmetrics.metrics.k8s.io "default/simulated" not found"#),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope", 404, #"pods "nope" not found"#),
    ("/apis/metrics.k8s.io/v1beta1/nodes/orin-1", 404, #"nodemetrics.metrics.k8s.io "orin-1" not found"#),
    ("/apis/metrics.k8s.io/v1beta1/nodes/nope", 404, #"node "nope" not found"#),
  ])
  func gets(_ uri: String, _ code: Int, _ message: String) {
    let (status, body) = metricsServer().call("GET", uri)
    #expect(status == code)
    if code == 200 { #expect(body["kind"] == "PodMetrics") } else { #expect(body["message"] == .string(message)) }
  }

  @Test("metrics are read-only and cannot be watched", arguments: [
    ("GET", "/apis/metrics.k8s.io/v1beta1/nodes?watch=true"),
    ("POST", "/apis/metrics.k8s.io/v1beta1/nodes"),
    ("DELETE", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/hog"),
  ])
  func readOnly(_ method: String, _ uri: String) {
    #expect(metricsServer().call(method, uri, method == "POST" ? [:] : nil).0 == 405)
  }

  @Test("kubectl get nodes.metrics.k8s.io gets metrics-server's table: name, cpu, memory, window")
  func table() throws {
    let (_, table) = metricsServer().call("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
                                          headers: [("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")])
    #expect(table["kind"] == "Table")
    #expect((table["columnDefinitions"]?.arrayValue ?? []).map { $0["name"]?.stringValue ?? "" } == ["Name", "cpu", "memory", "Window"])
    let first = try #require(table["rows"]?.arrayValue?.first)
    #expect(first["cells"] == ["hog", "1002m", "210Mi", "15.012s"])
  }

  @Test("a user whose view role aggregates the metrics reader role may read metrics; one without it is forbidden")
  func rbacAggregation() {
    let s = metricsServer()
    s.call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", [
      "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
      "metadata": ["name": "system:aggregated-metrics-reader", "labels": ["rbac.authorization.k8s.io/aggregate-to-view": "true"]],
      "rules": [["apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]]]])
    s.call("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", [
      "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": ["name": "view"],
      "aggregationRule": ["clusterRoleSelectors": [["matchLabels": ["rbac.authorization.k8s.io/aggregate-to-view": "true"]]]]])
    s.call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", [
      "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": ["name": "alice-view"],
      "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"],
      "subjects": [["kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"]]])
    func status(_ user: String, _ uri: String) -> Int {
      s.handle(APIRequest(method: "GET", uri: uri, user: UserInfo(name: user, groups: ["system:authenticated"]))).status
    }
    #expect(status("alice", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods") == 200)
    #expect(status("alice", "/apis/metrics.k8s.io/v1beta1/namespaces/vision/pods") == 403)
    #expect(status("bob", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods") == 403)
  }
}
