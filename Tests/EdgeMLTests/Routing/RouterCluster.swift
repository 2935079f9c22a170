import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Synchronization
import Testing
import YAML
@testable import EdgeML

/// An emulator over HTTPS with some of the ecosystem CRDs of `Tests/Fixtures/crds/` installed as
/// published (provenance in `Tests/Fixtures/README.md`), and a client of it.
struct RouterCluster: Sendable {
  let emulator: KubeEmulator
  let client: KubeClient

  static let gatewayAPI = ["gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml"]
  static let traefik = ["traefik-v3/traefik.io_traefikservices.yaml"]

  static func start(crds: [String]) async throws -> RouterCluster {
    var config = KubeEmulator.Configuration()
    config.threads = 1
    let emulator = try await KubeEmulator.start(config)
    let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
    let client = try KubeClient(configuration: ClientConfiguration(server: emulator.url, certificateAuthorityPEM: ca,
                                                                   credential: .bearerToken(emulator.adminToken)))
    for file in crds {
      let crd = try #require(try loadYAML("Tests/Fixtures/crds/\(file)").first { $0 != .null })
      _ = try await client.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
                                                      namespaced: false), crd)
    }
    return RouterCluster(emulator: emulator, client: client)
  }

  func stop() async {
    client.shutdown()
    await emulator.shutdown()
  }

  /// Creates an object from YAML in `default`.
  @discardableResult
  func create(_ resource: GroupVersionResource, _ yaml: String) async throws -> JSONValue {
    let object = try #require(try YAML.parseDocuments(yaml).first)
    return try await client.create(resource, namespace: "default", object)
  }

  /// A second client of the emulator that records the verb and status code of each answered
  /// request; shut it down when done.
  func recordingClient() throws -> (client: KubeClient, verbs: VerbRecorder) {
    let verbs = VerbRecorder()
    let client = try KubeClient(configuration: client.configuration, requestObserver: { verb, code, _ in verbs.record(verb, code) })
    return (client, verbs)
  }

  func get(_ resource: GroupVersionResource, _ name: String) async throws -> JSONValue {
    try await client.get(resource, namespace: "default", name: name)
  }
}

/// The split the tests ask for: Rollout `detector-v4` moving Service `detector` to `detector-candidate`.
func route(_ weight: Int, match: RouteMatch? = nil, owners: [OwnerReference] = []) -> RouteWeights {
  RouteWeights(namespace: "default", rolloutName: "detector-v4", stableService: "detector", candidateService: "detector-candidate",
               candidateWeight: weight, match: match, ownerReferences: owners)
}

/// The weights of the backends of `list` by name.
func weights(_ list: JSONValue?) -> [String: Int] {
  var out: [String: Int] = [:]
  for ref in list?.arrayValue ?? [] {
    if let name = ref["name"]?.stringValue { out[name] = ref["weight"]?.intValue ?? -1 }
  }
  return out
}

/// A gateway controller's report on an HTTPRoute, as a merge patch of its status.
let gatewayStatus: JSONValue = ["status": ["parents": [[
  "parentRef": ["name": "edge-gateway"], "controllerName": "traefik.io/gateway-controller",
  "conditions": [["type": "Accepted", "status": "True", "reason": "Accepted", "message": "", "observedGeneration": 2,
                  "lastTransitionTime": "2026-12-08T00:00:00Z"]],
]]]]

/// The verbs and status codes of a client's answered requests, in order.
final class VerbRecorder: Sendable {
  private let seen = Mutex<[String]>([])
  func record(_ verb: String, _ code: Int) { seen.withLock { $0.append("\(verb) \(code)") } }
  /// What was recorded since the last call.
  func take() -> [String] { seen.withLock { s in defer { s = [] }; return s } }
}

/// Counts calls from the test hook, which runs on the router's task.
actor CallCounter {
  private(set) var count = 0
  func next() -> Int { count += 1; return count }
}
