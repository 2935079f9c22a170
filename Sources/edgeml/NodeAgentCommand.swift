import ArgumentParser
import ControllerRuntime
import Foundation
import KubeClient
import KubeCore
import EngineBuilder
import Logging
import NodeAgent
import OperatorCLI
import ServiceLifecycle

/// `edgeml node-agent`: labels this Jetson's Node with its facts, serves its telemetry, and keeps
/// the node's engine cache within its budget.
///
/// In the DaemonSet it runs with `--root /host` (the host paths mounted read-only, the engine cache
/// read-write) and `NODE_NAME` from the downward API; EdgeSim runs it with `--fixture <tree> --once`
/// (or `--root`).
struct NodeAgentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "node-agent",
    abstract: "Label this Jetson's Node with edgeml.io/* facts, serve its power, GPU, memory and temperature metrics, and keep its engine cache within a budget.")

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
  @Option(help: "The node's engine cache directory (default: <root>/var/lib/edgeml/engines, the EdgeModels' default hostPath).")
  var cacheDir: String?
  @Option(help: "Most bytes the engine cache may hold: a size (8Gi, 500M, 1000000) or a share of its file system (20%); \"off\" leaves the cache alone.")
  var cacheBudget = "20%"
  @Option(help: "Time between engine cache passes, a Go duration; a pass also follows each change of the directory (a build committed).")
  var cacheInterval = "5m"

  func validate() throws {
    guard resolvedNodeName != nil else { throw ValidationError("--node-name or $NODE_NAME is required.") }
    guard let seconds = try? GoDuration(parsing: interval).seconds, seconds >= 1 else {
      throw ValidationError("--interval must be a Go duration of at least 1s, such as 60s.")
    }
    guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be between 0 and 65535.") }
    guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json.") }
    if cacheBudget != "off" {
      do { _ = try CacheBudget(parsing: cacheBudget) } catch { throw ValidationError("--cache-budget: \(error)") }
    }
    guard let cacheSeconds = try? GoDuration(parsing: cacheInterval).seconds, cacheSeconds >= 1 else {
      throw ValidationError("--cache-interval must be a Go duration of at least 1s, such as 5m.")
    }
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
    let keeper = cacheBudget == "off" ? nil : EngineCacheKeeper(
      directory: cacheDir ?? host.url(EngineCache.defaultHostPath).path, budget: try CacheBudget(parsing: cacheBudget), logger: logger)
    var server: HealthServer?
    if metricsPort > 0 {
      server = try await HealthServer(host: HealthServer.listenAddress(bindAddress, environment: ProcessInfo.processInfo.environment), port: metricsPort, isReady: { labelled.isSet },
                                      metrics: { Array((NodeTelemetry.read(from: host).prometheusText() + (keeper?.prometheusText() ?? "")).utf8) })
    }
    let period = Duration.nanoseconds(try GoDuration(parsing: interval).nanoseconds)
    var services: [any Service] = [NodeAgentService(node: node, root: host, client: client, period: period, labelled: labelled, logger: logger)]
    if let keeper {
      let cachePeriod = Duration.nanoseconds(try GoDuration(parsing: cacheInterval).nanoseconds)
      services.append(EngineCacheService(node: node, keeper: keeper, client: client, interval: cachePeriod, logger: logger))
      logger.info("Engine cache kept within budget", metadata: ["file.path": "\(keeper.directory)", "cache.budget": "\(keeper.budget)"])
    }
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
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

/// Runs an engine cache pass every `interval`, and soon after the cache directory changes (checked
/// every few seconds: a stat of one directory). A pass whose references cannot be read (API server
/// away, RBAC) only measures, and removes nothing.
struct EngineCacheService: Service {
  let node: String
  let keeper: EngineCacheKeeper
  let client: KubeClient
  let interval: Duration
  let logger: Logger

  func run() async throws {
    let check = min(interval, .seconds(5))
    await cancelWhenGracefulShutdown {
      while !Task.isCancelled {
        if keeper.isPassDue(interval: interval) {
          var references: CacheReferences?
          do { references = try await CacheReferences.read(node: node, client: client) } catch {
            logger.error("Reading the pods and EdgeModels failed; the engine cache pass removes nothing", metadata: ["error": "\(error)"])
          }
          keeper.pass(references: references)
        }
        try? await Task.sleep(for: check)
      }
    }
  }
}
