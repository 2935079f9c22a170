import ControllerRuntime
import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Testing
@testable import EdgeML

/// The reconciler against a real emulator over HTTPS, with the kubelet's part played by the test
/// (EdgeSim does it for real in the end-to-end tests).
@Suite(.serialized) struct EdgeModelReconcilerTests {
  struct Cluster {
    let emulator: KubeEmulator
    let client: KubeClient
    func stop() async { client.shutdown(); await emulator.shutdown() }
  }

  func start() async throws -> Cluster {
    var config = KubeEmulator.Configuration()
    config.threads = 1
    let emulator = try await KubeEmulator.start(config)
    let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
    let client = try KubeClient(configuration: ClientConfiguration(server: emulator.url, certificateAuthorityPEM: ca,
                                                                   credential: .bearerToken(emulator.adminToken)), qps: 200, burst: 400)
    // The operator watches all three of its kinds: the manifests install every CRD, and so does this.
    for file in ["edgemodels", "rollouts", "driftpolicies"] {
      let crd = try #require(try loadYAML("crds/\(file).edgeml.io.yaml").first)
      _ = try await client.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
                                                      namespaced: false), crd)
    }
    // The RuntimeClass the model's pods name, as K3s pre-installs it (the API server refuses pods naming a missing one).
    _ = try await client.create(GroupVersionResource(group: "node.k8s.io", version: "v1", resource: "runtimeclasses", namespaced: false),
                                ["apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": ["name": "nvidia"], "handler": "nvidia"])
    for (name, module) in [("nx-1", "orin-nx-16gb"), ("nx-2", "orin-nx-16gb"), ("agx-1", "agx-orin-64gb")] {
      _ = try await client.create(.nodes, [
        "apiVersion": "v1", "kind": "Node",
        "metadata": ["name": .string(name), "labels": [
          "kubernetes.io/hostname": .string(name), "edgeml.io/jetson.module": .string(module), "edgeml.io/l4t": "36.4.3",
          "edgeml.io/tensorrt": "10.3.0", "edgeml.io/gpu.arch": "sm_87", "edgeml.io/dla.cores": "2", "edgeml.io/memory.mib": "15000"]],
      ])
      _ = try await client.patch(.nodes, name: name, ["status": ["conditions": [["type": "Ready", "status": "True"]],
                                                                 "allocatable": ["nvidia.com/gpu": "1"]]],
                                 type: .merge, subresource: "status")
    }
    return Cluster(emulator: emulator, client: client)
  }

  /// The operator's controllers on `c`, on `clock`, resolving MLflow aliases in `mlflow` (default: none).
  func runOperator(_ c: Cluster, mlflow: any MLflowRegistry = MLflowRESTRegistry(environment: [:]),
                   clock: any ControllerClock = SystemClock()) async -> (Task<Void, any Error>, Manager) {
    await run(c, OperatorAssembly.controllers(builderImage: "ghcr.io/edgeml/edgeml:0.1.0", workers: 2, mlflow: mlflow), clock: clock)
  }

  /// `controllers` on `c`, on `clock`, in a manager of their own (fresh caches); cancelling the task stops it.
  func run(_ c: Cluster, _ controllers: [ControllerSpec], clock: any ControllerClock) async -> (Task<Void, any Error>, Manager) {
    let recorder = EventRecorder(client: c.client, reportingController: "edgeml.io/operator", reportingInstance: "test", clock: clock)
    let manager = await Manager(client: c.client, controllers: controllers, clock: clock,
                                recorder: recorder, leaderElector: nil, logger: Logger(label: "test"))
    let stop = Signal()
    let task = Task {
      try await withTaskCancellationHandler {
        try await manager.run(until: { try? await stop.wait() })
      } onCancel: { stop.fire() }
    }
    return (task, manager)
  }

  func eventually(_ seconds: Double = 10, _ body: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if (try? await body()) == true { return true }
      try await Task.sleep(for: .milliseconds(50))
    }
    return try await body()
  }

  func status(_ c: Cluster, _ name: String = "detector") async throws -> JSONValue {
    try await c.client.get(EdgeModel.resource, namespace: "default", name: name)["status"] ?? [:]
  }

  func condition(_ s: JSONValue, _ type: String) -> JSONValue? { s["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type } }

  let model: JSONValue = [
    "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": ["name": "detector", "namespace": "default"],
    "spec": ["model": ["uri": "https://models.example.com/detector.onnx", "version": "3",
                       "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"],
             "placement": ["replicas": 2], "serving": ["image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"]],
  ]

  @Test func workloadsAreAppliedStatusFollowsThePodsAndASteadyClusterSeesNoWrites() async throws {
    let c = try await start()
    let (task, _) = await runOperator(c)
    defer { task.cancel() }
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", model)
    #expect(try await eventually { try await c.client.list(.deployments, namespace: "default").items.count == 2 })
    let deployments = try await c.client.list(.deployments, namespace: "default").items
    // Server-side apply: the operator owns its fields as an Apply manager.
    let managers = deployments[0][path: ["metadata", "managedFields"]]?.arrayValue ?? []
    #expect(managers.contains { $0["manager"] == "edgeml-operator" && $0["operation"] == "Apply" })
    // The Service is applied after the workloads (in the plan's order): look for it until it is there.
    #expect(try await eventually {
      try await c.client.get(EdgeModelReconciler.services, namespace: "default", name: "detector")["spec"]?["selector"] == ["edgeml.io/model": "detector"]
    })
    #expect(try await eventually { condition(try await status(c), "EngineReady")?["reason"] == "Building" })
    #expect(condition(try await status(c), "Scheduled")?["status"] == "True")

    // The kubelet's part: one pod per Deployment whose engine init container finished.
    for (i, d) in deployments.enumerated() {
      let template = try #require(d[path: ["spec", "template"]])
      let key = try #require(template[path: ["metadata", "annotations", "edgeml.io/engine-key"]]?.stringValue)
      var pod: JSONValue = ["apiVersion": "v1", "kind": "Pod",
                            "metadata": ["name": .string("p\(i)"), "namespace": "default", "labels": template[path: ["metadata", "labels"]]!,
                                         "annotations": template[path: ["metadata", "annotations"]]!],
                            "spec": template["spec"]!]
      pod[path: ["spec", "nodeName"]] = i == 0 ? "nx-1" : "agx-1"
      _ = try await c.client.create(.pods, namespace: "default", pod)
      let result = #"{"key":"\#(key)","state":"Built","cacheHit":\#(i == 1),"buildSeconds":\#(i == 1 ? 0 : 41.5),"sizeBytes":812}"#
      _ = try await c.client.patch(.pods, namespace: "default", name: "p\(i)", ["status": [
        "conditions": [["type": "Ready", "status": "True"]],
        "initContainerStatuses": [["name": "engine", "ready": true, "restartCount": 0, "image": "x", "imageID": "",
                                   "state": ["terminated": ["exitCode": 0, "reason": "Completed", "message": .string(result)]]]],
      ]], type: .merge, subresource: "status")
    }
    #expect(try await eventually { try await status(c)["phase"] == "Ready" })
    let s = try await status(c)
    #expect(s["readyReplicas"] == 2 && s["currentVersion"] == "3")
    #expect(s["engines"]?.arrayValue?.compactMap { $0["state"]?.stringValue } == ["Built", "Built"])
    // Events follow the status write that caused them.
    #expect(try await eventually {
      let reasons = try await c.client.list(.events, namespace: "default").items.compactMap { $0["reason"]?.stringValue }
      return reasons.contains("EngineBuilt") && reasons.contains("Ready")
    })

    // Nothing changes: nothing is written.
    try await Task.sleep(for: .milliseconds(500))
    let before = try await c.client.list(.nodes).resourceVersion
    try await Task.sleep(for: .seconds(2))
    #expect(try await c.client.list(.nodes).resourceVersion == before)

    // The AGX node loses its Jetson labels (re-imaged): its group and Deployment go away.
    _ = try await c.client.patch(.nodes, name: "agx-1", ["metadata": ["labels": ["edgeml.io/tensorrt": nil]]], type: .merge)
    #expect(try await eventually { try await c.client.list(.deployments, namespace: "default").items.count == 1 })
    #expect(try await eventually { try await status(c)["placement"]?["nodeGroups"] == 1 })
    await c.stop()
  }

  @Test func nothingEligibleIsReportedAndNothingIsCreated() async throws {
    let c = try await start()
    let (task, _) = await runOperator(c)
    defer { task.cancel() }
    var m = model
    m[path: ["spec", "placement", "jetson"]] = ["modules": ["xavier-nx-8gb"]]
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", m)
    #expect(try await eventually { condition(try await status(c), "Scheduled")?["status"] == "False" })
    let s = try await status(c)
    #expect(condition(s, "Scheduled")?["message"] == "0/3 nodes eligible: 3 module not in [xavier-nx-8gb]")
    #expect(s["phase"] == "Pending")
    #expect(try await c.client.list(.deployments, namespace: "default").items.isEmpty)
    #expect(try await eventually {
      let warnings = try await c.client.list(.events, namespace: "default").items.filter { $0["type"] == "Warning" }
      return warnings.contains { $0["reason"] == "NoEligibleNodes" && $0["note"]?.stringValue?.contains("module not in") == true }
    })
    await c.stop()
  }

  @Test("deleting 20 EdgeModels while the operator reconciles them leaves no Deployment or Service naming a deleted owner")
  func deletingWhileReconciling() async throws {
    let c = try await start()
    let (task, manager) = await runOperator(c)
    defer { task.cancel() }
    for i in 0..<20 {
      var m = model
      m[path: ["metadata", "name"]] = .string("m\(i)")
      _ = try await c.client.create(EdgeModel.resource, namespace: "default", m)
    }
    // Deleted while the operator is busy with them: some before their first reconcile, some after
    // their workloads exist, the last ones while their own reconciles are queued.
    #expect(try await eventually { try await c.client.list(.deployments, namespace: "default").items.count >= 4 })
    for i in 0..<20 {
      try await c.client.delete(EdgeModel.resource, namespace: "default", name: "m\(i)")
    }
    // Once the queue is quiet, nothing is left: no object names an owner uid that is gone.
    #expect(try await eventually(20) {
      let queue = manager.controllers[0].queue
      let left = try await c.client.list(.deployments, namespace: "default").items.count
        + (try await c.client.list(EdgeModelReconciler.services, namespace: "default", labelSelector: OperatorAssembly.managedSelector).items.count)
      return left == 0 && queue.depth == 0
    })
    // And nothing comes back later from a stale cache.
    try await Task.sleep(for: .milliseconds(500))
    #expect(try await c.client.list(.deployments, namespace: "default").items.isEmpty)
    #expect(try await c.client.list(EdgeModelReconciler.services, namespace: "default", labelSelector: OperatorAssembly.managedSelector).items.isEmpty)
    await c.stop()
  }
}
