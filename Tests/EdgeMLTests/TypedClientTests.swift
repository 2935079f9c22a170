import Foundation
import KubeClient
import KubeCore
import KubeEmulator
import Testing
import YAML
@testable import EdgeML

@Test("EdgeModels go through the typed client: create, read, status update, and stale status writes conflict")
func typedClient() async throws {
  var config = KubeEmulator.Configuration()
  config.threads = 1
  let emulator = try await KubeEmulator.start(config)
  defer { Task { await emulator.shutdown() } }
  let ca = emulator.certificateAuthority.map { Array($0.certificatePEM.utf8) }
  let client = try KubeClient(configuration: ClientConfiguration(server: emulator.url, certificateAuthorityPEM: ca,
                                                                 credential: .bearerToken(emulator.adminToken)))
  defer { client.shutdown() }
  let crd = try #require(try loadYAML("crds/edgemodels.edgeml.io.yaml").first)
  _ = try await client.create(GroupVersionResource(group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions",
                                                  namespaced: false), crd)
  var model = try EdgeModel(json: try example("edgemodel-orin-nx-fp16.yaml"))
  model.metadata.namespace = "default"
  let created = try await client.create(model)
  #expect(created.spec.engine?.precision == .fp16)
  #expect(created.spec.engine?.cache?.hostPath == "/var/lib/edgeml/engines")   // defaulted by the CRD schema
  var read = try await client.get(EdgeModel.self, namespace: "default", name: "detector")
  var status = EdgeModelStatus()
  status.phase = .pending
  status.observedGeneration = read.metadata.generation.map(Int.init)
  read.status = status
  let written = try await client.updateStatus(read)
  #expect(written.status?.phase == .pending)
  do {
    _ = try await client.updateStatus(read)   // read's resourceVersion is stale now
    Issue.record("a stale status write was accepted")
  } catch let e as KubeAPIError {
    #expect(e.isConflict)
  }
  #expect(try await client.list(EdgeModel.self, namespace: "default").map(\.metadata.name) == ["detector"])
}
