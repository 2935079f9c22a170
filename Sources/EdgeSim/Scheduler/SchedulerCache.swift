import KubeCore

/// What is bound where: per node the summed requests and the pods of each controller, kept up to
/// date from pod events so that scheduling one pod does not re-read every pod (kube-scheduler's
/// internal cache, pkg/scheduler/backend/cache, reduced to what the filters and spreading need).
struct SchedulerCache: Sendable {
  private struct Entry: Sendable {
    var node: String
    var requests: Resources
    var owner: String?
  }
  private var pods: [String: Entry] = [:]
  private(set) var requested: [String: Resources] = [:]
  private var owners: [String: [String: Int]] = [:]   // node → owner uid → pods

  /// Records a pod's current state: bound and not finished pods count, everything else is removed.
  mutating func update(_ pod: JSONValue, deleted: Bool) {
    remove(pod.uid)
    guard !deleted, !pod.nodeName.isEmpty, !pod.isTerminal else { return }
    let entry = Entry(node: pod.nodeName, requests: Resources.requests(ofPod: pod), owner: pod.controllerOwnerUID)
    pods[pod.uid] = entry
    requested[entry.node, default: Resources()].add(entry.requests)
    if let owner = entry.owner { owners[entry.node, default: [:]][owner, default: 0] += 1 }
  }

  private mutating func remove(_ uid: String) {
    guard let old = pods.removeValue(forKey: uid) else { return }
    requested[old.node]?.subtract(old.requests)
    if let owner = old.owner { owners[old.node]?[owner, default: 1] -= 1 }
  }

  func pods(of owner: String?, on node: String) -> Int { owner.flatMap { owners[node]?[$0] } ?? 0 }
}

/// The nodes as the scheduler's filters read them, in name order (the store's listing order, so
/// a search visits nodes in a stable order).
///
/// `matches` remembers, per placement (node selector and required affinity), which of the nodes
/// match it: label matching is most of a filter pass, and the pods of a fleet share a handful of
/// placements. It is forgotten when a node is added, removed or relabelled (not on a heartbeat).
struct NodeSnapshot: Sendable {
  private(set) var nodes: [NodeFit.NodeInfo] = []

  mutating func update(_ node: JSONValue, deleted: Bool) {
    let name = node.name
    // The first node whose name is not below `name` (binary search; the array is name-ordered).
    var low = 0, high = nodes.count
    while low < high {
      let mid = (low + high) / 2
      if nodes[mid].name < name { low = mid + 1 } else { high = mid }
    }
    let at = low
    let present = at < nodes.endIndex && nodes[at].name == name
    if deleted {
      if present { nodes.remove(at: at) }
      matches.removeAll()
    } else if present {
      let info = NodeFit.NodeInfo(node)
      // What `matches` remembers depends on labels (and names) only; a heartbeat changes neither.
      if info.labels != nodes[at].labels { matches.removeAll() }
      nodes[at] = info
    } else {
      nodes.insert(NodeFit.NodeInfo(node), at: at)
      matches.removeAll()
    }
  }

  private var matches: [NodeFit.Placement: [Bool]] = [:]

  /// Whether each node (by index in `nodes`) passes the pod's node selector and required affinity.
  mutating func affinityMatches(_ pod: NodeFit.PodInfo) -> [Bool] {
    let key = pod.placement
    if let known = matches[key] { return known }
    let computed = nodes.map { NodeFit.matchesSelectorAndAffinity(pod, labels: $0.labels, name: $0.name) }
    if matches.count >= 64 { matches.removeAll() }
    matches[key] = computed
    return computed
  }
}

extension Resources {
  mutating func subtract(_ other: Resources) {
    for (k, v) in other.amounts { amounts[k, default: 0] -= v }
    pods -= other.pods
  }
}

extension JSONValue {
  /// The uid of the controlling owner, whatever its kind.
  var controllerOwnerUID: String? {
    (self[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).first { $0["controller"]?.boolValue == true }?["uid"]?.stringValue
  }
}
