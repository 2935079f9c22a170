import EdgeMLVocabulary
import ArgumentParser
import ControllerRuntime
import EdgeML
import EdgeSim
import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Logging
import NodeAgent
import OperatorCLI
import ServiceLifecycle
import YAML

/// `edgeml demo`: the emulator, EdgeSim and the real operator in one process; a model placed,
/// its engines built per node group, served, moved to new versions by canaries and an A/B test,
/// then the drift loop: drift detected, the model retrained, rolled out, and the loop quiet again.
struct DemoCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "demo",
    abstract: "Show an EdgeModel landing on a simulated Jetson cluster, rolling to new versions, drifting, retrained and rolled out.")

  @Option(help: "The simulated fleet, KIND=COUNT,… (kinds: orin-nx-16gb, agx-orin-64gb, orin-nano-8gb, xavier-nx-8gb, orin-nx-16gb-r35.4.1).")
  var nodes = "orin-nx-16gb=3,agx-orin-64gb=2,orin-nano-8gb=2,xavier-nx-8gb=1"
  @Option(help: "Simulated time factor: 0.01 runs a 400 s engine build in 4 s.") var speed = 0.01
  @Option(help: "Replicas of the demo model.") var replicas = 5
  @Flag(help: "Keep serving the cluster after the story ends (Ctrl-C stops).") var serve = false
  @Option(help: "Where to write the kubeconfig.") var kubeconfig: String?
  @Option(help: "Directory for simulated node disks, pod volumes and the demo model (default: a new temporary directory).") var simRoot: String?
  @Option(help: "Seconds to wait for each step before giving up.") var stepTimeout = 120.0

  func validate() throws {
    guard speed > 0, speed <= 1 else { throw ValidationError("--speed must be in (0, 1].") }
    guard replicas >= 1 else { throw ValidationError("--replicas must be at least 1.") }
  }

  func run() async throws {
    let clock = DemoClock()
    let fleet = try FleetSpec(parsing: nodes)
    let root = URL(fileURLWithPath: simRoot ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("edgeml-demo-\(getpid())"))
    var config = KubeEmulator.Configuration()
    config.threads = 2
    let emulator = try await KubeEmulator.start(config)
    let kubeconfigPath = kubeconfig ?? root.appendingPathComponent("kubeconfig").path
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    try Data(try emulator.kubeconfig(credential: .adminToken).utf8).write(to: URL(fileURLWithPath: kubeconfigPath), options: .atomic)
    chmod(kubeconfigPath, 0o600)

    // MLflow, when installed, for the drift act's retrained model: started now, it takes seconds.
    let (mlflow, mlflowNote) = DemoMLflow.start(in: root.appendingPathComponent("mlflow"))
    defer { mlflow?.stop() }

    let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    // Simulated clients send the model requests; version 4 will be slow and version 3 will fail
    // 5 % of its requests where version 5 fails 0.5 % (what the analysis and the A/B test find).
    let traffic = TrafficConfiguration(seed: 7, loads: [ModelLoad(namespace: "vision", model: "detector", requestsPerSecond: 40)], behaviours: [
      VariantBehaviour(podLabels: ["edgeml.io/model-version": "4"], latency: LatencyDistribution(medianMilliseconds: 60, p99Milliseconds: 150)),
      VariantBehaviour(podLabels: ["edgeml.io/model-version": "3"], latency: LatencyDistribution(medianMilliseconds: 8, p99Milliseconds: 16),
                       errorRate: 0.05),
      VariantBehaviour(podLabels: ["edgeml.io/model-version": "5"], latency: LatencyDistribution(medianMilliseconds: 8, p99Milliseconds: 16),
                       errorRate: 0.005),
    ])
    let sim = try await EdgeSim.start(emulator: emulator, configuration: .init(
      fleet: fleet, simRoot: root.appendingPathComponent("cluster"),
      executables: EdgeSim.Configuration.defaultExecutables(binDirectory: binDirectory), speed: speed, traffic: traffic))
    clock.say("Kubernetes API (emulator) at \(emulator.url); EdgeSim with \(fleet.nodes.count) Jetson nodes, time x\(speed)")
    for path in sim.configuration.missingExecutables {
      clock.say("warning: \(path) is missing (swift build builds it); init containers that run it will fail")
    }

    let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
    let client = try KubeClient(configuration: ClientConfiguration(server: emulator.url, certificateAuthorityPEM: ca,
                                                                   credential: .bearerToken(emulator.adminToken)), qps: 100, burst: 200)
    for file in try crdFiles() {
      _ = try await client.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
                                                      namespaced: false), try loadManifest(file))
    }
    clock.say("CRDs installed: EdgeModel, Rollout, DriftPolicy")

    // 1. The node agent labels each node from its Jetson file system (a fixture tree per module).
    let quiet = Logger(label: "edgeml.demo", factory: { _ in SwiftLogNoOpLogHandler() })
    for (name, kind) in fleet.nodes {
      guard let tree = NodeAgentFixtures.root(forTree: kind.fixture) else { throw ValidationError("no fixture tree \(kind.fixture)") }
      let outcome = try await NodeLabeler.label(node: name, root: tree, client: client, logger: quiet)
      let l = outcome.labels
      clock.say("node \(name) labelled by node-agent: \(l["edgeml.io/jetson.module"] ?? "?") · L4T \(l["edgeml.io/l4t"] ?? "?") · TensorRT \(l["edgeml.io/tensorrt"] ?? "?") · \(l["edgeml.io/gpu.arch"] ?? "?") · \(l["edgeml.io/dla.cores"] ?? "0") DLA")
    }

    // 2. The operator, as `edgeml operator` runs it.
    let recorder = EventRecorder(client: client, reportingController: "edgeml.io/operator", reportingInstance: "demo")
    // With MLflow, the operator reads it as `edgeml operator` does at MLFLOW_TRACKING_URI: a Rollout a
    // user applies to `mlflow://detector/N` with no digest gets it pinned (docs/mlflow.md).
    let tracking = MLflowRESTRegistry(environment: mlflow.map { ["MLFLOW_TRACKING_URI": $0.url] } ?? [:])
    let manager = await Manager(client: client, controllers: OperatorAssembly.controllers(builderImage: OperatorOptions.defaultImage,
                                                                                          workers: 4, mlflow: tracking),
                                recorder: recorder, leaderElector: nil, logger: quiet)
    let stop = StopSignal()
    let operatorTask = Task { try await manager.run(until: { await stop.wait() }) }
    clock.say("operator started (\(manager.controllers.map(\.name).joined(separator: ", ")) controller, \(manager.caches.all.count) informers)")

    // 3. The model: a shared engine cache for the node groups, then the EdgeModel.
    _ = try await client.create(GroupVersionResource(group: "", version: "v1", resource: "namespaces", namespaced: false),
                                ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": "vision"]])
    _ = try await client.create(GroupVersionResource(group: "", version: "v1", resource: "persistentvolumeclaims", namespaced: true),
                                namespace: "vision", [
      "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": ["name": "edgeml-engine-cache"],
      "spec": ["accessModes": ["ReadWriteMany"], "resources": ["requests": ["storage": "10Gi"]]],
    ])
    let v1 = try DemoModel.write(version: "1", to: root.appendingPathComponent("models"))
    let model: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "EdgeModel", "metadata": ["name": "detector", "namespace": "vision"],
      "spec": [
        "model": ["uri": .string(v1.uri), "digest": .string(v1.digest), "version": "1"],
        "engine": ["precision": "fp16", "cache": ["sharedClaimName": "edgeml-engine-cache"]],
        "placement": ["jetson": ["l4t": ">=36.2"], "replicas": JSONValue(replicas)],
        "serving": ["image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"],
      ],
    ]
    _ = try await client.create(EdgeModel.resource, namespace: "vision", model)
    clock.say("applied EdgeModel vision/detector: version 1, fp16, \(replicas) replicas, L4T >= 36.2")
    let watcher = ProgressPrinter(client: client, namespace: "vision", name: "detector", clock: clock)
    guard try await watcher.follow(until: { $0["phase"] == "Ready" && $0["currentVersion"] == "1" }, timeout: stepTimeout) else {
      throw DemoError("the model did not become Ready within \(Int(stepTimeout)) s; see kubectl --kubeconfig \(kubeconfigPath) describe edgemodel -n vision detector")
    }

    // 4. A new version: new digest, new engine key, a rolling update per node group.
    let v2 = try DemoModel.write(version: "2", to: root.appendingPathComponent("models"))
    _ = try await client.patch(EdgeModel.resource, namespace: "vision", name: "detector",
                               ["spec": ["model": ["uri": .string(v2.uri), "digest": .string(v2.digest), "version": "2"]]], type: .merge)
    clock.say("bumped detector to version 2 (new digest \(v2.digest.prefix(19))…): rolling update")
    guard try await watcher.follow(until: { $0["phase"] == "Ready" && $0["currentVersion"] == "2" }, timeout: stepTimeout) else {
      throw DemoError("version 2 did not become Ready within \(Int(stepTimeout)) s")
    }

    // 5. A canary to version 3: the candidate beside version 2, traffic moved step by step.
    let v3 = try DemoModel.write(version: "3", to: root.appendingPathComponent("models"))
    let rollout: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout", "metadata": ["name": "detector-v3", "namespace": "vision"],
      "spec": [
        "modelRef": ["name": "detector"],
        "candidate": ["model": ["uri": .string(v3.uri), "digest": .string(v3.digest), "version": "3"]],
        "strategy": ["canary": ["steps": [["setWeight": 40], ["pause": ["duration": "2s"]], ["setWeight": 100]]]],
      ],
    ]
    _ = try await client.create(Rollout.resource, namespace: "vision", rollout)
    clock.say("applied Rollout vision/detector-v3: canary to version 3 — setWeight 40, pause 2s, setWeight 100 (replica ratio)")
    let rollouts = RolloutPrinter(client: client, namespace: "vision", name: "detector-v3", clock: clock)
    guard try await rollouts.follow(until: { $0["phase"] == "Promoted" }, timeout: stepTimeout * 2) else {
      throw DemoError("the canary did not finish within \(Int(stepTimeout * 2)) s; see kubectl --kubeconfig \(kubeconfigPath) edgeml status -n vision detector-v3")
    }
    guard try await watcher.follow(until: { $0["phase"] == "Ready" && $0["currentVersion"] == "3" }, timeout: stepTimeout) else {
      throw DemoError("version 3 did not become Ready within \(Int(stepTimeout)) s")
    }

    // 6. A slow candidate: its p99 latency, read from its pods' Triton summaries, fails the analysis
    //    step's condition, and the rollout aborts on its own.
    let v4 = try DemoModel.write(version: "4", to: root.appendingPathComponent("models"))
    _ = try await client.create(Rollout.resource, namespace: "vision", [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout", "metadata": ["name": "detector-v4", "namespace": "vision"],
      "spec": [
        "modelRef": ["name": "detector"],
        "candidate": ["model": ["uri": .string(v4.uri), "digest": .string(v4.digest), "version": "4"]],
        "strategy": ["canary": ["steps": [["setWeight": 40], ["analysis": ["metrics": ["p99-latency"]]], ["setWeight": 100]]]],
        "analysis": ["interval": "2s", "metrics": [[
          "name": "p99-latency", "successCondition": "result < 40000", "count": 2,
          "provider": ["podMetrics": ["metric": "nv_inference_request_summary_us", "aggregation": "p99"]],
        ]]],
      ],
    ])
    clock.say("applied Rollout vision/detector-v4: canary to version 4 with an analysis step: p99 latency of the candidate's pods < 40 ms")
    let bad = RolloutPrinter(client: client, namespace: "vision", name: "detector-v4", clock: clock)
    guard try await bad.follow(until: { $0["phase"] == "Aborted" || $0["phase"] == "Promoted" }, timeout: stepTimeout * 2) else {
      throw DemoError("the analysis did not decide within \(Int(stepTimeout * 2)) s")
    }

    // 7. An A/B test: version 5 against version 3, half the requests each, decided by a
    //    two-proportion test on the success rates the pods count.
    let v5 = try DemoModel.write(version: "5", to: root.appendingPathComponent("models"))
    _ = try await client.create(Rollout.resource, namespace: "vision", [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "Rollout", "metadata": ["name": "detector-v5", "namespace": "vision"],
      "spec": [
        "modelRef": ["name": "detector"],
        "candidate": ["model": ["uri": .string(v5.uri), "digest": .string(v5.digest), "version": "5"]],
        "strategy": ["abTest": [
          "variants": [["name": "v3", "weight": 50], ["name": "v5", "weight": 50]], "duration": "1h",
          "metric": ["name": "nv_inference_request_success", "kind": "proportion"],
          "decision": ["test": "two-proportion", "alpha": 0.01, "minSamples": 1000, "sequential": true, "autoPromote": true],
        ]],
        "analysis": ["interval": "2s"],
      ],
    ])
    clock.say("applied Rollout vision/detector-v5: A/B test v3 against v5 on success rates, always-valid (sequential) test at alpha 0.01")
    let ab = RolloutPrinter(client: client, namespace: "vision", name: "detector-v5", clock: clock)
    guard try await ab.follow(until: { $0["phase"] == "Promoted" || $0["phase"] == "Aborted" }, timeout: stepTimeout * 2) else {
      throw DemoError("the A/B test did not decide within \(Int(stepTimeout * 2)) s")
    }
    guard try await watcher.follow(until: { $0["phase"] == "Ready" && $0["currentVersion"] == "5" }, timeout: stepTimeout) else {
      throw DemoError("version 5 did not become Ready within \(Int(stepTimeout)) s")
    }

    // 8. The closed loop: drift on some nodes, detected, a retraining Job, its model canaried and
    //    promoted, and the loop quiet again.
    let registry = await registerHistory(mlflow, note: mlflowNote, client: client, models: root.appendingPathComponent("models"), clock: clock)
    try await driftLoop(client: client, sim: sim, models: root.appendingPathComponent("models"), watcher: watcher, clock: clock,
                        kubeconfigPath: kubeconfigPath, registry: registry)

    let commands = """
        kubectl get nodes -L edgeml.io/jetson.module,edgeml.io/l4t,edgeml.io/tensorrt,edgeml.io/gpu.arch
        kubectl get edgemodels -A
        kubectl describe edgemodel -n vision detector
        kubectl get deployments,pods -n vision -o wide
        kubectl get events -n vision --sort-by=.metadata.creationTimestamp
        kubectl get rollouts -n vision
        kubectl get driftpolicies,jobs -n vision
        kubectl describe driftpolicy -n vision detector-drift
        kubectl edgeml status -n vision detector-v3     # with kubectl-edgeml (.build/debug) on PATH
      """ + (registry.map { "\n    curl '\($0.url)/api/2.0/mlflow/registered-models/get?name=detector'   # the MLflow registry" } ?? "")
    // Without --serve the cluster ends with this process: say how to keep one to explore, rather
    // than hand the reader commands for a cluster that is gone.
    let explore = serve ? """

      The cluster keeps running until Ctrl-C. In another terminal, explore it with kubectl:
        export KUBECONFIG=\(kubeconfigPath)
      \(commands)

      """ : """

      The simulated cluster stopped with this process. To keep one running and explore it with
      kubectl, run the demo with --serve (`make demo SERVE=1`, or `edgeml demo --serve`); it prints
      the KUBECONFIG to export, then in another terminal:
      \(commands)

      """
    FileHandle.standardOutput.write(Data(explore.utf8))
    if serve {
      clock.say("serving until Ctrl-C")
      let group = ServiceGroup(configuration: .init(services: [WaitService()], gracefulShutdownSignals: [.sigterm, .sigint], logger: quiet))
      try await group.run()
    }
    await stop.fire()
    _ = try? await operatorTask.value
    client.shutdown()
    await sim.shutdown()
    await emulator.shutdown()
  }

  /// The CRD manifests: beside the working directory (a checkout) or beside this source file.
  func crdFiles() throws -> [URL] {
    let candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("crds"),
                      URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("crds")]
    for dir in candidates {
      if let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter({ $0.hasSuffix(".yaml") }), !files.isEmpty {
        return files.sorted().map { dir.appendingPathComponent($0) }
      }
    }
    throw DemoError("cannot find the crds/ directory; run edgeml demo from a checkout of the repository")
  }
}

struct DemoError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

/// Seconds since the demo began, in front of each line.
final class DemoClock: Sendable {
  let start = Date()
  func say(_ line: String) {
    let t = Date().timeIntervalSince(start)
    FileHandle.standardOutput.write(Data(String(format: "[%6.2fs] %@\n", t, line).utf8))
  }
}

/// A one-shot stop signal the manager waits on.
actor StopSignal {
  private var fired = false
  private var waiters: [CheckedContinuation<Void, Never>] = []
  func wait() async {
    if fired { return }
    await withCheckedContinuation { waiters.append($0) }
  }
  func fire() {
    fired = true
    for w in waiters { w.resume() }
    waiters = []
  }
}

struct WaitService: Service {
  func run() async throws { try? await gracefulShutdown() }
}

/// Follows an EdgeModel and its pods, printing each new fact once: placement, node groups, each
/// pod's engine (built, cache hit, failed), readiness.
actor ProgressPrinter {
  let client: KubeClient
  let namespace: String
  let name: String
  let clock: DemoClock
  private var said = Set<String>()

  init(client: KubeClient, namespace: String, name: String, clock: DemoClock) {
    self.client = client
    self.namespace = namespace
    self.name = name
    self.clock = clock
  }

  private func once(_ key: String, _ line: String) {
    if said.insert(key).inserted { clock.say(line) }
  }

  func follow(until done: (JSONValue) -> Bool, timeout: Double) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      let model = try await client.get(EdgeModel.resource, namespace: namespace, name: name)
      let status = model["status"] ?? [:]
      let generation = model[path: ["metadata", "generation"]]?.intValue ?? 0
      for c in status["conditions"]?.arrayValue ?? [] where c["type"] == "Scheduled" && c["observedGeneration"]?.intValue == generation {
        once("scheduled-\(c["message"]?.stringValue ?? "")", "placement: \(c["message"]?.stringValue ?? "")")
      }
      for e in status["engines"]?.arrayValue ?? [] {
        let g = e["nodeGroup"] ?? [:]
        let key = String((e["key"]?.stringValue ?? "").dropFirst(7).prefix(12))
        once("group-\(key)", "node group \(g["module"]?.stringValue ?? "?") (TensorRT \(g["tensorrt"]?.stringValue ?? "?"), \(g["gpuArch"]?.stringValue ?? "?")): engine \(key)")
      }
      let pods = try await client.list(GroupVersionResource(group: "", version: "v1", resource: "pods", namespaced: true), namespace: namespace,
                                       labelSelector: "edgeml.io/model=\(name)").items
      for pod in pods {
        let podName = pod[path: ["metadata", "name"]]?.stringValue ?? "?"
        let node = pod[path: ["spec", "nodeName"]]?.stringValue ?? "?"
        let version = pod[path: ["metadata", "labels", "edgeml.io/model-version"]]?.stringValue ?? "?"
        guard let engine = (pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []).first(where: { $0["name"] == "engine" }) else { continue }
        if engine[path: ["state", "running"]] != nil {
          once("run-\(podName)", "v\(version) pod on \(node): engine init container running")
        }
        for t in [engine[path: ["state", "terminated"]], engine[path: ["lastState", "terminated"]]].compactMap({ $0 }) {
          guard let result = EngineResult(terminationMessage: t["message"]?.stringValue ?? "") else { continue }
          let mib = Double(result.sizeBytes ?? 0) / 1_048_576
          if result.state == "Built", result.cacheHit == true {
            once("hit-\(podName)", "v\(version) pod on \(node): engine cache hit (\(result.cacheSource ?? "node") cache), no build")
          } else if result.state == "Built" {
            once("built-\(podName)", String(format: "v%@ pod on %@: engine built in %.1f s (%.2f MiB, TensorRT %@)", version, node,
                                            result.buildSeconds ?? 0, mib, result.tensorrt ?? "?"))
          } else {
            once("failed-\(podName)-\(result.reason ?? "")", "v\(version) pod on \(node): engine FAILED: \(result.reason ?? "") \(result.message ?? "")")
          }
        }
        if (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains(where: { $0["type"] == "Ready" && $0["status"] == "True" }) {
          once("ready-\(podName)", "v\(version) pod on \(node): serving (Ready)")
        }
      }
      if let phase = status["phase"]?.stringValue, status["observedGeneration"]?.intValue == generation {
        let ready = (status["conditions"]?.arrayValue ?? []).first { $0["type"] == "Ready" }
        once("phase-\(generation)-\(phase)-\(status["currentVersion"]?.stringValue ?? "")", "detector phase \(phase): \(ready?["message"]?.stringValue ?? "")")
      }
      if done(status) && status["observedGeneration"]?.intValue == generation { return true }
      try await Task.sleep(for: .milliseconds(200))
    }
    return false
  }
}

/// Follows a Rollout, printing each step, weight, pause and outcome once.
actor RolloutPrinter {
  let client: KubeClient
  let namespace: String
  let name: String
  let clock: DemoClock
  private var said = Set<String>()

  init(client: KubeClient, namespace: String, name: String, clock: DemoClock) {
    self.client = client
    self.namespace = namespace
    self.name = name
    self.clock = clock
  }

  func follow(until done: (JSONValue) -> Bool, timeout: Double) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      let status = try await client.get(Rollout.resource, namespace: namespace, name: name)["status"] ?? [:]
      // Not yet seen by the controller. An A/B test has no steps, so no currentStep.
      guard status["phase"] != nil else {
        try await Task.sleep(for: .milliseconds(200))
        continue
      }
      let step = status["currentStep"]?.intValue
      var line = "rollout \(name): \(step.map { "step \($0), " } ?? "")\(status["phase"]?.stringValue ?? "?") — stable \(status["stableWeight"]?.intValue ?? 100)%, candidate \(status["candidateWeight"]?.intValue ?? 0)%: \(status["message"]?.stringValue ?? "")"
      for run in status["analysisRuns"]?.arrayValue ?? [] {
        if let m = run["measurements"]?.arrayValue?.last {
          line += "\n           analysis \(run["name"]?.stringValue ?? ""): \(m["phase"]?.stringValue ?? "") value \(m["value"]?.stringValue ?? "-")\(m["message"]?.stringValue.map { " (\($0))" } ?? "")"
        }
      }
      if let ab = status["abTest"], let decision = ab["decision"]?.stringValue, decision != "Undecided" || ab["pValue"] != nil {
        let rows = (ab["variants"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? "") \($0["successes"]?.intValue ?? 0)/\($0["trials"]?.intValue ?? 0)" }
        line += "\n           A/B \(decision): \(rows.joined(separator: " vs ")), p = \(ab["pValue"]?.doubleValue.map { String(format: "%.3g", $0) } ?? "-")\(ab["winner"]?.stringValue.map { ", winner \($0)" } ?? "")"
      }
      if said.insert("\(step ?? -1)/\(status["phase"]?.stringValue ?? "")/\(status["candidateWeight"]?.intValue ?? 0)/\(status["message"]?.stringValue ?? "")/\(status["abTest"]?["decision"]?.stringValue ?? "")").inserted {
        clock.say(line)
      }
      if done(status) { return true }
      try await Task.sleep(for: .milliseconds(200))
    }
    return false
  }
}

/// The first document of a YAML manifest.
func loadManifest(_ url: URL) throws -> JSONValue {
  guard let first = try YAML.parseDocuments(String(contentsOf: url, encoding: .utf8)).first else {
    throw DemoError("\(url.path) has no YAML document")
  }
  return first
}
