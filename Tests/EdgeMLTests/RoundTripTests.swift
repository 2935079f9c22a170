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
