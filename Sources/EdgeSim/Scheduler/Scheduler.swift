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

  func handleNode() async { await retryUnschedulable() }

  /// Adds an existing pod to the cache (initial list).
  func observe(_ pod: JSONValue) { cache.withLock { $0.update(pod, deleted: false) } }

  func retryUnschedulable() async {
    let keys = unschedulable.withLock { $0 }
    for k in keys { await controller.add(k) }
  }

  func schedule(_ key: ObjectKey) async -> Duration? {
    guard let pod = api.get(Keys.pods, namespace: key.namespace, name: key.name), Scheduler.isPending(pod) else {
      unschedulable.withLock { _ = $0.remove(key) }
      return nil
    }
    let nodes = api.list(Keys.nodes).sorted { $0.name < $1.name }
    let snapshot = cache.withLock { $0 }
    let requested = snapshot.requested
    let owner = pod.controllerOwnerUID
    var failures: [[NodeFit.Failure]] = []
    var feasible: [JSONValue] = []
    for node in nodes {
      let f = NodeFit.failures(pod: pod, node: node, requested: requested[node.name] ?? Resources())
      if f.isEmpty { feasible.append(node) } else { failures.append(f) }
    }
    let best = feasible.min { a, b in
      let ka = (snapshot.pods(of: owner, on: a.name), requested[a.name]?.pods ?? 0, a.name)
      let kb = (snapshot.pods(of: owner, on: b.name), requested[b.name]?.pods ?? 0, b.name)
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
                              "target": ["apiVersion": "v1", "kind": "Node", "name": .string(node.name)]]
    do {
      try api.create(Paths.pod(key.namespace, key.name) + "/binding", binding)
      // Assume the binding (the scheduler cache's AssumePod) so the next pod sees it before the event arrives.
      var bound = pod
      bound[path: ["spec", "nodeName"]] = .string(node.name)
      cache.withLock { $0.update(bound, deleted: false) }
      events.record(pod, kind: "Pod", reason: "Scheduled", message: "Successfully assigned \(key.namespace)/\(key.name) to \(node.name)")
    } catch {
      logger.debug("Binding failed", metadata: ["kube.name": "\(key.name)", "error": "\(error)"])
      if error.reason != "Conflict" && error.reason != "NotFound" { return runtime.scaled(1) }
    }
    return nil
  }
}

