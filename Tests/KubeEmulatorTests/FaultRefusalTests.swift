import KubeCore
import Testing
@testable import KubeEmulator

/// The fault injector's refusals: one verb on one resource (and subresource) refused every time,
/// everything else served; set and read back through the control endpoint, bad rules a 400.
@Suite("Fault injection: refused requests")
struct FaultRefusalTests {
  @Test("a refused status PATCH is a 500 every time while the object's own PATCH, its GET and other resources are served")
  func refusesOnlyTheNamedRequest() {
    let s = makeServer()
    let (set, echoed) = s.call("PUT", "/edgeml.io/emulator/faults", ["refuse": [["verb": "patch", "resource": "configmaps", "subresource": "status"]]])
    #expect(set == 200)
    #expect(echoed["refuse"] == [["verb": "PATCH", "resource": "configmaps", "subresource": "status", "code": 500]])
    #expect(s.call("POST", cmPath, configMap("a")).0 == 201)
    for _ in 0..<3 {
      let (code, status) = s.call("PATCH", cmPath + "/a/status", ["metadata": ["labels": ["x": "1"]]], contentType: "application/merge-patch+json")
      #expect(code == 500 && status["message"] == "Internal error occurred: injected fault: PATCH configmaps/status refused")
    }
    #expect(s.call("PATCH", cmPath + "/a", ["data": ["k": "v"]], contentType: "application/merge-patch+json").0 == 200)
    #expect(s.call("GET", cmPath + "/a").0 == 200)
    #expect(s.faults.servedFaults == 3)
    // Cleared: served again.
    #expect(s.call("PUT", "/edgeml.io/emulator/faults", [:]).0 == 200)
    #expect(s.faults.configuration.refusals.isEmpty)
  }

  @Test("a refusal without a verb or resource, or with a code other than 500 or 503, is a 400 and changes nothing", arguments: [
    ["resource": "jobs"], ["verb": "PATCH"], ["verb": "PATCH", "resource": "jobs", "code": 404],
  ] as [JSONValue])
  func badRefusals(_ rule: JSONValue) {
    let s = makeServer()
    let (code, _) = s.call("PUT", "/edgeml.io/emulator/faults", ["refuse": .array([rule])])
    #expect(code == 400)
    #expect(s.faults.configuration.refusals.isEmpty)
  }
}
