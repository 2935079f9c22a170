import Foundation
import KubeCore
import KubeEmulator
import Logging
import Synchronization

/// A simulated Jetson cluster on top of a `KubeEmulator`: nodes and their kubelets, a scheduler,
/// and the Deployment, ReplicaSet, DaemonSet, Job, disruption and node-lifecycle controllers.
///
/// Everything is driven by the emulator's watch events (subscribed in-process) and by timers for
/// simulated durations; there is no polling loop. Every duration — engine builds, back-offs,
/// heartbeats, grace periods, toleration seconds — is multiplied by `Configuration.speed`.
///
/// ```swift
/// let emulator = try await KubeEmulator.start()
/// let sim = try await EdgeSim.start(emulator: emulator, configuration: .init(fleet: .default, simRoot: dir))
/// await sim.failNode("orin-nx-16gb-0")
/// await sim.shutdown()
/// ```
///
/// *Caveats:* the simulator runs one unstructured root task (started by `start`, ended by
/// `shutdown`) under which all its work is structured; call `shutdown` before dropping it.
public final class EdgeSim: Sendable {
  public struct Configuration: Sendable {
    /// The nodes to simulate.
    public var fleet: FleetSpec
    /// Where volumes, container logs and termination logs live (`nodes/…`, `pods/…`).
    public var simRoot: URL
    /// Container `command[0]` → program on this machine (docs/edgemodel-contracts.md §4).
    public var executables: [String: String]
    /// Image repository (no tag or digest) → what the image runs when a container names no
    /// `command`: its ENTRYPOINT and CMD, whose first word the executable table resolves. Any tag
    /// of a repository here runs the programs built on this machine (docs/edgesim.md, "Images").
    public var images: [String: ContainerImage] = [:]
    /// Node kind's `fixture` name → a directory whose tree is copied onto each such node's disk at
    /// start (`nodes/<node>/…`): what hostPath volumes find there (`/proc/device-tree`, `/etc/nv_tegra_release`…).
    public var hostFileSystems: [String: URL] = [:]
    /// Multiplies every simulated duration: 1 is real time, 0.01 a hundred times faster.
    public var speed: Double
    /// Whether Triton pods serve `/metrics` and `/v2/health/ready` at their pod IP (off for large benchmarks).
    public var servesMetrics: Bool
    /// Background load: simulated inference requests per second to each serving pod, per model
    /// that no `traffic` load names (in simulated time).
    public var requestsPerSecond: Double
    /// Simulated inference clients: loads per model, routed as the router objects say, and how
    /// each variant answers (docs/edgesim.md, "Inference traffic").
    public var traffic: TrafficConfiguration
    /// How long a container without a runnable command "runs" (Job pods, init containers), in simulated seconds.
    public var simulatedRunSeconds: Double
    /// The RuntimeClasses the cluster starts with, each with the handler of its name. K3s
    /// pre-installs one per runtime it can detect, `nvidia` among them (k3s-io/k3s#8751): the
    /// default. MicroK8s without its gpu addon has none (`[]`): pods naming `nvidia` are then
    /// refused by the API server's RuntimeClass admission, as there (docs/distributions.md).
    public var runtimeClasses: [String] = ["nvidia"]
    /// Whether NVIDIA's device plugin runs on the nodes, so that each advertises one
    /// `nvidia.com/gpu` in capacity and allocatable (the integrated GPU of a Jetson module is one
    /// device to the plugin). It is optional on K3s and MicroK8s alike; without it a node has no
    /// such resource at all and a pod requesting one stays Pending (docs/distributions.md).
    public var devicePlugin = true
    /// How often the simulated metrics-server scrapes the containers' processes for `kubectl top`
    /// (its `--metric-resolution`; 15 s in its published manifests). Wall-clock, not scaled by `speed`.
    public var metricResolution: Duration = ResourceMetricsCollector.defaultResolution
    /// The nice value (0-19) the simulated nodes' work runs at: the kubelets' pod workers, their
    /// Lease renewals and the container processes they start. Above 0, when this machine's cores
    /// are busy, they get a smaller share of them than the API server and the control plane (about
    /// a tenth at 10), closer to nodes that are machines of their own and take none; 0 (the
    /// default) runs them like the rest (docs/edgesim.md, "The nodes' CPU priority").
    public var nodeNice: Int32 = 0

    public init(fleet: FleetSpec = .default, simRoot: URL, executables: [String: String] = [:], speed: Double = 1,
                servesMetrics: Bool = true, requestsPerSecond: Double = 20, simulatedRunSeconds: Double = 2,
                traffic: TrafficConfiguration = TrafficConfiguration()) {
      self.fleet = fleet; self.simRoot = simRoot; self.executables = executables; self.speed = speed; self.traffic = traffic
      self.servesMetrics = servesMetrics; self.requestsPerSecond = requestsPerSecond; self.simulatedRunSeconds = simulatedRunSeconds
    }

    /// The executable table for binaries built next to each other (`.build/debug/edgeml`,
    /// `.build/debug/edgeml-engine`, `.build/debug/trtexec-double`): `edgeml`, `edgeml-engine` and
    /// trtexec's paths.
    public static func defaultExecutables(binDirectory: URL) -> [String: String] {
      let edgeml = binDirectory.appendingPathComponent("edgeml").path
      let engine = binDirectory.appendingPathComponent("edgeml-engine").path
      let trtexec = binDirectory.appendingPathComponent("trtexec-double").path
      let operatorBinary = binDirectory.appendingPathComponent("edgeml-operator").path
      return ["edgeml": edgeml, "/usr/local/bin/edgeml": edgeml, "/edgeml": edgeml,
              "edgeml-operator": operatorBinary, "/usr/local/bin/edgeml-operator": operatorBinary,
              "edgeml-engine": engine, "/usr/local/bin/edgeml-engine": engine,
              "/usr/src/tensorrt/bin/trtexec": trtexec, "trtexec": trtexec]
    }

    /// The release image's configuration (Containerfile: `ENTRYPOINT ["/usr/local/bin/edgeml"]`,
    /// `CMD ["--help"]`), under the repository the manifests and the chart name.
    public static let defaultImages: [String: ContainerImage] = [
      "ghcr.io/edgeml/edgeml": ContainerImage(entrypoint: ["/usr/local/bin/edgeml"], cmd: ["--help"]),
    ]

    /// The table's programs that are not executable files (for example a product not built yet),
    /// by path: containers that run them fail to start.
    public var missingExecutables: [String] {
      Set(executables.values).filter { !FileManager.default.isExecutableFile(atPath: $0) }.sorted()
    }
  }

  public let configuration: Configuration
  let kubelet: Kubelet
  let scheduler: Scheduler
  let controllers: Controllers
  let servers: TritonServers
  private let runtime: Runtime
  private let root: Mutex<Task<Void, Never>?>
  private let pump = Mutex<EventPump?>(nil)
  /// Nodes failed by their power annotation (so an annotation only ever undoes what it did).
  private let poweredOff = Mutex<Set<String>>([])
  private let logger: Logger

  private init(configuration: Configuration, kubelet: Kubelet, scheduler: Scheduler, controllers: Controllers,
               servers: TritonServers, runtime: Runtime, logger: Logger) {
    self.configuration = configuration; self.kubelet = kubelet; self.scheduler = scheduler; self.controllers = controllers
    self.servers = servers; self.runtime = runtime; self.logger = logger; self.root = Mutex(nil)
  }

  /// Registers the fleet's nodes and starts the scheduler, kubelets and controllers.
  /// - Throws: `EdgeSimError` when the nodes cannot be created.
  public static func start(emulator: KubeEmulator, configuration: Configuration,
                           logger: Logger = Logger(label: "edgesim", factory: { _ in SwiftLogNoOpLogHandler() })) async throws -> EdgeSim {
    try await start(server: emulator.api, configuration: configuration, logger: logger)
  }

  /// As `start(emulator:configuration:logger:)`, for an `APIServer` without an HTTP listener.
  public static func start(server: APIServer, configuration: Configuration,
                           logger: Logger = Logger(label: "edgesim", factory: { _ in SwiftLogNoOpLogHandler() })) async throws -> EdgeSim {
    try FileManager.default.createDirectory(at: configuration.simRoot, withIntermediateDirectories: true)
    installHostFileSystems(configuration)
    for path in configuration.missingExecutables {
      logger.warning("Executable not found: containers that run it will fail to start", metadata: ["path": "\(path)"])
    }
    let runtime = Runtime(speed: configuration.speed, nodes: configuration.fleet.nodes.count,
                          nodeNice: min(19, max(0, configuration.nodeNice)))
    let api = ClusterAPI(server: server, component: "edgesim")
    let servers = TritonServers { poster in
      TrafficEngine(configuration: configuration.traffic, api: api.as("traffic"), speed: configuration.speed,
                    backgroundRequestsPerSecond: configuration.requestsPerSecond, poster: poster)
    }
    let metrics = ResourceMetricsCollector(resolution: configuration.metricResolution, nodeBaselines: nodeMemoryBaselines(configuration))
    let kubelet = Kubelet(fleet: configuration.fleet, context: KubeletContext(
      api: api.as("node:kubelet"), runtime: runtime, configuration: configuration, servers: servers, metrics: metrics, logger: logger))
    try kubelet.register()
    for name in configuration.runtimeClasses where api.get("node.k8s.io/runtimeclasses", name: name) == nil {
      do {
        _ = try api.create("/apis/node.k8s.io/v1/runtimeclasses", ["apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                                                                   "metadata": ["name": .string(name)], "handler": .string(name)])
      } catch {
        logger.warning("Cannot create the RuntimeClass", metadata: ["runtimeclass": "\(name)", "error": "\(error)"])
      }
    }
    server.setKubeletConnection(kubelet)
    server.setResourceMetricsProvider(metrics)
    MetricsServerObjects.install(api: api.as("metrics-server"), logger: logger)
    let scheduler = Scheduler(api: api, runtime: runtime, logger: logger)
    let controllers = Controllers(api: api, runtime: runtime, logger: logger)
    let sim = EdgeSim(configuration: configuration, kubelet: kubelet, scheduler: scheduler, controllers: controllers,
                      servers: servers, runtime: runtime, logger: logger)
    let events = EventPump(server: server)
    sim.pump.withLock { $0 = events }
    let task = Task {
      await withDiscardingTaskGroup { group in
        group.addTask { await runtime.run() }
        group.addTask(executorPreference: runtime.nodeExecutor) { await kubelet.heartbeats() }
        group.addTask { await metrics.run() }
        if configuration.servesMetrics {
          group.addTask { await servers.traffic.run() }
          group.addTask { await servers.traffic.poster.run() }
        }
        group.addTask { await scheduler.controller.run { await scheduler.schedule($0) } }
        controllers.run(in: &group)
        group.addTask {
          await sim.resync()
          for await event in events.stream { await sim.dispatch(event) }
        }
      }
    }
    sim.root.withLock { $0 = task }
    logger.info("EdgeSim started", metadata: ["edgesim.nodes": "\(configuration.fleet.nodes.count)", "edgesim.speed": "\(configuration.speed)"])
    return sim
  }

  /// Copies each node kind's host tree onto its nodes' disks (`nodes/<node>/…`), leaving what is
  /// already there: a node's files outlive a restart of the simulator on the same sim root.
  private static func installHostFileSystems(_ configuration: Configuration) {
    let fm = FileManager.default
    for (name, kind) in configuration.fleet.nodes {
      guard let tree = configuration.hostFileSystems[kind.fixture], let entries = fm.enumerator(atPath: tree.path) else { continue }
      let disk = configuration.simRoot.appendingPathComponent("nodes/\(name)")
      for case let relative as String in entries where relative != "PROVENANCE.md" {
        let source = tree.appendingPathComponent(relative), target = disk.appendingPathComponent(relative)
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: source.path, isDirectory: &isDirectory) else { continue }
        if isDirectory.boolValue {
          try? fm.createDirectory(at: target, withIntermediateDirectories: true)
        } else if !fm.fileExists(atPath: target.path) {
          try? fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
          try? fm.copyItem(at: source, to: target)
        }
      }
    }
  }

  /// Each node's operating-system memory from its disk's `/proc/meminfo` (its module's fixture),
  /// 0 for a node without one.
  private static func nodeMemoryBaselines(_ configuration: Configuration) -> [String: UInt64] {
    var baselines: [String: UInt64] = [:]
    for (name, _) in configuration.fleet.nodes {
      let path = configuration.simRoot.appendingPathComponent("nodes/\(name)/proc/meminfo").path
      baselines[name] = ResourceMetricsCollector.baseline(meminfo: try? String(contentsOfFile: path, encoding: .utf8))
    }
    return baselines
  }

  /// Queues every existing object once, as informers do after their initial list.
  private func resync() async {
    let api = scheduler.api
    for node in api.list(Keys.nodes) { scheduler.observe(node: node) }
    for pod in api.list(Keys.pods) {
      scheduler.observe(pod)
      if Scheduler.isPending(pod) { await scheduler.controller.add(ObjectKey(pod)) }
      kubelet.handlePod(pod, deleted: false)
    }
    await controllers.resync()
    if let commands = api.get(Keys.configMaps, namespace: FeatureDrift.configMapNamespace, name: FeatureDrift.configMapName) {
      followDriftCommands(commands, deleted: false)
    }
  }

  private func dispatch(_ event: StoreEvent) async {
    switch event.storageKey {
    case Keys.pods:
      kubelet.handlePod(event.object, deleted: event.type == .deleted)
      await scheduler.handlePod(event)
      await controllers.handlePod(event)
    case Keys.nodes:
      if event.type != .deleted { await followPowerSwitch(event.object) }
      await scheduler.handleNode(event)
      await controllers.handleNode(event)
    case Keys.leases:
      await controllers.handleLease(event)
    case Keys.configMaps:
      if event.object.namespace == FeatureDrift.configMapNamespace, event.object.name == FeatureDrift.configMapName {
        followDriftCommands(event.object, deleted: event.type == .deleted)
      }
    default:
      await controllers.handle(event)
    }
  }

  /// Cuts a node off: its kubelet stops heartbeats and pod work at once. The node lifecycle
  /// controller then marks it `Ready=Unknown` after the grace period and taints it
  /// `node.kubernetes.io/unreachable`; its pods are evicted after their toleration seconds.
  public func failNode(_ name: String) async {
    kubelet.fail(name)
    logger.info("Node failed", metadata: ["kube.name": "\(name)"])
  }

  /// Brings a failed node back: the kubelet posts Ready, renews its Lease and re-runs the pods
  /// still bound to it; the controller removes the taints.
  public func recoverNode(_ name: String) async {
    kubelet.recover(name)
    logger.info("Node recovered", metadata: ["kube.name": "\(name)"])
  }

  /// The annotation a person (or a test) sets with kubectl to pull a simulated node's plug:
  /// `kubectl annotate node NAME sim.edgeml.io/power=off` fails it as `failNode` does; `=on` or
  /// removing the annotation brings it back. Nodes failed through `failNode` are left alone.
  public static let powerAnnotation = "sim.edgeml.io/power"

  private func followPowerSwitch(_ node: JSONValue) async {
    let name = node.name
    let wantsOff = node.annotations[EdgeSim.powerAnnotation] == "off"
    let change = poweredOff.withLock { off -> Bool? in
      if wantsOff, !off.contains(name) { off.insert(name); return true }
      if !wantsOff, off.contains(name) { off.remove(name); return false }
      return nil
    }
    switch change {
    case true?: await failNode(name)
    case false?: await recoverNode(name)
    case nil: break
    }
  }

  /// Names of the simulated nodes.
  public var nodeNames: [String] { configuration.fleet.nodes.map(\.name) }

  /// Stops every controller, kubelet and pod (processes get SIGTERM) and waits for them.
  public func shutdown() async {
    kubelet.api.server.setKubeletConnection(nil)
    kubelet.api.server.setResourceMetricsProvider(nil)
    kubelet.stopAll()
    let task = root.withLock { t -> Task<Void, Never>? in defer { t = nil }; return t }
    pump.withLock { $0 }?.close()
    task?.cancel()
    await task?.value
    await servers.shutdown()
  }
}

/// The emulator's committed events for the kinds the simulator reacts to, as one async sequence.
///
/// The store calls sinks with its lock held, so the sink only enqueues.
final class EventPump: Sendable {
  let stream: AsyncStream<StoreEvent>
  private let server: APIServer
  private let subscriptions: [(String, UInt64)]
  private let continuation: AsyncStream<StoreEvent>.Continuation

  init(server: APIServer) {
    let (stream, continuation) = AsyncStream.makeStream(of: StoreEvent.self)
    self.stream = stream
    self.server = server
    self.continuation = continuation
    let keys = [Keys.pods, Keys.nodes, Keys.leases, Keys.deployments, Keys.replicaSets, Keys.daemonSets, Keys.jobs,
                Keys.disruptionBudgets, Keys.configMaps]
    subscriptions = server.store.transaction { state in
      keys.map { key in (key, state.subscribe(key) { continuation.yield($0) }) }
    }
  }

  /// Unsubscribes and ends the stream.
  func close() {
    server.store.transaction { state in for (key, id) in subscriptions { state.unsubscribe(key, id: id) } }
    continuation.finish()
  }
}
