import ArgumentParser
import ControllerRuntime
import Foundation
import KubeClient
import KubeCore
import Logging
import NodeAgent
import OperatorCLI
import ServiceLifecycle

/// `edgeml node-agent`: labels this Jetson's Node with its facts and serves its telemetry.
///
/// In the DaemonSet it runs with `--root /host` (the host paths mounted read-only) and
/// `NODE_NAME` from the downward API; EdgeSim runs it with `--fixture <tree> --once` (or `--root`).
struct NodeAgentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "node-agent",
    abstract: "Label this Jetson's Node with edgeml.io/* facts and serve its power, GPU, memory and temperature metrics.")

  @Option(help: "Directory that stands for the host's / (the DaemonSet mounts host paths under /host).") var root = "/"
  // The help text names no trees: listing them would load the resource bundle on every run.
  @Option(help: "Use a bundled Jetson fixture tree (Sources/NodeAgent/Fixtures/<name>) as the root instead of --root.")
  var fixture: String?
  @Option(help: "Name of this Node (default: $NODE_NAME, set from the downward API).") var nodeName: String?
  @Flag(help: "Label the Node once and exit (no metrics server).") var once = false
  @Option(help: "Time between labelling passes, a Go duration such as 60s or 5m.") var interval = "60s"
  @Option(help: "Port for /metrics, /healthz and /readyz (0 disables).") var metricsPort = 9101
  @Option(help: "Address the metrics port listens on.") var bindAddress = "0.0.0.0"
  @Option(help: "Kubeconfig to use (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config).") var kubeconfig: String?
  @Option(help: "Kubeconfig context to use.") var context: String?
  @Option(help: "Log format: text or json.") var logFormat = "text"

  func validate() throws {
    guard resolvedNodeName != nil else { throw ValidationError("--node-name or $NODE_NAME is required.") }
    guard let seconds = try? GoDuration(parsing: interval).seconds, seconds >= 1 else {
      throw ValidationError("--interval must be a Go duration of at least 1s, such as 60s.")
    }
    guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be between 0 and 65535.") }
    guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json.") }
    if let fixture {
      guard root == "/" else { throw ValidationError("--fixture and --root exclude each other.") }
      guard NodeAgentFixtures.url(forTree: fixture) != nil else {
        throw ValidationError("--fixture \(fixture) is not one of: \(NodeAgentFixtures.treeNames.joined(separator: ", ")).")
      }
      return
    }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ValidationError("--root \(root) is not a directory.")
    }
  }

  var resolvedNodeName: String? {
    let name = nodeName ?? ProcessInfo.processInfo.environment["NODE_NAME"]
    return name?.isEmpty == false ? name : nil
  }

  func run() async throws {
    if logFormat == "json" { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
    var logger = Logger(label: "edgeml.node-agent")
    logger.logLevel = .info
    guard let node = resolvedNodeName else { throw ValidationError("--node-name or $NODE_NAME is required.") }
    let environment = ProcessInfo.processInfo.environment
    let config = kubeconfig == nil && environment["KUBERNETES_SERVICE_HOST"] != nil
      ? try ClientConfiguration.inCluster()
      : try ClientConfiguration.from(try Kubeconfig.load(explicitPath: kubeconfig), context: context)
    let client = try KubeClient(configuration: config)
    defer { client.shutdown() }
    let host = fixture.flatMap(NodeAgentFixtures.root(forTree:)) ?? HostRoot(path: root)
    if once {
      let outcome = try await NodeLabeler.label(node: node, root: host, client: client, logger: logger)
      logger.info("Node labelled", metadata: ["kube.name": "\(node)", "labels.count": "\(outcome.labels.count)",
                                              "labels.written": "\(outcome.wrote)", "facts.warnings": "\(outcome.report.warnings.count)"])
      return
    }
    let labelled = ReadyFlag()
    var server: HealthServer?
    if metricsPort > 0 {
      server = try await HealthServer(host: bindAddress, port: metricsPort, isReady: { labelled.isSet },
                                      metrics: { Array(NodeTelemetry.read(from: host).prometheusText().utf8) })
    }
    let period = Duration.nanoseconds(try GoDuration(parsing: interval).nanoseconds)
    let service = NodeAgentService(node: node, root: host, client: client, period: period, labelled: labelled, logger: logger)
    let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    logger.info("Node agent starting", metadata: ["kube.name": "\(node)", "root": "\(host.root.path)", "metrics.port": "\(metricsPort)"])
    try await group.run()
    await server?.shutdown()
  }
}

/// Labels the Node every `period` until graceful shutdown. A failed pass (API server away, RBAC)
/// is logged and retried at the next tick; it never ends the agent.
struct NodeAgentService: Service {
  let node: String
  let root: HostRoot
  let client: KubeClient
  let period: Duration
  let labelled: ReadyFlag
  let logger: Logger

  func run() async throws {
    await cancelWhenGracefulShutdown {
      var knownWarnings: [FactWarning] = []
      while !Task.isCancelled {
        do {
          let outcome = try await NodeLabeler.label(node: node, root: root, client: client, logger: logger, knownWarnings: knownWarnings)
          knownWarnings = outcome.report.warnings
          labelled.set()
        } catch {
          logger.error("Labelling the Node failed; retrying at the next interval", metadata: ["error": "\(error)"])
        }
        try? await Task.sleep(for: period)
      }
    }
    logger.info("Node agent stopped")
  }
}
