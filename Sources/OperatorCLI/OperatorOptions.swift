import ArgumentParser
import ControllerRuntime
import EdgeML
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeClient
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// The flags and the run of the operator: the controllers, against the cluster of a kubeconfig or
/// the one it runs in.
///
/// Two commands run it, with the same flags and the same behaviour: `edgeml operator` (the
/// all-in-one binary) and `edgeml-operator` (the slim binary the Deployment runs, which links
/// neither the emulator nor EdgeSim nor full Foundation).
public struct OperatorOptions: ParsableArguments {
  /// What both commands say they do.
  public static let abstract = "Run the EdgeML controllers."

  @Option(help: "Kubeconfig to use (default: in-cluster config, then $KUBECONFIG, then ~/.kube/config).") var kubeconfig: String?
  @Option(help: "Kubeconfig context to use.") var context: String?
  @Option(help: "Namespace to watch (default: all namespaces).") var namespace: String?
  @Option(help: "Reconcile workers per controller.") var workers = 2
  @Flag(help: "Elect a leader with a Lease so only one replica reconciles.") var leaderElect = false
  @Option(help: "Namespace of the leader election Lease (default: $POD_NAMESPACE or edgeml-system).") var leaseNamespace: String?
  @Option(help: "Identity in the Lease (default: $POD_NAME or the host name).") var identity: String?
  @Option(help: "Seconds a Lease stays valid without renewal (client-go default 15).") var leaseDurationSeconds = 15
  @Option(help: "Seconds a leader keeps trying to renew before giving up (client-go default 10).") var renewDeadlineSeconds = 10
  @Option(help: "Seconds between lease attempts (client-go default 2).") var retryPeriodSeconds = 2
  @Option(help: "Client-side rate limit, requests per second.") var qps = 20.0
  @Option(help: "Client-side rate limit burst.") var burst = 40
  @Option(help: "Log format: text or json.") var logFormat = "text"
  // The metrics flags are kubebuilder v4's (its scaffold's cmd/main.go): --metrics-bind-address,
  // --metrics-secure, --metrics-cert-path/-name/-key (docs/metrics.md).
  @Option(help: "Address /metrics listens on, HOST:PORT or :PORT (0 disables).") var metricsBindAddress = ":8443"
  @Option(help: ArgumentHelp("Serve /metrics over HTTPS to callers whose token may get /metrics (TokenReview, SubjectAccessReview). Use --metrics-secure=false for plain HTTP open to anyone who reaches the port.",
                             valueName: "bool")) var metricsSecure = true
  @Option(help: "Directory with the metrics server's certificate and key (default: a self-signed certificate made at start-up).") var metricsCertPath: String?
  @Option(help: "File name of the metrics server's certificate in --metrics-cert-path.") var metricsCertName = "tls.crt"
  @Option(help: "File name of the metrics server's private key in --metrics-cert-path.") var metricsCertKey = "tls.key"
  @Option(help: "Port for /healthz and /readyz, plain HTTP (0 disables).") var healthPort = 8081
  @Option(help: "Address the health port listens on.") var bindAddress = "0.0.0.0"
  @Option(help: ArgumentHelp("Port the DriftPolicy controller scrapes drift agents on (the sidecar's is 9470; another port serves tests and port-forwarding).",
                             visibility: .hidden)) var driftAgentPort = DriftPolicyReconciler.agentPort
  @Option(help: "Image of the engine-building init container (default: $EDGEML_IMAGE, else the operator's release image).") var builderImage: String?
  @Option(help: "Builder images by L4T release: a directory of files named by release (36.4, 35.4…) holding an image each (a mounted ConfigMap), or a file of RELEASE=IMAGE lines. A node group whose release matches builds in that image, into which edgeml-engine is copied.")
  var builderImages: String?

  /// Options with every default; ArgumentParser fills them from the command line.
  public init() {}

  /// The release image; it carries `edgeml`, so the same image builds engines.
  public static let defaultImage = "ghcr.io/edgeml/edgeml:0.1.0"

  /// Refuses flag values the operator cannot run with, before `run()` starts anything.
  public func validate() throws {
    guard workers > 0 else { throw ValidationError("--workers must be at least 1.") }
    guard qps > 0, burst > 0 else { throw ValidationError("--qps and --burst must be positive.") }
    guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json.") }
    let metricsAddress = try Self.parseBindAddress(metricsBindAddress)
    guard (0...65535).contains(healthPort) else { throw ValidationError("--health-port must be between 0 and 65535.") }
    if let metricsAddress, metricsAddress.port > 0, metricsAddress.port == healthPort {
      throw ValidationError("--metrics-bind-address and --health-port name the same port \(healthPort): the health probes stay plain HTTP on their own port.")
    }
    if metricsCertPath != nil, !metricsSecure {
      throw ValidationError("--metrics-cert-path needs --metrics-secure (a certificate is only used for HTTPS).")
    }
    guard retryPeriodSeconds > 0, renewDeadlineSeconds > retryPeriodSeconds, leaseDurationSeconds > renewDeadlineSeconds else {
      throw ValidationError("Leader election needs 0 < --retry-period-seconds < --renew-deadline-seconds < --lease-duration-seconds.")
    }
  }

  /// Runs the controllers until SIGTERM or SIGINT, then releases the Lease and stops.
  ///
  /// Bootstraps the process's metrics backend (Prometheus) and, with `--log-format json`, its log
  /// backend: call it once, from `@main`'s command.
  public func run() async throws {
    MappedFiles.adviseRandomAccess()
    let registry = PrometheusCollectorRegistry()
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    if logFormat == "json" { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
    var logger = Logger(label: "edgeml.operator")
    logger.logLevel = .info
    let environment = ProcessInfo.processInfo.environment
    let config: ClientConfiguration
    if kubeconfig == nil, environment["KUBERNETES_SERVICE_HOST"] != nil {
      config = try ClientConfiguration.inCluster()
    } else {
      config = try ClientConfiguration.from(try Kubeconfig.load(explicitPath: kubeconfig), context: context)
    }
    let client = try KubeClient(configuration: config, qps: qps, burst: burst, requestObserver: { verb, code, duration in
      Counter(label: "edgeml_api_requests_total", dimensions: [("verb", verb), ("code", String(code))]).increment()
      // How long the API server took to answer, by verb (client-go: rest_client_request_duration_seconds).
      Metrics.Timer(label: "edgeml_api_request_duration_seconds", dimensions: [("verb", verb)], preferredDisplayUnit: .seconds)
        .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    })
    let instance = identity ?? environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName
    let recorder = EventRecorder(client: client, reportingController: "edgeml.io/operator", reportingInstance: instance)
    let byL4T = try builderImages.map { try OperatorOptions.readBuilderImages($0) } ?? [:]
    // mlflow://NAME@ALIAS models are resolved at MLFLOW_TRACKING_URI (docs/mlflow.md).
    let controllers = OperatorAssembly.controllers(builderImage: builderImage ?? environment["EDGEML_IMAGE"] ?? OperatorOptions.defaultImage,
                                                   builderImagesByL4T: byL4T, workers: workers,
                                                   mlflow: MLflowRESTRegistry(environment: environment), driftAgentPort: driftAgentPort)
    var elector: LeaderElector? = nil
    if leaderElect {
      let id = identity ?? environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName + "-" + String(ProcessInfo.processInfo.processIdentifier)
      var e = LeaderElector(client: client, namespace: leaseNamespace ?? environment["POD_NAMESPACE"] ?? "edgeml-system",
                            name: "edgeml-operator-leader", identity: id, logger: logger)
      e.leaseDuration = .seconds(leaseDurationSeconds)
      e.renewDeadline = .seconds(renewDeadlineSeconds)
      e.retryPeriod = .seconds(retryPeriodSeconds)
      elector = e
    }
    let ready = ReadyFlag()
    var manager = await Manager(client: client, controllers: controllers, namespace: namespace, recorder: recorder,
                                leaderElector: elector, logger: logger)
    manager.onSynced = {
      ready.set()
      // Start-up is over and libcurl is loaded: what was touched only to get here leaves the RSS.
      MappedFiles.adviseRandomAccess()
      MappedFiles.releaseIdlePages()
    }
    var servers: [HealthServer] = []
    if healthPort > 0 {
      servers.append(try await HealthServer(host: HealthServer.listenAddress(bindAddress, environment: environment), port: healthPort,
                                            isReady: { ready.isSet }))
    }
    var services: [any Service] = []
    if let metricsServer = try await startMetricsServer(client: client, environment: environment, logger: logger,
                                                        metrics: { registry.emitToBuffer() + ObjectMetrics.shared.render() }) {
      services.append(MetricsService(server: metricsServer))
    }
    // Last in, first out: on SIGTERM the controllers stop (and release the Lease) before /metrics closes.
    services.append(OperatorService(manager: manager, logger: logger))
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    logger.info("Operator starting", metadata: ["server": "\(config.server)", "leaderElection": "\(leaderElect)"])
    try await group.run()
    for s in servers { await s.shutdown() }
    client.shutdown()
  }
}

extension OperatorOptions {
  /// The host and port of `--metrics-bind-address`: `:8443` (every address), `HOST:PORT`,
  /// `[IPv6]:PORT`; nil for `0`, which disables the metrics server (kubebuilder's convention).
  /// - Throws: `ValidationError` for anything else.
  public static func parseBindAddress(_ text: String) throws -> (host: String, port: Int)? {
    if text == "0" { return nil }
    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
      throw ValidationError("--metrics-bind-address \"\(text)\": expected :PORT or HOST:PORT (0 disables the metrics server).")
    }
    var host = String(text[..<colon])
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    return (host.isEmpty ? "0.0.0.0" : host, port)
  }

  /// Binds /metrics as the flags say: HTTPS with a certificate from `--metrics-cert-path` or a
  /// self-signed one, every scrape reviewed with the API server; or plain HTTP with
  /// `--metrics-secure=false`. Nil when `--metrics-bind-address 0`.
  func startMetricsServer(client: KubeClient, environment: [String: String], logger: Logger,
                          metrics: @escaping @Sendable () -> [UInt8]) async throws -> MetricsServer? {
    guard let address = try Self.parseBindAddress(metricsBindAddress) else { return nil }
    let host = HealthServer.listenAddress(address.host, environment: environment)
    var certificate: ServingCertificate? = nil
    var authorizer: MetricsAuthorizer? = nil
    if metricsSecure {
      if let directory = metricsCertPath {
        certificate = try ServingCertificate.load(certificateFile: directory + "/" + metricsCertName, keyFile: directory + "/" + metricsCertKey)
      } else {
        // The names a scraper may reach the pod by: its IP (EdgeSim's pod address, a real pod's
        // POD_IP if the Deployment passes it) and its host name.
        let hosts = [host, environment["POD_IP"], ProcessInfo.processInfo.hostName].compactMap { $0 }.filter { $0 != "0.0.0.0" && $0 != "::" }
        certificate = try ServingCertificate.selfSigned(hosts: hosts)
      }
      authorizer = MetricsAuthorizer(reviewer: KubeAccessReviewer(client: client))
    }
    let server = try await MetricsServer.bind(host: host, port: address.port, certificate: certificate, authorizer: authorizer,
                                              logger: logger, metrics: metrics)
    logger.info("Serving metrics", metadata: ["metrics.address": "\(host):\(server.port)", "metrics.secure": "\(metricsSecure)",
                                              "metrics.certificate": "\(metricsCertPath ?? "self-signed")"])
    return server
  }

  /// What `--builder-images` names: a directory (a ConfigMap volume: one file per L4T release, its
  /// content the image; the volume's `..data` entries skipped) or a file of `RELEASE=IMAGE` lines
  /// (`#` comments and blank lines ignored).
  /// - Throws: `ValidationError` naming the path and what is wrong with it.
  public static func readBuilderImages(_ path: String) throws -> [String: String] {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
      throw ValidationError("--builder-images \(path): file not found")
    }
    func trimmed<S: StringProtocol>(_ text: S) -> String {
      String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
    func text(_ file: String) throws -> String {
      guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("--builder-images: cannot read \(file)") }
      return trimmed(String(decoding: data, as: UTF8.self))
    }
    var table: [String: String] = [:]
    if attributes[.type] as? FileAttributeType == .typeDirectory {
      let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }
      for name in names { table[name] = try text(path + "/" + name) }
    } else {
      for (number, line) in try text(path).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = trimmed(line)
        if line.isEmpty || line.hasPrefix("#") { continue }
        guard let eq = line.firstIndex(of: "=") else {
          throw ValidationError("--builder-images \(path):\(number + 1): expected RELEASE=IMAGE, got \"\(line)\"")
        }
        table[trimmed(line[..<eq])] = trimmed(line[line.index(after: eq)...])
      }
    }
    for (release, image) in table {
      guard !release.isEmpty, release.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
        throw ValidationError("--builder-images \(path): \"\(release)\" is not an L4T release (like 36.4 or 35.4.1)")
      }
      guard !image.isEmpty, !image.contains(where: \.isWhitespace) else {
        throw ValidationError("--builder-images \(path): the image for \(release) is empty or has spaces")
      }
    }
    return table
  }
}
