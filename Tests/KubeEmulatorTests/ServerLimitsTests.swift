import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

/// What kube-apiserver refuses on size.
@Suite("Server size limits")
struct ServerLimitsTests {
  @Test("annotations over 256 KiB in total are a 422 with apimachinery's TooLong message; exactly 256 KiB is fine")
  func annotationSize() {
    let s = makeServer()
    let key = "a.edgeml.io/blob"
    func annotated(_ name: String, _ size: Int) -> JSONValue {
      ["apiVersion": "v1", "kind": "ConfigMap",
       "metadata": ["name": .string(name), "annotations": [key: .string(String(repeating: "x", count: size - key.utf8.count))]]]
    }
    let (code, status) = s.call("POST", cmPath, annotated("over", 262_145))
    #expect(code == 422)
    #expect(status["message"] == "ConfigMap \"over\" is invalid: metadata.annotations: Too long: must have at most 262144 bytes")
    #expect(status[path: ["details", "causes"]] == [["reason": "FieldValueTooLong", "message": "Too long: must have at most 262144 bytes",
                                                    "field": "metadata.annotations"]])
    #expect(s.call("POST", cmPath, annotated("at-limit", 262_144)).0 == 201)
    let (patched, _) = s.call("PATCH", cmPath + "/at-limit", ["metadata": ["annotations": ["b": "y"]]], contentType: "application/merge-patch+json")
    #expect(patched == 422)
  }

  @Test("a YAML body whose aliases expand past etcd's 1.5 MiB is refused with etcd's 500 and not stored")
  func aliasExpansion() {
    let s = makeServer()
    var yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: expanded}\ndata:\n  seed: &s \(String(repeating: "y", count: 8192))\n"
    for i in 0..<500 { yaml += "  k\(i): *s\n" }
    let create = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/yaml")], body: Array(yaml.utf8), user: admin))
    #expect(create.status == 500)
    if case .json(let body) = create.body { #expect(body["message"] == "etcdserver: request is too large" && body["reason"] == nil) }
    let apply = s.handle(APIRequest(method: "PATCH", uri: cmPath + "/expanded?fieldManager=x", headers: [("Content-Type", "application/apply-patch+yaml")],
                                    body: Array(yaml.utf8), user: admin))
    #expect(apply.status == 500)
    #expect(s.call("GET", cmPath + "/expanded").0 == 404)
  }

  @Test("the size check counts JSON bytes and stops at the limit")
  func storageLimitCounts() {
    #expect(!StorageLimit.exceeds(["a": "bc"], limit: 10))    // {"a":"bc"} is 10 bytes
    #expect(StorageLimit.exceeds(["a": "bcd"], limit: 10))
    #expect(StorageLimit.exceeds(.array(Array(repeating: .string(String(repeating: "z", count: 1000)), count: 10_000)), limit: 5000))
  }
}
