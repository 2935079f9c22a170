import KubeCore

extension EdgeModelPlanner {
  /// What the split of replicas knows about one node group beyond placement: the GPUs this model
  /// may still use there and the pods it already has there.
  struct GroupLoad: Sendable, Equatable {
    /// GPUs this model may use in the group: on each ready node, allocatable `nvidia.com/gpu` minus
    /// what other models' pods request there, never below zero. The GPUs the model's own pods hold
    /// count as free: they are the model's to keep. Nil when the group has no device plugin.
    var freeGPUs: Int?
    /// The model's own pods in the group bound to a node, not terminating and not finished.
    var boundPods: Int
    /// The model's own pods in the group, not terminating and not finished, bound or not.
    var pods: Int
  }

  /// The load of each group for one model, from the nodes' allocatable GPUs, other models' use of
  /// them (`Input.gpusInUse`) and the model's own pods (by their `edgeml.io/node-group` label).
  ///
  /// - Complexity: O(nodes + pods).
  static func loads(of groups: [Placement.NodeGroup], nodes: [JetsonNode], gpusInUse: [String: Int], pods: [JSONValue]) -> [GroupLoad] {
    var allocatable: [String: Int] = [:]
    for node in nodes { if let gpus = node.allocatableGPUs { allocatable[node.name] = gpus } }
    var own: [String: (bound: Int, all: Int)] = [:]
    for pod in pods where holdsPlace(pod) {
      guard let slug = pod[path: ["metadata", "labels", Labels.nodeGroup]]?.stringValue else { continue }
      own[slug, default: (0, 0)].all += 1
      if isBound(pod) { own[slug, default: (0, 0)].bound += 1 }
    }
    return groups.map { group in
      let free = group.deviceplugin
        ? group.readyNodes.reduce(0) { $0 + max(0, (allocatable[$1] ?? 0) - (gpusInUse[$1] ?? 0)) }
        : nil
      return GroupLoad(freeGPUs: free, boundPods: own[group.slug]?.bound ?? 0, pods: own[group.slug]?.all ?? 0)
    }
  }

  /// A pod that is neither terminating nor finished: it holds (or waits for) a place in its group.
  static func holdsPlace(_ pod: JSONValue) -> Bool {
    let phase = pod[path: ["status", "phase"]]?.stringValue
    return pod[path: ["metadata", "deletionTimestamp"]] == nil && phase != "Succeeded" && phase != "Failed"
  }

  /// A pod the scheduler has bound to a node.
  static func isBound(_ pod: JSONValue) -> Bool {
    !(pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty
  }

  /// Splits `total` replicas of a Deployment-mode model over its node groups.
  ///
  /// In three passes, each only for the replicas the one before left over:
  /// 1. *Keep.* Replicas the model already runs on a node of a device-plugin group stay there: a
  ///    running replica never moves because GPUs came free elsewhere. When there are more running
  ///    than wanted (scaling down), the ones kept are spread over the groups as pass 2 spreads. (Groups without device
  ///    plugin have no GPUs to count; pass 2 splits them by size, which running pods do not change.)
  /// 2. *Free GPUs.* Replicas go where GPUs are free for this model, the group with the fewest
  ///    replicas per free GPU next (per node for a group without device plugin, which has no GPU
  ///    to run out of); so every group with room gets one before any gets two, and a model whose
  ///    pod waits in a full group moves to one with a free GPU.
  /// 3. *Waiting.* Replicas no free GPU is left for go where the model's pods already wait, then
  ///    by group size (larger first), as they did before the planner knew about free GPUs: the
  ///    pods stay Pending until a GPU frees, and the status says so.
  ///
  /// Ties go to the group where the model has more pods not yet counted, then the larger group
  /// (by free GPUs, then nodes), then the first. Because a model's own pods count as free for it
  /// and break ties towards where they are, a reconcile that sees what the last one did gives the
  /// same answer: reconciles converge, they do not oscillate.
  ///
  /// *Guarantees:* a group whose pods request a GPU never gets more replicas than it has nodes.
  ///
  /// - Parameters:
  ///   - loads: one per group (see `loads(of:nodes:gpusInUse:pods:)`); nil reads as one free GPU
  ///     per node of a device-plugin group and no pods yet: the split by group size alone.
  /// - Complexity: O(total × groups).
  static func distribute(_ total: Int, over groups: [Placement.NodeGroup], loads: [GroupLoad]? = nil) -> [Int] {
    var out = Array(repeating: 0, count: groups.count)
    guard !groups.isEmpty else { return out }
    let loads = loads ?? groups.map { GroupLoad(freeGPUs: $0.deviceplugin ? $0.nodes.count : nil, boundPods: 0, pods: 0) }
    precondition(loads.count == groups.count, "BUG in EdgeModelPlanner: one load per node group")
    let cap: [Int?] = groups.map { $0.deviceplugin ? $0.nodes.count : nil }
    func open(_ i: Int) -> Bool { cap[i].map { out[i] < $0 } ?? true }
    // Replicas per unit of capacity, compared without division: a/b < c/d ⇔ a·d < c·b (b, d > 0).
    func lessLoaded(_ a: Int, _ b: Int, weight: (Int) -> Int) -> Bool? {
      let l = out[a] * weight(b), r = out[b] * weight(a)
      return l == r ? nil : l < r
    }
    // The model's pods in a group beyond the replicas given to it so far (pods it would keep).
    func unmatched(_ i: Int) -> Int { max(0, loads[i].pods - out[i]) }
    var left = total

    // 1. Keep, spread as free capacity would spread them: scaling down takes replicas from the
    // most loaded groups first, so a small group is not emptied while a large one stays full.
    let weight = { (i: Int) in max(1, loads[i].freeGPUs ?? groups[i].nodes.count) }
    while left > 0 {
      let keepable = groups.indices.filter { groups[$0].deviceplugin && out[$0] < loads[$0].boundPods && open($0) }
      guard let next = keepable.min(by: { a, b in lessLoaded(a, b, weight: weight) ?? (a < b) }) else { break }
      out[next] += 1
      left -= 1
    }

    // 2. Free GPUs.
    while left > 0 {
      let room = groups.indices.filter { i in open(i) && (loads[i].freeGPUs.map { out[i] < $0 } ?? true) }
      guard let next = room.min(by: { a, b in
        if let less = lessLoaded(a, b, weight: weight) { return less }
        if unmatched(a) != unmatched(b) { return unmatched(a) > unmatched(b) }
        if weight(a) != weight(b) { return weight(a) > weight(b) }
        if groups[a].nodes.count != groups[b].nodes.count { return groups[a].nodes.count > groups[b].nodes.count }
        return a < b
      }) else { break }
      out[next] += 1
      left -= 1
    }

    // 3. Waiting.
    let size = { (i: Int) in max(1, groups[i].nodes.count) }
    while left > 0 {
      guard let next = groups.indices.filter(open).min(by: { a, b in
        if unmatched(a) != unmatched(b) { return unmatched(a) > unmatched(b) }
        if let less = lessLoaded(a, b, weight: size) { return less }
        if size(a) != size(b) { return size(a) > size(b) }
        return a < b
      }) else { break }
      out[next] += 1
      left -= 1
    }
    return out
  }
}
