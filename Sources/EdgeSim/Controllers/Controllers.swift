import Foundation
import KubeCore
import KubeEmulator
import Logging
import Synchronization

/// The kube-controller-manager part of the simulator: which events wake which controller.
final class Controllers: Sendable {
  let deployments: Controller
  let replicaSets: Controller
  let daemonSets: Controller
  let jobs: Controller
  let nodes: Controller
  let evictions: Controller
  let disruption: Controller
  let deploymentController: DeploymentController
  let replicaSetController: ReplicaSetController
  let daemonSetController: DaemonSetController
  let jobController: JobController
  let nodeLifecycle: NodeLifecycleController
  let disruptionController: DisruptionController
  let api: ClusterAPI
  /// Each namespace's budgets by name, with their parsed selectors (nil: unparseable, matches no
  /// pod): the disruption controller's pod handlers look a pod's budgets up here, as upstream's
  /// `getPdbForPod` does in its informer's cache, instead of listing every budget on every pod
  /// event (with 1,000 models that was a sorted copy of 1,000 budgets per pod write).
  private let budgets = Mutex<[String: [String: LabelSelector?]]>([:])

  init(api: ClusterAPI, runtime: Runtime, logger: Logger) {
    self.api = api
    deployments = Controller(name: "deployment", runtime: runtime)
    replicaSets = Controller(name: "replicaset", runtime: runtime)
    daemonSets = Controller(name: "daemonset", runtime: runtime)
    jobs = Controller(name: "job", runtime: runtime)
    nodes = Controller(name: "nodelifecycle", runtime: runtime)
    evictions = Controller(name: "taint-eviction", runtime: runtime)
    disruption = Controller(name: "disruption", runtime: runtime)
    disruptionController = DisruptionController(api: api.as("serviceaccount:kube-system:disruption-controller"), runtime: runtime, logger: logger)
    daemonSetController = DaemonSetController(api: api.as("serviceaccount:kube-system:daemon-set-controller"), runtime: runtime, logger: logger)
    let (jobAPI, jobEvents) = component("job-controller")
    jobController = JobController(api: jobAPI, runtime: runtime, logger: logger, events: jobEvents)
    let (nodeAPI, nodeEvents) = component("node-controller")
    nodeLifecycle = NodeLifecycleController(api: nodeAPI, runtime: runtime, logger: logger, events: nodeEvents)
    func component(_ name: String) -> (ClusterAPI, EventRecorder) {
      let client = api.as("serviceaccount:kube-system:\(name)")
      return (client, EventRecorder(api: client, component: name))
    }
    let (deploymentAPI, deploymentEvents) = component("deployment-controller")
    deploymentController = DeploymentController(api: deploymentAPI, runtime: runtime, logger: logger, events: deploymentEvents)
    let (replicaSetAPI, replicaSetEvents) = component("replicaset-controller")
    replicaSetController = ReplicaSetController(api: replicaSetAPI, runtime: runtime, logger: logger, events: replicaSetEvents)
  }

  func run(in group: inout DiscardingTaskGroup) {
    let (d, dc, r, rc) = (deployments, deploymentController, replicaSets, replicaSetController)
    group.addTask { await d.run { await dc.reconcile($0) } }
    group.addTask { await r.run { await rc.reconcile($0) } }
    let (ds, dsc, j, jc, n, e, nl) = (daemonSets, daemonSetController, jobs, jobController, nodes, evictions, nodeLifecycle)
    group.addTask { await ds.run { await dsc.reconcile($0) } }
    group.addTask { await j.run { await jc.reconcile($0) } }
    group.addTask { await n.run { await nl.reconcileNode($0) } }
    group.addTask { await e.run { await nl.reconcilePod($0) } }
    let (pdb, pdbc) = (disruption, disruptionController)
    group.addTask { await pdb.run { await pdbc.reconcile($0) } }
  }

  func resync() async {
    for d in api.list(Keys.deployments) { await deployments.add(ObjectKey(d)) }
    for r in api.list(Keys.replicaSets) { await replicaSets.add(ObjectKey(r)) }
    for d in api.list(Keys.daemonSets) { await daemonSets.add(ObjectKey(d)) }
    for j in api.list(Keys.jobs) { await jobs.add(ObjectKey(j)) }
    for n in api.list(Keys.nodes) { await nodes.add(ObjectKey("", n.name)) }
    for b in api.list(Keys.disruptionBudgets) {
      remember(budget: b, deleted: false)
      await disruption.add(ObjectKey(b))
    }
  }

  private func remember(budget: JSONValue, deleted: Bool) {
    let selector = deleted ? nil : try? SelectorMemo.shared.selector(budget[path: ["spec", "selector"]] ?? .null)
    budgets.withLock { all in
      if deleted { all[budget.namespace]?[budget.name] = nil } else { all[budget.namespace, default: [:]][budget.name] = .some(selector) }
    }
  }

  func handle(_ event: StoreEvent) async {
    let object = event.object
    switch event.storageKey {
    case Keys.deployments:
      await deployments.add(ObjectKey(object))
    case Keys.replicaSets:
      await replicaSets.add(ObjectKey(object))
      if let owner = object.controllerName(kind: "Deployment") { await deployments.add(ObjectKey(object.namespace, owner)) }
    case Keys.daemonSets:
      await daemonSets.add(ObjectKey(object))
    case Keys.jobs:
      await jobs.add(ObjectKey(object))
    case Keys.disruptionBudgets:
      remember(budget: object, deleted: event.type == .deleted)
      if event.type != .deleted { await disruption.add(ObjectKey(object)) }
    default:
      break
    }
  }

  func handlePod(_ event: StoreEvent) async {
    let pod = event.object
    if let owner = pod.controllerName(kind: "ReplicaSet") {
      await replicaSets.add(ObjectKey(pod.namespace, owner))
      // A Recreate rollout waits for old pods to be gone, which changes no ReplicaSet status.
      if event.type == .deleted, let deployment = api.get(Keys.replicaSets, namespace: pod.namespace, name: owner)?.controllerName(kind: "Deployment") {
        await deployments.add(ObjectKey(pod.namespace, deployment))
      }
    }
    if let owner = pod.controllerName(kind: "DaemonSet") { await daemonSets.add(ObjectKey(pod.namespace, owner)) }
    if let owner = pod.controllerName(kind: "Job") { await jobs.add(ObjectKey(pod.namespace, owner)) }
    // The disruption controller's pod handlers (addPod, updatePod, deletePod): the budgets covering the pod.
    let labels = pod.labels
    let covering = budgets.withLock { all in
      (all[pod.namespace] ?? [:]).compactMap { name, selector in selector?.matches(labels) == true ? name : nil }
    }
    for name in covering { await disruption.add(ObjectKey(pod.namespace, name)) }
    if event.type != .deleted, !pod.nodeName.isEmpty, !pod.isDeleting, nodeHasNoExecuteTaint(pod.nodeName) {
      await evictions.add(ObjectKey(pod))
    }
  }

  private func nodeHasNoExecuteTaint(_ name: String) -> Bool {
    (api.get(Keys.nodes, name: name)?[path: ["spec", "taints"]]?.arrayValue ?? []).contains { $0["effect"]?.stringValue == "NoExecute" }
  }

  func handleNode(_ event: StoreEvent) async {
    let node = event.object
    if event.type != .deleted { await nodes.add(ObjectKey("", node.name)) }
    // Eligibility for daemons may have changed (labels, taints).
    for ds in api.list(Keys.daemonSets) { await daemonSets.add(ObjectKey(ds)) }
    let taints = node[path: ["spec", "taints"]]
    if taints != event.previous?[path: ["spec", "taints"]] {
      for pod in api.list(Keys.pods) where pod.nodeName == node.name && !pod.isDeleting { await evictions.add(ObjectKey(pod)) }
    }
  }

  func handleLease(_ event: StoreEvent) async {
    guard event.type != .deleted else { return }
    await nodes.add(ObjectKey("", event.object.name))
  }
}
