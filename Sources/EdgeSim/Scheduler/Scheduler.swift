import Foundation
import KubeEmulator
import Synchronization
import KubeCore
import Logging

/// Binds pending pods to nodes, as kube-scheduler's default profile does for `schedulerName: default-scheduler`.
///
/// Filters are `NodeFit`'s; among feasible nodes the pod goes to the one with the fewest pods of
/// the same controller, then the fewest pods overall (the spreading of the default
/// PodTopologySpread constraints and NodeResourcesBalancedAllocation, simplified to counts).
/// An unschedulable pod gets `PodScheduled=False`, reason `Unschedulable`, and a `FailedScheduling`
/// Event; it is tried again whenever a node changes or a pod leaves a node (the scheduling queue's
/// move-on-event), and at the latest after five minutes (`podMaxInUnschedulablePodsDuration`).
final class Scheduler: Sendable {
  static let name = "default-scheduler"
  let api: ClusterAPI
  let events: EventRecorder
  let runtime: Runtime
  let logger: Logger
  private let unschedulable = Mutex<Set<ObjectKey>>([])
  private let cache = Mutex(SchedulerCache())
  /// Where the next search for feasible nodes starts (kube-scheduler's `nextStartNodeIndex`).
  private let nextStart = Mutex(0)
  /// Nodes as the filters read them, kept from node events (kube-scheduler's cache snapshot).
  private let nodes = Mutex(NodeSnapshot())
  let controller: Controller

  init(api: ClusterAPI, runtime: Runtime, logger: Logger) {
    self.api = api.as("kube-scheduler")
    self.events = EventRecorder(api: self.api, component: Scheduler.name)
    self.runtime = runtime
    self.logger = logger
    controller = Controller(name: "scheduler", runtime: runtime)
  }

  static func isPending(_ pod: JSONValue) -> Bool {
    pod.nodeName.isEmpty && !pod.isDeleting && !pod.isTerminal
      && (pod[path: ["spec", "schedulerName"]]?.stringValue ?? name) == name
  }

  func handlePod(_ event: StoreEvent) async {
    let pod = event.object
    cache.withLock { $0.update(pod, deleted: event.type == .deleted) }
    if event.type == .deleted || pod.isTerminal || (pod.isDeleting && event.previous?.isDeleting == false) {
      // A pod left a node or finished: its resources are free, so the unschedulable may fit now.
      await retryUnschedulable()
      return
    }
    if Scheduler.isPending(pod) { await controller.add(ObjectKey(pod)) }
  }

  func handleNode(_ event: StoreEvent) async {
    nodes.withLock { $0.update(event.object, deleted: event.type == .deleted) }
    await retryUnschedulable()
  }

  /// Adds an existing pod to the cache (initial list).
  func observe(_ pod: JSONValue) { cache.withLock { $0.update(pod, deleted: false) } }

  /// Adds an existing node to the snapshot (initial list).
  func observe(node: JSONValue) { nodes.withLock { $0.update(node, deleted: false) } }

  func retryUnschedulable() async {
    let keys = unschedulable.withLock { $0 }
    for k in keys { await controller.add(k) }
  }

  /// How many feasible nodes a search looks for before it stops (pkg/scheduler/schedule_one.go
  /// `numFeasibleNodesToFind` with the default `percentageOfNodesToScore` of 0: every node below 100
  /// nodes, else an adaptive 50% − nodes/125, at least 5% and at least 100 nodes).
  static func feasibleNodesToFind(_ all: Int) -> Int {
    let minimum = 100
    guard all >= minimum else { return all }
    let percentage = max(5, 50 - all / 125)
    return max(minimum, all * percentage / 100)
  }

  func schedule(_ key: ObjectKey) async -> Duration? {
    guard let pod = api.get(Keys.pods, namespace: key.namespace, name: key.name), Scheduler.isPending(pod) else {
      unschedulable.withLock { _ = $0.remove(key) }
      return nil
    }
    let podInfo = NodeFit.PodInfo(pod)
    let (nodes, matches) = self.nodes.withLock { ($0.nodes, $0.affinityMatches(podInfo)) }
    let snapshot = cache.withLock { $0 }
    let requested = snapshot.requested
    let owner = pod.controllerOwnerUID
    // Like kube-scheduler, stop once enough feasible nodes are found, and start the next search
    // where this one stopped, so that every node is considered in turn.
    let enough = Scheduler.feasibleNodesToFind(nodes.count)
    let start = nextStart.withLock { $0 } % max(1, nodes.count)
    var failures: [[NodeFit.Failure]] = []
    var feasible: [String] = []
    for i in 0..<nodes.count {
      let index = (start + i) % nodes.count
      let info = nodes[index]
      let f = NodeFit.failures(podInfo, info, requested: requested[info.name] ?? Resources(), matchesAffinity: matches[index])
      if f.isEmpty {
        feasible.append(info.name)
        if feasible.count >= enough { break }
      } else {
        failures.append(f)
      }
    }
    nextStart.withLock { $0 = (start + feasible.count + failures.count) % max(1, nodes.count) }
    let best = feasible.min { a, b in
      let ka = (snapshot.pods(of: owner, on: a), requested[a]?.pods ?? 0, a)
      let kb = (snapshot.pods(of: owner, on: b), requested[b]?.pods ?? 0, b)
      return ka < kb
    }
    guard let node = best else {
      let message = NodeFit.unschedulableMessage(nodeCount: nodes.count, failures: failures)
      unschedulable.withLock { _ = $0.insert(key) }
      let current = pod.condition("PodScheduled")
      if current?["message"]?.stringValue != message || current?["status"]?.stringValue != "False" {
        var conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
        setCondition(&conditions, type: "PodScheduled", status: "False", reason: "Unschedulable", message: message,
                     now: rfc3339(Date()), extra: ["lastProbeTime": nil])
        // schedule_one.go handleSchedulingFailure: the event first, then the pod's condition.
        events.record(pod, kind: "Pod", type: "Warning", reason: "FailedScheduling", message: message)
        _ = try? api.mergePatch(Paths.pod(key.namespace, key.name) + "/status", ["status": ["conditions": .array(conditions)]])
        logger.info("Pod unschedulable", metadata: ["kube.namespace": "\(key.namespace)", "kube.name": "\(key.name)", "scheduler.message": "\(message)"])
      }
      return runtime.scaled(300)
    }
    unschedulable.withLock { _ = $0.remove(key) }
    let binding: JSONValue = ["apiVersion": "v1", "kind": "Binding",
                              "metadata": ["name": .string(key.name), "namespace": .string(key.namespace), "uid": .string(pod.uid)],
                              "target": ["apiVersion": "v1", "kind": "Node", "name": .string(node)]]
    do {
      try api.create(Paths.pod(key.namespace, key.name) + "/binding", binding)
      // Assume the binding (the scheduler cache's AssumePod) so the next pod sees it before the event arrives.
      var bound = pod
      bound[path: ["spec", "nodeName"]] = .string(node)
      cache.withLock { $0.update(bound, deleted: false) }
      events.record(pod, kind: "Pod", reason: "Scheduled", message: "Successfully assigned \(key.namespace)/\(key.name) to \(node)")
    } catch {
      logger.debug("Binding failed", metadata: ["kube.name": "\(key.name)", "error": "\(error)"])
      if error.reason != "Conflict" && error.reason != "NotFound" { return runtime.scaled(1) }
    }
    return nil
  }
}

