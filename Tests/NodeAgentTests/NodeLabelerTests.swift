import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Synchronization
import Testing
@testable import NodeAgent

/// Counts the requests a client sends, by HTTP method.
final class RequestCounter: Sendable {
  private let counts = Mutex<[String: Int]>([:])
  func record(_ method: String) { counts.withLock { $0[method, default: 0] += 1 } }
  subscript(method method: String) -> Int { counts.withLock { $0[method, default: 0] } }
}

func nodeObject(_ name: String, labels: [String: String]) -> JSONValue {
  var labelObject = JSONObject()
  for key in labels.keys.sorted() { labelObject.appendUnchecked(key, .string(labels[key] ?? "")) }
  return ["apiVersion": "v1", "kind": "Node", "metadata": ["name": .string(name), "labels": .object(labelObject)]]
}

func labels(of node: JSONValue) -> [String: String] {
  (node[path: ["metadata", "labels"]]?.objectValue ?? [:]).reduce(into: [:]) { $0[$1.0] = $1.1.stringValue }
}

/// An emulator over HTTPS on loopback, one per test.
func startEmulator() async throws -> KubeEmulator {
  var config = KubeEmulator.Configuration()
  config.threads = 1
  return try await KubeEmulator.start(config)
}

/// An admin client that trusts the emulator's CA and counts its requests in `counter`.
func adminClient(_ emulator: KubeEmulator, counter: RequestCounter) throws -> KubeClient {
  let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
  let config = ClientConfiguration(server: emulator.url, namespace: "default", certificateAuthorityPEM: ca, insecureSkipTLSVerify: false,
                                   tlsServerName: nil, credential: .bearerToken(emulator.adminToken))
  return try KubeClient(configuration: config, qps: 1000, burst: 1000, requestObserver: { method, _, _ in counter.record(method) })
}

@Suite("Labelling a Node through the API server (emulator over HTTPS)")
struct NodeLabelerTests {
  @Test("the agent sets its labels, removes stale edgeml.io ones, keeps foreign ones, and writes nothing the second time")
  func labelsAndSteadyState() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let counter = RequestCounter()
    let client = try adminClient(emulator, counter: counter)
    defer { client.shutdown() }
    let foreign = ["kubernetes.io/hostname": "jetson-a", "kubernetes.io/arch": "arm64", "team": "vision",
                   "node.edgeml.io/pool": "lab"]
    let stale = ["edgeml.io/l4t": "35.4.1", "edgeml.io/retired.fact": "yes", "edgeml.io/tensorrt": "10.3.0"]
    _ = try await client.create(.nodes, nodeObject("jetson-a", labels: foreign.merging(stale) { a, _ in a }))
    let root = try #require(NodeAgentFixtures.root(forTree: "orin-nx-16gb-r36.4.3"))
    let logger = Logger(label: "test.nodeagent")

    let first = try await NodeLabeler.label(node: "jetson-a", root: root, client: client, logger: logger)
    #expect(first.wrote)
    #expect(first.patch.removals == ["edgeml.io/retired.fact"])
    #expect(first.patch.assignments["edgeml.io/tensorrt"] == nil, "an unchanged value is not rewritten")
    let afterFirst = try await client.get(.nodes, name: "jetson-a")
    let expected = try #require(treeCases.first { $0.tree == "orin-nx-16gb-r36.4.3" }).labels
    #expect(labels(of: afterFirst) == foreign.merging(expected) { a, _ in a })
    #expect(counter[method: "PATCH"] == 1)

    let second = try await NodeLabeler.label(node: "jetson-a", root: root, client: client, logger: logger)
    #expect(!second.wrote && second.patch.isEmpty)
    #expect(counter[method: "PATCH"] == 1)
    let afterSecond = try await client.get(.nodes, name: "jetson-a")
    #expect(afterSecond[path: ["metadata", "resourceVersion"]] == afterFirst[path: ["metadata", "resourceVersion"]])
  }

  @Test("moving a node to a broken root removes the labels whose facts became unreadable")
  func factsLost() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let counter = RequestCounter()
    let client = try adminClient(emulator, counter: counter)
    defer { client.shutdown() }
    _ = try await client.create(.nodes, nodeObject("jetson-b", labels: ["team": "vision"]))
    let logger = Logger(label: "test.nodeagent")
    _ = try await NodeLabeler.label(node: "jetson-b", root: try #require(NodeAgentFixtures.root(forTree: "orin-nx-16gb-r36.4.3")),
                                    client: client, logger: logger)
    let broken = try await NodeLabeler.label(node: "jetson-b", root: try #require(NodeAgentFixtures.root(forTree: "broken-orin-nx-16gb")),
                                             client: client, logger: logger)
    #expect(broken.wrote)
    #expect(broken.patch.removals == ["edgeml.io/cuda", "edgeml.io/dla.cores", "edgeml.io/gpu.arch", "edgeml.io/jetpack",
                                      "edgeml.io/l4t", "edgeml.io/secureboot", "edgeml.io/soc"])
    let node = try await client.get(.nodes, name: "jetson-b")
    let expected = try #require(treeCases.first { $0.tree == "broken-orin-nx-16gb" }).labels
    #expect(labels(of: node) == expected.merging(["team": "vision"]) { a, _ in a })
  }

  @Test("a patch computed from a stale read of the Node is refused (409), so it never overwrites a newer Node")
  func stalePatchConflicts() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let counter = RequestCounter()
    let client = try adminClient(emulator, counter: counter)
    defer { client.shutdown() }
    let created = try await client.create(.nodes, nodeObject("jetson-c", labels: [:]))
    let staleVersion = try #require(created[path: ["metadata", "resourceVersion"]]?.stringValue)
    _ = try await client.patch(.nodes, name: "jetson-c", ["metadata": ["labels": ["team": "vision"]]], type: .merge)
    let patch = NodeLabelPatch(current: [:], desired: ["edgeml.io/l4t": "36.4.3"])
    do {
      _ = try await client.patch(.nodes, name: "jetson-c", patch.mergePatch(resourceVersion: staleVersion), type: .merge)
      Issue.record("a stale resourceVersion was accepted")
    } catch let error as KubeAPIError {
      #expect(error.isConflict)
    }
    // The labeler itself re-reads, so it succeeds on the same Node.
    let outcome = try await NodeLabeler.label(node: "jetson-c", root: try #require(NodeAgentFixtures.root(forTree: "orin-nx-16gb-r36.4.3")),
                                              client: client, logger: Logger(label: "test.nodeagent"))
    #expect(outcome.wrote)
  }

  @Test("an unknown node is a NotFound error, not a created node")
  func unknownNode() async throws {
    let emulator = try await startEmulator()
    defer { Task { await emulator.shutdown() } }
    let counter = RequestCounter()
    let client = try adminClient(emulator, counter: counter)
    defer { client.shutdown() }
    let root = try #require(NodeAgentFixtures.root(forTree: "orin-nano-8gb-r36.4.0"))
    await #expect(throws: KubeAPIError.self) {
      _ = try await NodeLabeler.label(node: "ghost", root: root, client: client, logger: Logger(label: "test.nodeagent"))
    }
  }
}

/// Keeps every log record's level and message, for tests that check what the agent says.
struct RecordingLogHandler: LogHandler {
  let sink: LogRecords
  var logLevel: Logger.Level = .trace
  var metadata: Logger.Metadata = [:]
  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }
  func log(event: LogEvent) { sink.records.withLock { $0.append((event.level, event.message.description)) } }
}

final class LogRecords: Sendable {
  let records = Mutex<[(Logger.Level, String)]>([])
  var logger: Logger { Logger(label: "test.nodeagent") { _ in RecordingLogHandler(sink: self) } }
  func count(_ level: Logger.Level, _ message: String) -> Int { records.withLock { $0.filter { $0.0 == level && $0.1 == message }.count } }
}

@Test("a periodic agent warns once about an unreadable file, then only at debug level")
func warningsOnce() async throws {
  let emulator = try await startEmulator()
  defer { Task { await emulator.shutdown() } }
  let client = try adminClient(emulator, counter: RequestCounter())
  defer { client.shutdown() }
  _ = try await client.create(.nodes, nodeObject("jetson-d", labels: [:]))
  let root = try #require(NodeAgentFixtures.root(forTree: "broken-orin-nx-16gb"))
  let log = LogRecords()
  let first = try await NodeLabeler.label(node: "jetson-d", root: root, client: client, logger: log.logger)
  #expect(log.count(.warning, "Jetson fact unreadable; its label is left out") == first.report.warnings.count)
  _ = try await NodeLabeler.label(node: "jetson-d", root: root, client: client, logger: log.logger, knownWarnings: first.report.warnings)
  #expect(log.count(.warning, "Jetson fact unreadable; its label is left out") == first.report.warnings.count)
  #expect(log.count(.debug, "Jetson fact unreadable; its label is left out") == first.report.warnings.count)
}
