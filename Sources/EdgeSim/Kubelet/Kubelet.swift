import Foundation
import KubeCore
import KubeEmulator
import Logging
import Synchronization

/// One simulated node: its name, kind and address.
struct SimulatedNode: Sendable {
  var name: String
  var kind: NodeKind
  var hostIP: String
}

/// What every pod worker needs.
struct KubeletContext: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let configuration: EdgeSim.Configuration
  let servers: TritonServers
  /// What `kubectl top` reads: the containers' processes, scraped.
  let metrics: ResourceMetricsCollector
  let logger: Logger

  /// The host path for a container's `command[0]`: the executable table, else an absolute path
  /// that exists, else a bare name found on the host's `PATH`; nil means "simulate it".
  func resolveExecutable(_ name: String) -> String? {
    if let mapped = configuration.executables[name] { return mapped }
    let fm = FileManager.default
    if name.hasPrefix("/") { return fm.isExecutableFile(atPath: name) ? name : nil }
    guard !name.contains("/") else { return nil }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
      let candidate = "\(dir)/\(name)"
      if fm.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }
}

/// The kubelets of every simulated node, logically one per node: registers the Node and its Lease,
/// renews the Lease (the heartbeat), runs pods bound to the node and finishes their graceful deletion.
///
/// A failed node (`fail`) stops everything at once, as a power cut would: heartbeats stop, its pod
/// workers are cancelled without a word to the API server. `recover` restarts the kubelet: it posts
/// Ready again and re-runs the pods still bound to it, init containers first, as after a reboot.
final class Kubelet: Sendable {
  struct Worker: Sendable {
    var uid: String
    var stop: AsyncStream<Void>.Continuation
  }
  struct State: Sendable {
    var workers: [String: Worker] = [:]   // pod uid → worker
    var failed: Set<String> = []
    /// Pods whose worker tasks have not all ended yet (their containers may still be writing), with
    /// how many there are (a recovered node starts a new one while the old one ends).
    var running: [String: Int] = [:]
    /// Pods deleted while their worker was still ending: their volumes go when it has.
    var awaitingCleanup: Set<String> = []
    /// Pods being deleted gracefully whose containers are still stopping (uid → namespace, name):
    /// the object is removed once they have.
    var deleteWhenStopped: [String: ObjectKey] = [:]
  }

  let nodes: [String: SimulatedNode]
  let context: KubeletContext
  private let state = Mutex(State())

  /// Lease duration (pkg/kubelet/nodelease); the renew interval, 0.25 × 40 = 10 s, is `Runtime.renewIntervalSeconds`.
  static let leaseDurationSeconds = 40.0

  init(fleet: FleetSpec, context: KubeletContext) {
    var nodes: [String: SimulatedNode] = [:]
    for (i, n) in fleet.nodes.enumerated() {
      nodes[n.name] = SimulatedNode(name: n.name, kind: n.kind, hostIP: "127.0.\(1 + i / 250).\(1 + i % 250)")
    }
    self.nodes = nodes
    self.context = context
  }

  var api: ClusterAPI { context.api }

  func isFailed(_ node: String) -> Bool { state.withLock { $0.failed.contains(node) } }

  // MARK: nodes

  /// Creates (or refreshes) every Node and its Lease.
  func register() throws(EdgeSimError) {
    for node in nodes.values.sorted(by: { $0.name < $1.name }) {
      do { try api.create("/api/v1/nodes", nodeObject(node)) } catch where error.reason == "AlreadyExists" {}
      try postStatus(node, ready: true)
      try renewLease(node)
    }
  }

  private func nodeObject(_ node: SimulatedNode) -> JSONValue {
    ["apiVersion": "v1", "kind": "Node",
     "metadata": ["name": .string(node.name),
                  "labels": ["kubernetes.io/hostname": .string(node.name), "kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux",
                             "beta.kubernetes.io/arch": "arm64", "beta.kubernetes.io/os": "linux"],
                  "annotations": ["node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                  "edgesim.edgeml.io/fixture": .string(node.kind.fixture)]],
     "spec": [:]]
  }

  /// The kubelet's node status (pkg/kubelet/nodestatus/setters.go): capacity, allocatable (capacity
  /// minus the default hard eviction threshold memory.available<100Mi), conditions, addresses, nodeInfo.
  func postStatus(_ node: SimulatedNode, ready: Bool) throws(EdgeSimError) {
    let now = rfc3339(Date())
    let memoryKi = node.kind.memoryMiB * 1024
    let current = api.get(Keys.nodes, name: node.name)
    var conditions = current?[path: ["status", "conditions"]]?.arrayValue ?? []
    let extra: JSONObject = ["lastHeartbeatTime": .string(now)]
    setCondition(&conditions, type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available", now: now, extra: extra)
    setCondition(&conditions, type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure", now: now, extra: extra)
    setCondition(&conditions, type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available", now: now, extra: extra)
    setCondition(&conditions, type: "Ready", status: ready ? "True" : "False", reason: ready ? "KubeletReady" : "KubeletNotReady",
                 message: ready ? "kubelet is posting ready status" : "container runtime is down", now: now, extra: extra)
    let uuid = PodStatusModel.imageID(node.name).suffix(32)
    var capacity: JSONValue = ["cpu": .string(String(node.kind.cpuCores)), "memory": .string("\(memoryKi)Ki"), "pods": "110",
                               "ephemeral-storage": "59699828Ki", "hugepages-2Mi": "0"]
    var allocatable: JSONValue = ["cpu": .string(String(node.kind.cpuCores)), "memory": .string("\(memoryKi - 102_400)Ki"), "pods": "110",
                                  "ephemeral-storage": "55018525544", "hugepages-2Mi": "0"]
    if context.configuration.devicePlugin {
      capacity["nvidia.com/gpu"] = "1"
      allocatable["nvidia.com/gpu"] = "1"
    }
    let status: JSONValue = [
      "capacity": capacity,
      "allocatable": allocatable,
      "conditions": .array(conditions),
      "addresses": [["type": "InternalIP", "address": .string(node.hostIP)], ["type": "Hostname", "address": .string(node.name)]],
      "daemonEndpoints": ["kubeletEndpoint": ["Port": 10250]],
      "nodeInfo": ["machineID": .string(String(uuid)), "systemUUID": .string(String(uuid)), "bootID": .string(UUID().uuidString.lowercased()),
                   "kernelVersion": .string(node.kind.kernelVersion), "osImage": .string(node.kind.osImage),
                   "containerRuntimeVersion": "containerd://1.7.27", "kubeletVersion": "v1.36.0", "kubeProxyVersion": "",
                   "operatingSystem": "linux", "architecture": "arm64"],
    ]
    try api.mergePatch(Paths.node(node.name) + "/status", ["status": status])
  }

  func renewLease(_ node: SimulatedNode) throws(EdgeSimError) {
    let now = rfc3339Micro(Date())
    if api.get(Keys.leases, namespace: "kube-node-lease", name: node.name) == nil {
      var lease: JSONValue = ["apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                              "metadata": ["name": .string(node.name), "namespace": "kube-node-lease"],
                              "spec": ["holderIdentity": .string(node.name), "leaseDurationSeconds": JSONValue(Int(Kubelet.leaseDurationSeconds)),
                                       "renewTime": .string(now)]]
      if let n = api.get(Keys.nodes, name: node.name) {
        lease[path: ["metadata", "ownerReferences"]] = [["apiVersion": "v1", "kind": "Node", "name": .string(node.name), "uid": .string(n.uid)]]
      }
      do { try api.create("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", lease); return } catch where error.reason == "AlreadyExists" {}
    }
    try api.mergePatch(Paths.lease(node.name), ["spec": ["renewTime": .string(now), "holderIdentity": .string(node.name)]])
  }

  /// Renews every live node's Lease every 10 s (scaled) and re-posts its status every 5 minutes
  /// (`nodeStatusReportFrequency`, pkg/kubelet/apis/config/v1beta1/defaults.go) until cancelled.
  func heartbeats() async {
    var renewals = 0
    while !Task.isCancelled {
      do { try await Task.sleep(for: .milliseconds(Int(context.runtime.renewIntervalSeconds * 1000))) } catch { return }
      renewals += 1
      let reportStatus = renewals % 30 == 0
      for node in nodes.values where !isFailed(node.name) {
        try? renewLease(node)
        // The kubelet posts its status when it differs from the API's (here: someone, the node
        // lifecycle controller racing a recovery, wrote Ready≠True) or every report period.
        let drifted = api.get(Keys.nodes, name: node.name)?.conditionStatus("Ready") != "True"
        if reportStatus || drifted { try? postStatus(node, ready: true) }
        if drifted { restorePodReadiness(on: node.name) }
      }
    }
  }

  /// After the node lifecycle controller marked this live node's pods not Ready (it lost sight of
  /// the heartbeats, pkg/controller/util/node `MarkPodsNotReady`), the kubelet's status manager
  /// writes what it knows again: pods whose containers are all ready are Ready.
  private func restorePodReadiness(on node: String) {
    let now = rfc3339(Date())
    for pod in api.list(Keys.pods) where pod.nodeName == node && !pod.isDeleting && !pod.isTerminal && pod.conditionStatus("Ready") == "False" {
      let containers = pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []
      guard !containers.isEmpty, containers.allSatisfy({ $0["ready"]?.boolValue == true }) else { continue }
      var conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
      for type in ["Ready", "ContainersReady"] { setCondition(&conditions, type: type, status: "True", now: now, extra: ["lastProbeTime": nil]) }
      _ = try? api.mergePatch(Paths.pod(pod.namespace, pod.name) + "/status", ["status": ["conditions": .array(conditions)]])
    }
  }

  // MARK: pods

  func handlePod(_ pod: JSONValue, deleted: Bool) {
    guard let node = nodes[pod.nodeName], !isFailed(node.name) else { return }
    sync(pod, deleted: deleted, node: node)
  }

  private func sync(_ pod: JSONValue, deleted: Bool, node: SimulatedNode) {
    let uid = pod.uid
    if deleted {
      let (worker, isRunning) = state.withLock { s -> (Worker?, Bool) in
        let worker = s.workers.removeValue(forKey: uid)
        let isRunning = s.running[uid] != nil
        if isRunning { s.awaitingCleanup.insert(uid) }
        return (worker, isRunning)
      }
      worker?.stop.finish()
      if !isRunning { removeVolumes(ofPod: uid) }
      return
    }
    if pod.isDeleting {
      // Graceful deletion: stop the worker, then remove the object (the kubelet's status manager
      // deletes with grace period 0 once the containers are gone, pkg/kubelet/status/status_manager.go).
      // The object goes once the containers have stopped (SIGTERM, the grace period): a process
      // still shutting down keeps its pod, and so its bound token, as on a real node.
      let (worker, stopping) = state.withLock { s -> (Worker?, Bool) in
        let worker = s.workers.removeValue(forKey: uid)
        let stopping = worker != nil && s.running[uid] != nil
        if stopping { s.deleteWhenStopped[uid] = ObjectKey(pod) }
        return (worker, stopping)
      }
      if let worker {
        worker.stop.yield(())
        worker.stop.finish()
      }
      if !stopping { deleteStopped(uid: uid, key: ObjectKey(pod)) }
      return
    }
    if pod.isTerminal { return }
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    let podIP: UInt32? = state.withLock { s in
      guard s.workers[uid] == nil else { return nil }
      s.workers[uid] = Worker(uid: uid, stop: continuation)
      s.running[uid, default: 0] += 1
      return PodIPs.allocate()
    }
    guard let ip = podIP else { return }
    let ipText = "\(ip >> 24).\((ip >> 16) & 0xff).\((ip >> 8) & 0xff).\(ip & 0xff)"
    let worker = PodWorker(pod: pod, node: node, context: context, podIP: ipText)
    context.runtime.spawnOnNode {
      await withDiscardingTaskGroup { group in
        group.addTask { await worker.run() }
        for await _ in stream { break }   // stop requested, or the kubelet went away
        group.cancelAll()
      }
      let (deleted, stopped) = self.state.withLock { s -> (Bool, ObjectKey?) in
        let left = (s.running[uid] ?? 1) - 1
        s.running[uid] = left > 0 ? left : nil
        return (left <= 0 && s.awaitingCleanup.remove(uid) != nil, left <= 0 ? s.deleteWhenStopped.removeValue(forKey: uid) : nil)
      }
      if deleted { self.removeVolumes(ofPod: uid) }
      if let stopped { self.deleteStopped(uid: uid, key: stopped) }
      // A worker that ran to the end (Job pods) stays registered until the pod is deleted, so it is not restarted.
    }
  }

  /// Finishes a graceful deletion: removes the pod object with grace period 0 once its containers
  /// are gone, as the kubelet's status manager does (pkg/kubelet/status/status_manager.go).
  private func deleteStopped(uid: String, key: ObjectKey) {
    let api = self.api
    context.runtime.spawn {
      _ = try? api.delete(Paths.pod(key.namespace, key.name),
                          options: ["apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0, "preconditions": ["uid": .string(uid)]])
    }
  }

  /// Removes a deleted pod's volumes from the node's disk (`pods/<uid>/volumes`): Secret files
  /// such as an engine's decryption key must not outlive the pod. The kubelet does this once the
  /// pod is gone and its containers have stopped (pkg/kubelet/kubelet_volumes.go
  /// `cleanupOrphanedPodDirs`: the volume directories of pods it no longer knows are removed).
  /// hostPath and PersistentVolumeClaim volumes live elsewhere and stay.
  func removeVolumes(ofPod uid: String) {
    guard !uid.isEmpty else { return }
    let volumes = context.configuration.simRoot.appendingPathComponent("pods/\(uid)/volumes")
    try? FileManager.default.removeItem(at: volumes)
  }

  // MARK: failure

  func fail(_ node: String) {
    let uids = api.list(Keys.pods).filter { $0.nodeName == node }.map(\.uid)
    context.metrics.setReachable(node, false)
    let stops = state.withLock { s -> [Worker] in
      s.failed.insert(node)
      return uids.compactMap { s.workers.removeValue(forKey: $0) }
    }
    for w in stops { w.stop.finish() }
  }

  func recover(_ node: String) {
    guard let n = nodes[node] else { return }
    _ = state.withLock { $0.failed.remove(node) }
    context.metrics.setReachable(node, true)
    try? postStatus(n, ready: true)
    try? renewLease(n)
    for pod in api.list(Keys.pods) where pod.nodeName == node { sync(pod, deleted: false, node: n) }
  }

  func stopAll() {
    let all = state.withLock { s -> [Worker] in defer { s.workers = [:] }; return Array(s.workers.values) }
    for w in all { w.stop.finish() }
  }
}
