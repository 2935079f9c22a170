import Foundation
import KubeCore
import Testing
@testable import KubeEmulator

/// `/openapi/v2` in gnostic's protobuf encoding, read back field by field with the emulator's own
/// wire reader and the field numbers of gnostic's OpenAPIv2.proto.
@Suite struct OpenAPIV2ProtobufTests {
  /// The fields of one message: number → the values seen (length-delimited content or varint).
  enum Field { case bytes([UInt8]), varint(UInt64), fixed64(UInt64) }

  static func fields(_ bytes: [UInt8]) throws -> [(Int, Field)] {
    var reader = WireReader(bytes: bytes)
    var out: [(Int, Field)] = []
    while !reader.isAtEnd {
      let (number, type) = try reader.readTag()
      switch type {
      case 0: out.append((Int(number), .varint(try reader.readVarint())))
      case 1: out.append((Int(number), .fixed64(try reader.readFixed64())))
      case 2: out.append((Int(number), .bytes(try reader.readLengthDelimited())))
      default: throw ProtobufError(description: "unexpected wire type \(type)")
      }
    }
    return out
  }

  static func messages(_ bytes: [UInt8], _ number: Int) throws -> [[UInt8]] {
    try fields(bytes).compactMap { n, f in if n == number, case .bytes(let b) = f { return b } else { return nil } }
  }

  static func string(_ bytes: [UInt8], _ number: Int) throws -> String? {
    try messages(bytes, number).first.map { String(decoding: $0, as: UTF8.self) }
  }

  /// A `Named…` entry's value by name.
  static func named(_ entries: [[UInt8]], _ name: String) throws -> [UInt8]? {
    for entry in entries where try string(entry, 1) == name { return try messages(entry, 2).first }
    return nil
  }

  func fetch(_ s: APIServer, accept: String) -> APIResponse {
    s.handle(APIRequest(method: "GET", uri: "/openapi/v2", headers: [("Accept", accept)], body: [], user: admin))
  }

  @Test("kubectl's Accept gets the protobuf document; JSON still by default; anything else is 406")
  func negotiation() {
    let s = makeServer()
    let pb = fetch(s, accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    #expect(pb.status == 200)
    #expect(pb.headers.contains { $0 == ("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf") })
    #expect(fetch(s, accept: "application/json").headers.contains { $0 == ("Content-Type", "application/json") })
    #expect(fetch(s, accept: "application/com.github.proto-openapi.spec.v2.v1.0+protobuf;q=0.5, application/json").headers
      .contains { $0 == ("Content-Type", "application/json") })
    #expect(fetch(s, accept: "text/html").status == 406)
  }

  @Test("a pod's PATCH says its kind and takes fieldValidation, as kubectl's query-parameter check reads them")
  func podPatchOperation() throws {
    let s = makeServer()
    guard case .bytes(let document) = fetch(s, accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf").body else {
      Issue.record("no protobuf body"); return
    }
    #expect(try Self.string(document, 1) == "2.0")                                   // swagger
    let paths = try Self.messages(document, 8)                                        // Paths
    #expect(paths.count == 1)
    let pathItem = try #require(try Self.named(try Self.messages(paths[0], 2), "/api/v1/namespaces/{namespace}/pods/{name}"))
    let patch = try #require(try Self.messages(pathItem, 8).first)                    // PathItem.patch
    let gvk = try #require(try Self.named(try Self.messages(patch, 13), "x-kubernetes-group-version-kind"))
    let yaml = try #require(try Self.string(gvk, 2))                                  // Any.yaml
    #expect(try JSONValue(parsing: Array(yaml.utf8)) == ["group": "", "kind": "Pod", "version": "v1"])
    // Operation.parameters: ParametersItem.parameter → NonBodyParameter → QueryParameterSubSchema.name (4).
    var queryNames: [String] = []
    for item in try Self.messages(patch, 8) {
      for parameter in try Self.messages(item, 1) {
        for nonBody in try Self.messages(parameter, 2) {
          for query in try Self.messages(nonBody, 3) { if let n = try Self.string(query, 4) { queryNames.append(n) } }
        }
      }
    }
    #expect(queryNames.contains("fieldValidation"))
    #expect(queryNames.contains("dryRun"))
  }

  @Test("definitions hold the built-in kinds and, once its CRD exists, a custom resource's schema")
  func definitions() throws {
    let s = makeServer()
    let crd: JSONValue = [
      "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": ["name": "gadgets.pb.example.com"],
      "spec": ["group": "pb.example.com", "scope": "Namespaced",
               "names": ["plural": "gadgets", "singular": "gadget", "kind": "Gadget"],
               "versions": [["name": "v1", "served": true, "storage": true,
                             "schema": ["openAPIV3Schema": ["type": "object", "properties": [
                               "spec": ["type": "object", "properties": ["size": ["type": "integer", "minimum": 1, "maximum": 10]]]]]]]]],
    ]
    #expect(s.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).0 == 201)
    guard case .bytes(let document) = fetch(s, accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf").body else {
      Issue.record("no protobuf body"); return
    }
    let definitions = try Self.messages(try #require(try Self.messages(document, 9).first), 1)
    #expect(try Self.named(definitions, "io.k8s.api.core.v1.Pod") != nil)
    let gadget = try #require(try Self.named(definitions, "com.example.pb.v1.Gadget"))
    let properties = try Self.messages(try #require(try Self.messages(gadget, 25).first), 1)   // Schema.properties
    let spec = try #require(try Self.named(properties, "spec"))
    let specProperties = try #require(try Self.messages(spec, 25).first)
    let size = try #require(try Self.named(try Self.messages(specProperties, 1), "size"))
    let type = try Self.messages(try #require(try Self.messages(size, 22).first), 1).map { String(decoding: $0, as: UTF8.self) }
    #expect(type == ["integer"])                                                       // TypeItem.value
    let maximum = try Self.fields(size).compactMap { n, f -> Double? in
      if n == 7, case .fixed64(let bits) = f { return Double(bitPattern: bits) } else { return nil }
    }
    #expect(maximum == [10])                                                           // Schema.maximum, a double
  }
}
