import KubeCore

/// EdgeSim's stand-in for cluster DNS and kube-proxy, which a container's processes on this
/// machine cannot have: a word of a container's command that names a Service by its cluster DNS
/// name — `NAME.NAMESPACE.svc[.cluster.local][:PORT]` (kubernetes.io/docs/concepts/services-networking/dns-pod-service/) —
/// is rewritten, when the container starts, to the IP of a Ready pod behind it (the first by name,
/// as one EndpointSlice endpoint) and the port to that Service port's numeric `targetPort`.
///
/// A Service with no Ready pod leaves the word as it is: the name does not resolve, the program
/// fails as it would before its Service had endpoints, and the kubelet's restart tries again.
enum ServiceAddresses {
  static func rewrite(_ word: String, api: ClusterAPI) -> String {
    // The host part ends at the first ':' (port) — or is the whole word.
    let parts = word.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    var labels = parts[0].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    if labels.count == 5, labels[3] == "cluster", labels[4] == "local" { labels.removeLast(2) }
    guard labels.count == 3, labels[2] == "svc", !labels[0].isEmpty, !labels[1].isEmpty,
          labels[0].allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }) else { return word }
    let (name, namespace) = (labels[0], labels[1])
    guard let service = api.get(Keys.services, namespace: namespace, name: name) else { return word }
    let selector = JSONValue.stringMap(service[path: ["spec", "selector"]])
    guard !selector.isEmpty else { return word }
    let ready = api.list(Keys.pods, namespace: namespace).sorted { $0.name < $1.name }.first { pod in
      let podLabels = pod.labels
      return pod.isPodReady && !pod.isDeleting && selector.allSatisfy { podLabels[$0.key] == $0.value }
        && !(pod[path: ["status", "podIP"]]?.stringValue ?? "").isEmpty
    }
    guard let ip = ready?[path: ["status", "podIP"]]?.stringValue else { return word }
    guard parts.count == 2 else { return ip }
    let port = String(parts[1])
    let entry = (service[path: ["spec", "ports"]]?.arrayValue ?? []).first { $0["port"]?.intValue.map(String.init) == port }
    let target = entry?["targetPort"]?.intValue.map(String.init) ?? port
    return "\(ip):\(target)"
  }
}
