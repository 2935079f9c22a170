import ArgumentParser
import EdgeSim
import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import NodeAgent
import Logging
import ServiceLifecycle

/// `edgeml sim`: serves a simulated cluster (`edgeml sim [serve] …`) or commands a running one
/// (`edgeml sim drift …`). Serving is the default, so `edgeml sim --speed 0.1` works as before; the
/// two are separate commands so that their flags (`--nodes`, `--kubeconfig`) cannot clash.
struct SimGroupCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sim",
    abstract: "Serve an emulated Kubernetes cluster on 127.0.0.1 (the default), or command drift in a running one.",
    subcommands: [SimCommand.self, SimDriftCommand.self], defaultSubcommand: SimCommand.self)
}

/// `edgeml sim serve`: a Kubernetes API server on loopback that kubectl can use, with a simulated
/// Jetson fleet (EdgeSim) on it unless `--no-edgesim`.
struct SimCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Serve an emulated Kubernetes cluster on 127.0.0.1 and write a kubeconfig for it.")
  @OptionGroup(title: "Simulated cluster (EdgeSim)") var edgeSim: EdgeSimOptions

  @Option(help: "Port to listen on (0 picks a free one).") var port = 0
  @Option(help: "Address to listen on (loopback only).") var host = "127.0.0.1"
  @Flag(help: "Serve plain HTTP instead of HTTPS; requests without credentials act as the admin (like the old insecure port), since Go clients send no token over HTTP.") var insecureHTTP = false
  @Option(help: "Where to write the kubeconfig.") var kubeconfig: String?
  @Flag(help: "Authenticate the kubeconfig's user with a client certificate (token otherwise).") var clientCert = false
  @Option(help: "Watch history kept for resuming watches; older resourceVersions get 410 Gone.") var historyLimit = 20_000
  @Option(help: "Seconds between watch bookmarks.") var bookmarkSeconds = 60
  @OptionGroup(title: "Fault injection (deterministic; also settable at run time with PUT /edgeml.io/emulator/faults)")
  var faults: FaultOptions

  func validate() throws {
    guard host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.") else {
      throw ValidationError("--host must be a loopback address: the emulator is for tests and local use.")
    }
    guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
    guard historyLimit >= 10 else { throw ValidationError("--history-limit must be at least 10.") }
    try faults.validate()
    try edgeSim.validate()
  }

  func run() async throws {
    var logger = Logger(label: "edgeml.sim")
    logger.logLevel = .info
    var config = KubeEmulator.Configuration()
    config.host = host
    config.port = port
    config.useTLS = !insecureHTTP
    config.historyLimit = historyLimit
    let service = SimService(configuration: config, kubeconfigPath: kubeconfig ?? SimCommand.defaultKubeconfigPath(),
                             clientCertificate: clientCert, bookmarkSeconds: bookmarkSeconds, faults: faults.configuration,
                             simulation: try edgeSim.configuration(), removeSimRoot: edgeSim.simRoot == nil,
                             labelNodes: !edgeSim.noNodeAgent, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }

  static func defaultKubeconfigPath() -> String {
    let base = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"] ?? NSTemporaryDirectory()
    return (base as NSString).appendingPathComponent("edgeml-sim/kubeconfig")
  }
}

/// Runs the emulator until graceful shutdown.
struct SimService: Service {
  let configuration: KubeEmulator.Configuration
  let kubeconfigPath: String
  let clientCertificate: Bool
  let bookmarkSeconds: Int
  let faults: FaultInjector.Configuration
  /// nil: the bare API server (`--no-edgesim`).
  let simulation: EdgeSim.Configuration?
  /// Whether the sim root is a temporary directory of ours, removed at shutdown.
  let removeSimRoot: Bool
  /// Whether `edgeml node-agent --once` runs for each simulated node against its module's fixture tree.
  var labelNodes = true
  let logger: Logger

  func run() async throws {
    let emulator = try await KubeEmulator.start(configuration)
    emulator.api.bookmarkInterval = .seconds(bookmarkSeconds)
    // The simulator writes through the API in-process, so it starts before faults are switched on.
    var sim: EdgeSim?
    if let simulation {
      sim = try await EdgeSim.start(emulator: emulator, configuration: simulation, logger: logger)
      if labelNodes { try await SimService.labelNodes(emulator: emulator, fleet: simulation.fleet, logger: logger) }
    }
    emulator.api.faults.configuration = faults
    let credential: KubeEmulator.Credential = clientCertificate ? .clientCertificate(user: "admin", groups: ["system:masters"]) : .adminToken
    let text = try emulator.kubeconfig(credential: credential)
    let url = URL(fileURLWithPath: kubeconfigPath)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url, options: .atomic)
    chmod(kubeconfigPath, 0o600)
    let fleet = simulation.map { "simulated nodes: \($0.fleet) (speed \($0.speed), sim root \($0.simRoot.path))\n" } ?? ""
    let banner = """
      edgeml sim: Kubernetes API at \(emulator.url)
      kubeconfig: \(kubeconfigPath)
      \(fleet)try: kubectl --kubeconfig \(kubeconfigPath) get namespaces

      """
    FileHandle.standardOutput.write(Data(banner.utf8))
    logger.info("Emulator serving", metadata: ["server.url": "\(emulator.url)"])
    try? await gracefulShutdown()
    await sim?.shutdown()
    if let sim, removeSimRoot { try? FileManager.default.removeItem(at: sim.configuration.simRoot) }
    await emulator.shutdown()
    logger.info("Emulator stopped")
  }
}

/// `edgeml sim` fault flags.
struct FaultOptions: ParsableArguments {
  @Option(name: .customLong("fault-429-rate"), help: "Share (0-1) of API requests answered 429 with Retry-After.") var tooManyRequestsRate = 0.0
  @Option(name: .customLong("fault-retry-after"), help: "Retry-After seconds on injected 429s.") var retryAfter = 1
  @Option(name: .customLong("fault-500-rate"), help: "Share (0-1) of API requests answered 500.") var internalErrorRate = 0.0
  @Option(name: .customLong("fault-503-rate"), help: "Share (0-1) of API requests answered 503.") var unavailableRate = 0.0
  @Option(name: .customLong("fault-latency-ms"), help: "Latency added to every API request.") var latencyMilliseconds = 0
  @Option(name: .customLong("fault-close-watch-after-events"), help: "Close every watch after this many events (0: never).") var closeWatchAfterEvents = 0
  @Option(name: .customLong("fault-close-watch-after-seconds"), help: "Close every watch after this many seconds (0: never).") var closeWatchAfterSeconds = 0.0
  @Option(name: .customLong("fault-seed"), help: "Seed of the fault sequence.") var seed: UInt64 = 1

  func validate() throws {
    for (name, rate) in [("--fault-429-rate", tooManyRequestsRate), ("--fault-500-rate", internalErrorRate), ("--fault-503-rate", unavailableRate)] {
      guard (0...1).contains(rate) else { throw ValidationError("\(name) must be between 0 and 1.") }
    }
    guard tooManyRequestsRate + internalErrorRate + unavailableRate <= 1 else { throw ValidationError("The fault rates must add up to at most 1.") }
    guard latencyMilliseconds >= 0, closeWatchAfterEvents >= 0, closeWatchAfterSeconds >= 0, retryAfter >= 0 else {
      throw ValidationError("Fault counts and durations cannot be negative.")
    }
  }

  var configuration: FaultInjector.Configuration {
    var c = FaultInjector.Configuration()
    c.tooManyRequestsRate = tooManyRequestsRate
    c.retryAfterSeconds = retryAfter
    c.internalErrorRate = internalErrorRate
    c.unavailableRate = unavailableRate
    c.latency = .milliseconds(latencyMilliseconds)
    c.closeWatchAfterEvents = closeWatchAfterEvents
    c.closeWatchAfter = closeWatchAfterSeconds > 0 ? .milliseconds(Int(closeWatchAfterSeconds * 1000)) : nil
    c.seed = seed
    return c
  }
}

/// `edgeml sim` flags for the simulated Jetson fleet.
struct EdgeSimOptions: ParsableArguments {
  @Flag(help: "Serve the bare API server: no nodes, scheduler, kubelets or controllers.") var noEdgesim = false
  @Option(help: "Simulated nodes as KIND=COUNT,… (kinds: \(NodeKind.catalogue.map(\.name).joined(separator: ", "))).")
  var nodes = FleetSpec.default.description
  @Option(help: "Multiplies every simulated duration (engine builds, back-offs, grace periods): 0.1 runs ten times faster.")
  var speed = 1.0
  @Option(help: "Directory for simulated volumes and container logs (default: a fresh temporary directory).") var simRoot: String?
  @Flag(help: "Do not serve Triton metrics and health endpoints at pod IPs.") var noPodMetrics = false
  @Flag(help: "Leave the simulated nodes without edgeml.io labels (by default node-agent labels each from its module's fixture tree).") var noNodeAgent = false
  @Option(help: ArgumentHelp("A simulated client load, routed as the model's router objects say (repeatable).",
                             valueName: "model=NAME,rps=R[,namespace=NS][,header=NAME:VALUE:FRACTION][,entry=KIND/NAME]"))
  var traffic: [String] = []
  @Option(help: ArgumentHelp("Latency and errors of the pods of a variant; the first match wins (repeatable).",
                             valueName: "[model=M][,version=V][,label=K=V],latencyMs=MEDIAN[,p99Ms=P99][,errorRate=E]"))
  var variantBehaviour: [String] = []
  @Option(help: "Seed of the simulated requests (headers, routing, latencies, errors).") var trafficSeed: UInt64 = 1
  @Option(help: "Background requests per second to each serving pod, per model no --traffic names.") var backgroundRps = 20.0
  @Option(help: ArgumentHelp("A program a container's command may name, run as a real process (repeatable; adds to the built-in table of edgeml programs).",
                             valueName: "NAME=PATH"))
  var executable: [String] = []
  @Option(help: "The distribution the cluster looks like: k3s (the nvidia RuntimeClass pre-installed) or microk8s (none: pods naming it are refused).")
  var distribution = "k3s"
  @Flag(help: "Nodes without NVIDIA's device plugin: no nvidia.com/gpu in their capacity (it is optional on K3s and MicroK8s).")
  var noDevicePlugin = false
  @Option(help: ArgumentHelp("How often the simulated metrics-server scrapes containers for kubectl top, as a Go duration (metrics-server's own flag; at least 1s).",
                             valueName: "DURATION"))
  var metricResolution = "15s"
  @Option(help: "Nice value (0-19) of the simulated nodes' work (pod workers and the container processes they start), so that on this machine's shared cores they leave the API server and the control plane their share, as nodes of their own would (benchmarks of a controller's latency: 10); 0 runs them like the rest.")
  var nodeNice: Int32 = 0

  func validate() throws {
    guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number.") }
    do { _ = try FleetSpec(parsing: nodes) } catch { throw ValidationError("--nodes: \(error)") }
    guard backgroundRps >= 0, backgroundRps.isFinite else { throw ValidationError("--background-rps must be a rate >= 0.") }
    guard ["k3s", "microk8s"].contains(distribution) else { throw ValidationError("--distribution must be k3s or microk8s.") }
    guard (0...19).contains(nodeNice) else { throw ValidationError("--node-nice must be between 0 and 19.") }
    _ = try trafficConfiguration()
    _ = try extraExecutables()
    _ = try resolution()
  }

  /// `--metric-resolution` as a duration.
  func resolution() throws -> Duration {
    let parsed: GoDuration
    do { parsed = try GoDuration(parsing: metricResolution) } catch { throw ValidationError("--metric-resolution: \(error)") }
    guard parsed.nanoseconds >= 1_000_000_000 else { throw ValidationError("--metric-resolution must be at least 1s.") }
    return .nanoseconds(parsed.nanoseconds)
  }

  /// `--executable NAME=PATH` entries.
  func extraExecutables() throws -> [String: String] {
    var table: [String: String] = [:]
    for entry in executable {
      guard let eq = entry.firstIndex(of: "="), eq != entry.startIndex, entry.index(after: eq) != entry.endIndex else {
        throw ValidationError("--executable \(entry): expected NAME=PATH.")
      }
      table[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
    }
    return table
  }

  /// The simulated clients from `--traffic`, `--variant-behaviour` and `--traffic-seed`.
  func trafficConfiguration() throws -> TrafficConfiguration {
    do {
      let loads = try traffic.map { try ModelLoad(parsing: $0) }
      let behaviours = try variantBehaviour.map { try VariantBehaviour(parsing: $0) }
      return TrafficConfiguration(seed: trafficSeed, loads: loads, behaviours: behaviours)
    } catch {
      throw ValidationError("\(error)")
    }
  }

  func configuration() throws -> EdgeSim.Configuration? {
    guard !noEdgesim else { return nil }
    let root = simRoot.map { URL(fileURLWithPath: $0) }
      ?? FileManager.default.temporaryDirectory.appendingPathComponent("edgeml-sim-\(ProcessInfo.processInfo.processIdentifier)")
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    let bin = (Bundle.main.executableURL ?? binary).deletingLastPathComponent()
    var configuration = EdgeSim.Configuration(fleet: try FleetSpec(parsing: nodes), simRoot: root,
                                              executables: EdgeSim.Configuration.defaultExecutables(binDirectory: bin)
                                                .merging(try extraExecutables()) { _, extra in extra },
                                              speed: speed, servesMetrics: !noPodMetrics, requestsPerSecond: backgroundRps,
                                              traffic: try trafficConfiguration())
    configuration.runtimeClasses = distribution == "microk8s" ? [] : ["nvidia"]
    configuration.devicePlugin = !noDevicePlugin
    configuration.metricResolution = try resolution()
    configuration.nodeNice = nodeNice
    // The release image runs the binaries built next to this one (`kubectl apply -k manifests/`
    // runs the real operator and node agent), and each node's disk holds its module's Jetson files
    // for the node agent's hostPath volumes.
    configuration.images = EdgeSim.Configuration.defaultImages
    for tree in NodeAgentFixtures.treeNames {
      configuration.hostFileSystems[tree] = NodeAgentFixtures.url(forTree: tree)
    }
    return configuration
  }
}

extension SimService {
  /// What the node-agent DaemonSet does on a real cluster: each node labelled from its own file
  /// system (here, the fixture tree of its module), through the API like any client.
  static func labelNodes(emulator: KubeEmulator, fleet: FleetSpec, logger: Logger) async throws {
    let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
    let client = try KubeClient(configuration: ClientConfiguration(server: emulator.url, certificateAuthorityPEM: ca,
                                                                   credential: .bearerToken(emulator.adminToken)), qps: 100, burst: 100)
    defer { client.shutdown() }
    for (name, kind) in fleet.nodes {
      guard let tree = NodeAgentFixtures.root(forTree: kind.fixture) else {
        logger.warning("No fixture tree for node kind; node left unlabelled", metadata: ["kube.name": "\(name)", "fixture": "\(kind.fixture)"])
        continue
      }
      _ = try await NodeLabeler.label(node: name, root: tree, client: client, logger: logger)
    }
  }
}
