import KubeCore
import Testing
@testable import KubeEmulator

/// A hostile client cannot crash the server or corrupt what it stores.
@Suite("Robustness")
struct RobustnessTests {
  /// Deterministic pseudo-random bytes (SplitMix64) so a failure reproduces.
  struct Bytes {
    var rng: SplitMix64
    mutating func next(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
  }

  @Test("thousands of malformed requests get 4xx answers and leave stored objects intact")
  func malformedRequests() throws {
    let s = makeServer()
    s.call("POST", cmPath, configMap("keep", data: ["a": "1"]))
    let before = s.call("GET", cmPath + "/keep").1
    var gen = Bytes(rng: SplitMix64(seed: 42))
    let paths = ["/api/v1/namespaces/default/configmaps", "/api/v1/namespaces/default/configmaps/keep",
                 "/apis/apps/v1/namespaces/default/deployments", "/api/v1/namespaces/%zz/pods", "/apis/%00/v1",
                 "/api/v1/namespaces/default/configmaps/keep/status", "/api/v1/namespaces/default/configmaps?limit=-5&continue=%%%",
                 "/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(", "/openapi/v3/apis/x/y"]
    let types = ["application/json", "application/yaml", "application/merge-patch+json", "application/json-patch+json",
                 "application/strategic-merge-patch+json", "application/vnd.kubernetes.protobuf", "text/plain"]
    let seeds: [String] = ["{", "[", "{\"metadata\":", "null", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":1}}",
                           "{\"metadata\":{\"name\":\"keep\",\"resourceVersion\":\"1\"},\"data\":{\"a\":[1]}}",
                           "[{\"op\":\"remove\",\"path\":\"/metadata\"}]", "- a\n- : b\n", "k8s\u{0}\u{12}\u{ff}"]
    for i in 0..<3000 {
      let method = gen.pick(["GET", "POST", "PUT", "PATCH", "DELETE"])
      var body = Array(gen.pick(seeds).utf8)
      if i % 3 == 0 { body += gen.next(Int(gen.rng.next() % 64)) }
      let r = s.handle(APIRequest(method: method, uri: gen.pick(paths), headers: [("Content-Type", gen.pick(types))],
                                  body: body, user: admin))
      #expect(r.status < 500 || r.status == 504, "request \(i) answered \(r.status)")
    }
    let after = s.call("GET", cmPath + "/keep").1
    // The object may have been legitimately deleted by a DELETE above; if it is there it is intact.
    if after["kind"] == "ConfigMap" { #expect(after["data"] == before["data"]) }
  }

  @Test("deeply nested bodies are refused, not a stack overflow")
  func deepNesting() {
    let s = makeServer()
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    let r = s.handle(APIRequest(method: "POST", uri: cmPath, headers: [("Content-Type", "application/json")], body: Array(deep.utf8), user: admin))
    #expect(r.status == 400)
  }
}
