import ArgumentParser
import DriftAgent
import Foundation
import KubeCore
import Logging
import OperatorCLI
import ServiceLifecycle

/// `edgeml drift-agent`: the sidecar that summarises an inference pod's feature values per window
/// and serves the summaries to the DriftPolicy controller (docs/drift-agent.md).
struct DriftAgentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drift-agent",
    abstract: "Summarise feature observations per window (KLL sketches, category counts) and serve them over HTTP.")

  @Option(help: "Port of the HTTP API (observations, summaries, samples, metrics, health).") var port = 9470
  @Option(help: "Address to listen on (the pod IP in a sidecar: $(POD_IP)).") var host = "0.0.0.0"
  @Option(help: ArgumentHelp("A feature to summarise (repeatable).", valueName: "NAME:numerical|NAME:categorical"))
  var feature: [String] = []
  @Option(help: ArgumentHelp("Histogram buckets of a numerical feature exported on /metrics, for a DriftPolicy reading Prometheus (repeatable).",
                              valueName: "NAME=B1,B2,…"))
  var buckets: [String] = []
  @Option(help: "Window length, a Go duration of whole seconds; windows start at multiples of it in Unix time.") var window = "60s"
  @Option(help: "How long windows are kept, a Go duration; older ones are dropped.") var retain = "1h"
  @Option(help: "Keep the last N raw values per feature for GET /v1/samples (only when the DriftPolicy's source is samples).")
  var keepSamples: Int?
  @Option(help: "Most distinct categories per categorical feature and window; more count as edgeml.io/other.") var categoryCap = 200
  @Option(help: "Log format: text or json.") var logFormat = "text"

  func validate() throws {
    guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535.") }
    guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json.") }
    do { try agentConfiguration().validate() } catch let error as AgentConfigurationError { throw ValidationError(error.description) }
  }

  func agentConfiguration() throws -> AgentConfiguration {
    let features = try feature.map { text in
      do { return try AgentConfiguration.Feature(parsing: text) } catch { throw ValidationError("\(error)") }
    }
    var bounds: [String: [Double]] = [:]
    for text in buckets {
      do {
        let (name, b) = try AgentConfiguration.parseBuckets(text)
        guard bounds.updateValue(b, forKey: name) == nil else { throw ValidationError("--buckets \(name) is given twice.") }
      } catch let error as AgentConfigurationError { throw ValidationError(error.description) }
    }
    return AgentConfiguration(features: features, buckets: bounds, windowSeconds: try Self.seconds(window, "--window"),
                              retainSeconds: try Self.seconds(retain, "--retain"), categoryCap: categoryCap, keepSamples: keepSamples)
  }

  static func seconds(_ text: String, _ flag: String) throws -> Int {
    guard let duration = try? GoDuration(parsing: text), duration.nanoseconds > 0, duration.nanoseconds % 1_000_000_000 == 0 else {
      throw ValidationError("\(flag) must be a Go duration of whole seconds, such as 60s or 1h, not \"\(text)\".")
    }
    return Int(duration.nanoseconds / 1_000_000_000)
  }

  func run() async throws {
    if logFormat == "json" { LoggingSystem.bootstrap { JSONLogHandler(label: $0) } }
    var logger = Logger(label: "edgeml.drift-agent")
    logger.logLevel = .info
    let config = try agentConfiguration()
    let environment = ProcessInfo.processInfo.environment
    let source = environment["POD_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? ProcessInfo.processInfo.hostName
    let store = SummaryStore(configuration: config)
    let server = try await DriftAgentServer(store: store, host: host, port: port, source: source)
    logger.info("Drift agent serving", metadata: ["server.host": "\(host)", "server.port": "\(server.port)",
                                                  "features.count": "\(config.features.count)", "window.seconds": "\(config.windowSeconds)"])
    // Until SIGTERM (the kubelet stopping the container) or SIGINT.
    let group = ServiceGroup(configuration: .init(services: [WaitService()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
    logger.info("Drift agent stopping")
    await server.shutdown()
  }
}
