import Foundation
import KubeCore
import Testing
@testable import EdgeML

func example(_ name: String) throws -> JSONValue {
  try #require(try loadYAML("examples/\(name)").first)
}

@Test("every example reads into its Swift type and writes back unchanged", arguments: [
  "edgemodel-orin-nx-fp16.yaml", "edgemodel-int8-calibrated.yaml", "edgemodel-daemonset.yaml",
  "rollout-canary-analysis.yaml", "rollout-ab-test.yaml", "rollout-fleet-waves.yaml", "driftpolicy-ks-psi.yaml",
  "edgemodel-mlflow-follow.yaml",
])
func examplesRoundTrip(_ name: String) throws {
  let json = try example(name)
  switch json["kind"]?.stringValue {
  case "EdgeModel": #expect(try EdgeModel(json: json).json == json)
  case "Rollout": #expect(try Rollout(json: json).json == json)
  case "DriftPolicy": #expect(try DriftPolicy(json: json).json == json)
  default: Issue.record("unexpected kind in \(name)")
  }
}

@Test("a field this version does not know survives a write through the Swift types, at any depth")
func unknownFieldsSurvive() throws {
  var json = try example("edgemodel-orin-nx-fp16.yaml")
  json[path: ["spec", "engine", "sparsity"]] = "enabled"            // a newer CRD's field
  json[path: ["spec", "futureTopLevel"]] = ["a": 1]
  json[path: ["status"]] = ["phase": "Ready", "newerStatusField": true]
  var model = try EdgeModel(json: json)
  model.spec.engine?.precision = .int8
  model.spec.engine?.workspaceMiB = nil                               // removed by us: must go
  model.status?.readyReplicas = 2
  let out = model.json
  #expect(out[path: ["spec", "engine", "sparsity"]] == "enabled")
  #expect(out[path: ["spec", "futureTopLevel", "a"]] == 1)
  #expect(out[path: ["spec", "engine", "precision"]] == "int8")
  #expect(out[path: ["spec", "engine", "workspaceMiB"]] == nil)
  #expect(out[path: ["status", "newerStatusField"]] == true)
  #expect(out[path: ["status", "readyReplicas"]] == 2)
}

@Test("an object that does not fit the type is a clear error naming the kind")
func badObject() throws {
  var json = try example("rollout-ab-test.yaml")
  json[path: ["spec", "strategy", "abTest", "variants"]] = "not a list"
  #expect(throws: ResourceDecodingError.self) { try Rollout(json: json) }
  do { _ = try Rollout(json: json) } catch { #expect(error.description.hasPrefix("cannot read Rollout")) }
}

/// The operator reads and writes its types through KubeCore's tree coders. What they give must be
/// what Foundation's JSON coders gave (the operator used those before): a candidate's hash is the
/// SHA-256 of its encoded spec, and a Rollout in progress across an operator upgrade keeps its hash.
@Test("every example's spec decodes to Foundation's value and encodes to Foundation's bytes", arguments: [
  "edgemodel-orin-nx-fp16.yaml", "edgemodel-int8-calibrated.yaml", "edgemodel-daemonset.yaml", "edgemodel-mlflow-follow.yaml",
  "rollout-canary-analysis.yaml", "rollout-ab-test.yaml", "rollout-ab-latency.yaml", "rollout-fleet-waves.yaml",
  "driftpolicy-ks-psi.yaml", "driftpolicy-baseline.yaml", "driftpolicy-federated.yaml",
])
func treeCodersMatchFoundation(_ name: String) throws {
  let json = try example(name)
  let spec = json["spec"] ?? [:]
  func check<T: Codable & Equatable>(_ type: T.Type) throws {
    let ours = try ModelCoding.decode(T.self, from: spec)
    let theirs = try JSONDecoder().decode(T.self, from: Data(spec.serialized()))
    #expect(ours == theirs)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let foundation = try JSONValue(parsing: [UInt8](try encoder.encode(theirs)))
    #expect(ModelCoding.encode(ours).serializedString() == foundation.serializedString())
  }
  switch json["kind"]?.stringValue {
  case "EdgeModel": try check(EdgeModelSpec.self)
  case "Rollout": try check(RolloutSpec.self)
  case "DriftPolicy": try check(DriftPolicySpec.self)
  default: Issue.record("unexpected kind in \(name)")
  }
}

@Test("a field of the wrong type is named by its path in the message a user reads")
func decodingErrorNamesThePath() throws {
  var json = try example("edgemodel-orin-nx-fp16.yaml")
  json[path: ["spec", "placement", "replicas"]] = "two"
  do {
    _ = try EdgeModel(json: json)
    Issue.record("decoded a string as the replica count")
  } catch {
    #expect(error.description == "cannot read EdgeModel: spec.placement.replicas: Expected to decode Int but found a string instead.")
  }
}
