import ControllerRuntime
import KubeCore
import Testing
@testable import EdgeML

/// Which writes wake which controller while a rollout runs.
@Suite struct ChangeFilterTests {
  let rollout: JSONValue = [
    "metadata": ["name": "detector-v4", "namespace": "vision", "generation": 1, "resourceVersion": "10"],
    "spec": ["modelRef": ["name": "detector"]],
    "status": ["phase": "Progressing", "currentStep": 0, "candidateHash": "sha256:1", "message": "step 0 of 3"],
  ]

  func change(_ old: JSONValue, _ edit: (inout JSONValue) -> Void) -> ObjectChange {
    var new = old
    edit(&new)
    new[path: ["metadata", "resourceVersion"]] = "11"
    return ObjectChange(key: "vision/detector-v4", old: old, new: new)
  }

  @Test func aRolloutsOwnStatusWriteDoesNotWakeItButAGateAndASpecChangeDo() {
    #expect(!ChangeFilters.rolloutNeedsItsController(change(rollout) { $0[path: ["status", "message"]] = "waiting" }))
    #expect(!ChangeFilters.rolloutNeedsItsController(change(rollout) { $0[path: ["status", "currentStep"]] = 1 }))
    #expect(ChangeFilters.rolloutNeedsItsController(change(rollout) { $0[path: ["status", "request"]] = ["action": "resume", "requestedAt": "t"] }))
    #expect(ChangeFilters.rolloutNeedsItsController(change(rollout) { $0[path: ["metadata", "generation"]] = 2 }))
    #expect(ChangeFilters.rolloutNeedsItsController(change(rollout) { $0[path: ["metadata", "deletionTimestamp"]] = "t" }))
    #expect(ChangeFilters.rolloutNeedsItsController(ObjectChange(key: "vision/detector-v4", old: nil, new: rollout)))
  }

  @Test func theModelWakesForTheRolloutFieldsItPlansFromOnly() {
    #expect(!ChangeFilters.rolloutMattersToItsModel(change(rollout) { $0[path: ["status", "message"]] = "waiting" }))
    #expect(!ChangeFilters.rolloutMattersToItsModel(change(rollout) { $0[path: ["status", "analysisRuns"]] = [] }))
    #expect(ChangeFilters.rolloutMattersToItsModel(change(rollout) { $0[path: ["status", "currentStep"]] = 1 }))
    #expect(ChangeFilters.rolloutMattersToItsModel(change(rollout) { $0[path: ["status", "phase"]] = "Paused" }))
    #expect(ChangeFilters.rolloutMattersToItsModel(change(rollout) { $0[path: ["status", "promotedAt"]] = "t" }))
  }

  @Test func rolloutsWakeForTheirModelsCandidateReportNotItsOtherConditions() {
    let model: JSONValue = ["metadata": ["name": "detector", "generation": 1], "spec": ["model": ["uri": "u"]],
                            "status": ["observedGeneration": 1, "phase": "Ready", "candidate": ["readyReplicas": 0]]]
    let edit = { (f: (inout JSONValue) -> Void) -> ObjectChange in
      var new = model
      f(&new)
      return ObjectChange(key: "vision/detector", old: model, new: new)
    }
    #expect(!ChangeFilters.edgeModelMattersToRollouts(edit { $0[path: ["status", "phase"]] = "Building" }))
    #expect(ChangeFilters.edgeModelMattersToRollouts(edit { $0[path: ["status", "candidate", "readyReplicas"]] = 1 }))
    #expect(ChangeFilters.edgeModelMattersToRollouts(edit { $0[path: ["spec", "model", "uri"]] = "v" }))
  }
}
