import Foundation
import KubeCore
import KubeEmulator
import Logging

/// The kube-controller-manager part of the simulator: which events wake which controller.
final class Controllers: Sendable {
  let deployments: Controller
  let replicaSets: Controller
  let deploymentController: DeploymentController
  let replicaSetController: ReplicaSetController
  let api: ClusterAPI

  init(api: ClusterAPI, runtime: Runtime, logger: Logger) {
    self.api = api
    deployments = Controller(name: "deployment", runtime: runtime)
    replicaSets = Controller(name: "replicaset", runtime: runtime)
    deploymentController = DeploymentController(api: api.as("serviceaccount:kube-system:deployment-controller"), runtime: runtime, logger: logger)
    replicaSetController = ReplicaSetController(api: api.as("serviceaccount:kube-system:replicaset-controller"), runtime: runtime, logger: logger)
  }

  func run(in group: inout DiscardingTaskGroup) {
    let (d, dc, r, rc) = (deployments, deploymentController, replicaSets, replicaSetController)
    group.addTask { await d.run { await dc.reconcile($0) } }
    group.addTask { await r.run { await rc.reconcile($0) } }
  }

  func resync() async {
    for d in api.list(Keys.deployments) { await deployments.add(ObjectKey(d)) }
    for r in api.list(Keys.replicaSets) { await replicaSets.add(ObjectKey(r)) }
  }

  func handle(_ event: StoreEvent) async {
    let object = event.object
    switch event.storageKey {
    case Keys.deployments:
      await deployments.add(ObjectKey(object))
    case Keys.replicaSets:
      await replicaSets.add(ObjectKey(object))
      if let owner = object.controllerName(kind: "Deployment") { await deployments.add(ObjectKey(object.namespace, owner)) }
    default:
      break
    }
  }

  func handlePod(_ event: StoreEvent) async {
    let pod = event.object
    if let owner = pod.controllerName(kind: "ReplicaSet") { await replicaSets.add(ObjectKey(pod.namespace, owner)) }
  }

  func handleNode(_ event: StoreEvent) async {}

  func handleLease(_ event: StoreEvent) async {}
}
