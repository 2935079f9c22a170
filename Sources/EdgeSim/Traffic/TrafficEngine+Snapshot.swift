import Foundation
import KubeCore

extension TrafficEngine {
  /// What one advance reads of the cluster, each piece once: pods by namespace, the models each
  /// endpoint serves, and each Service's ready endpoints for a model.
  struct Snapshot {
    let api: ClusterAPI
    let endpoints: [ObjectKey: TritonEndpoint]
    private var pods: [String: [JSONValue]] = [:]
    private var served: [ObjectKey: [TritonModel]] = [:]
    private var podLabels: [ObjectKey: [String: String]] = [:]
    private var services: [String: [(ObjectKey, TritonModel)]] = [:]
    private var podNodes: [ObjectKey: (ready: Bool, nodeLabels: [String: String])] = [:]
    private var nodeLabels: [String: [String: String]] = [:]

    init(api: ClusterAPI, endpoints: [ObjectKey: TritonEndpoint]) {
      self.api = api
      self.endpoints = endpoints
    }

    /// Models a registered, ready endpoint serves (none for a pod that is not Ready in the API).
    mutating func models(of pod: ObjectKey) -> [TritonModel] {
      if let m = served[pod] { return m }
      let m = endpoints[pod].map { $0.isReady ? $0.models() : [] } ?? []
      served[pod] = m
      return m
    }

    mutating func labels(of pod: ObjectKey) -> [String: String] {
      if let l = podLabels[pod] { return l }
      let l = api.get(Keys.pods, namespace: pod.namespace, name: pod.name)?.labels ?? [:]
      podLabels[pod] = l
      return l
    }

    /// Whether the pod is Ready (every container, the drift agent's probe included) and its node's labels.
    mutating func readiness(of pod: ObjectKey) -> (ready: Bool, nodeLabels: [String: String]) {
      if let cached = podNodes[pod] { return cached }
      let object = api.get(Keys.pods, namespace: pod.namespace, name: pod.name)
      let node = object?.nodeName ?? ""
      if nodeLabels[node] == nil { nodeLabels[node] = api.get(Keys.nodes, name: node)?.labels ?? [:] }
      let out = (object.map { $0.isPodReady && !$0.isDeleting } ?? false, nodeLabels[node] ?? [:])
      podNodes[pod] = out
      return out
    }

    /// The pods behind `service` that are Ready and serve `model` (what its EndpointSlice would list
    /// as ready), in name order.
    mutating func readyEndpoints(service: String, namespace: String, model: String) -> [(ObjectKey, TritonModel)] {
      let key = "\(namespace)/\(service)/\(model)"
      if let cached = services[key] { return cached }
      var out: [(ObjectKey, TritonModel)] = []
      if let svc = api.get(Keys.services, namespace: namespace, name: service) {
        let selector = JSONValue.stringMap(svc[path: ["spec", "selector"]])
        if !selector.isEmpty {
          for pod in podList(namespace) where pod.isPodReady && !pod.isDeleting {
            let labels = pod.labels
            guard selector.allSatisfy({ labels[$0.key] == $0.value }) else { continue }
            let key = ObjectKey(namespace, pod.name)
            if let m = models(of: key).first(where: { $0.name == model }) { out.append((key, m)) }
          }
        }
      }
      services[key] = out
      return out
    }

    private mutating func podList(_ namespace: String) -> [JSONValue] {
      if let p = pods[namespace] { return p }
      let p = api.list(Keys.pods, namespace: namespace).sorted { $0.name < $1.name }
      pods[namespace] = p
      return p
    }
  }
}
