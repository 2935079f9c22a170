import Foundation
import KubeCore
import NIOConcurrencyHelpers

/// Custom resource schemas by "group/version/resource", refreshed whenever a CRD changes.
final class CustomSchemaCache: @unchecked Sendable {
  // Safety: `schemas` only under `lock`.
  private let lock = NIOLock()
  private var schemas: [String: StructuralSchema] = [:]
  func set(_ s: [String: StructuralSchema]) { lock.withLock { schemas = s } }
  func get(_ key: String) -> StructuralSchema? { lock.withLock { schemas[key] } }
}

extension APIServer {
  func customSchema(for resource: APIResource) -> StructuralSchema? {
    customSchemas.get("\(resource.group)/\(resource.version)/\(resource.resource)")
  }

  /// Rebuilds the schema cache from `crdSnapshot` (which `syncCRDs` updates in the same
  /// transaction, so no second store lock is taken).
  func refreshCustomSchemas() {
    var map: [String: StructuralSchema] = [:]
    for crd in crdSnapshot.value {
      let group = crd[path: ["spec", "group"]]?.stringValue ?? ""
      let plural = crd[path: ["spec", "names", "plural"]]?.stringValue ?? ""
      for v in crd[path: ["spec", "versions"]]?.arrayValue ?? [] {
        guard let name = v["name"]?.stringValue, let schema = v[path: ["schema", "openAPIV3Schema"]] else { continue }
        map["\(group)/\(name)/\(plural)"] = StructuralSchema(schema)
      }
    }
    customSchemas.set(map)
  }

  /// The apimachinery schemas (ObjectMeta and friends) CRD documents refer to, parsed from a bundled
  /// v3 document on first use and kept.
  func sharedMetaSchemas() -> JSONObject {
    if let cached = metaSchemaCache.value { return cached }
    var schemas = JSONObject()
    let base = documents.openAPIV3["apis/apps/v1"].flatMap { try? JSONValue(parsing: $0) }
    for (name, s) in base?[path: ["components", "schemas"]]?.objectValue ?? JSONObject() where name.hasPrefix("io.k8s.apimachinery") {
      schemas[name] = s
    }
    metaSchemaCache.value = schemas
    return schemas
  }

  // MARK: /openapi/v2

  /// The v2 document in JSON or, when the client asks for it (kubectl's query-parameter check does),
  /// in gnostic's protobuf encoding (`OpenAPIV2Protobuf`). The media types and their order are
  /// kube-openapi pkg/handler/handler.go's: JSON, then protobuf under either name; anything else is 406.
  func openAPIV2(_ request: APIRequest) throws -> APIResponse {
    switch Self.negotiateOpenAPIV2(request.header("accept")) {
    case .json?:
      var doc = documents.swagger
      var definitions = doc["definitions"]?.objectValue ?? JSONObject()
      for (name, schema) in customDefinitions() { definitions[name] = schema }
      doc["definitions"] = .object(definitions)
      return .json(doc)
    case .protobuf?:
      return APIResponse(status: 200, headers: [("Content-Type", OpenAPIV2Protobuf.contentType)], body: .bytes(openAPIV2Protobuf()))
    case nil:
      throw APIError.notAcceptable("only the following media types are accepted: application/json, \(OpenAPIV2Protobuf.contentType)")
    }
  }

  enum OpenAPIV2Encoding { case json, protobuf }

  /// The first `Accept` clause (highest quality first) that names a served encoding; an absent
  /// header accepts anything (goautoneg as kube-openapi uses it).
  static func negotiateOpenAPIV2(_ accept: String?) -> OpenAPIV2Encoding? {
    let served: [(type: String, subtype: String, encoding: OpenAPIV2Encoding)] = [
      ("application", "json", .json),
      ("application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", .protobuf),
      ("application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", .protobuf),
    ]
    let header = (accept ?? "").trimmingCharacters(in: .whitespaces).isEmpty ? "*/*" : (accept ?? "")
    var clauses: [(type: String, subtype: String, quality: Double)] = []
    for part in header.split(separator: ",") {
      let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
      guard let mediaType = fields.first, !mediaType.isEmpty else { continue }
      let pieces = mediaType.split(separator: "/", maxSplits: 1).map(String.init)
      var quality = 1.0
      for parameter in fields.dropFirst() where parameter.hasPrefix("q=") { quality = Double(parameter.dropFirst(2)) ?? 0 }
      guard quality > 0 else { continue }
      clauses.append((pieces[0], pieces.count > 1 ? pieces[1] : "*", quality))
    }
    for clause in clauses.enumerated().sorted(by: { ($0.element.quality, -$0.offset) > ($1.element.quality, -$1.offset) }).map(\.element) {
      for candidate in served where (clause.type == "*" || clause.type == candidate.type) && (clause.subtype == "*" || clause.subtype == candidate.subtype) {
        return candidate.encoding
      }
    }
    return nil
  }

  /// The protobuf document: the built-in part is encoded once; the definitions of served custom
  /// resources are added to it on each request.
  func openAPIV2Protobuf() -> [UInt8] {
    let builtin: (head: [UInt8], definitions: [UInt8])
    if let cached = openAPIV2ProtobufCache.value {
      builtin = cached
    } else {
      builtin = (OpenAPIV2Protobuf.documentWithoutDefinitions(documents.swagger).bytes,
                 OpenAPIV2Protobuf.definitionEntries(documents.swagger["definitions"]?.objectValue ?? JSONObject()))
      openAPIV2ProtobufCache.value = builtin
    }
    var custom = ProtobufWriter()
    OpenAPIV2Protobuf.appendDefinitions(customDefinitions(), to: &custom)
    var w = ProtobufWriter()
    w.append(builtin.head)
    w.raw(9, builtin.definitions + custom.bytes)
    return w.bytes
  }

  /// OpenAPI definitions for served custom resources, named as kube-apiserver names them
  /// (reversed group + version + kind: `io.edgeml.v1alpha1.EdgeModel`), each followed by its list
  /// kind's (`…EdgeModelList`), as apiextensions-apiserver's builder makes it (`buildListSchema`,
  /// pkg/controller/openapi/builder/builder.go): required `items` of the kind, `metadata` a ListMeta,
  /// `apiVersion` and `kind`, and the list kind's group-version-kind.
  func customDefinitions() -> [(String, JSONValue)] {
    var out: [(String, JSONValue)] = []
    for crd in crdSnapshot.value {
      let group = crd[path: ["spec", "group"]]?.stringValue ?? ""
      let kind = crd[path: ["spec", "names", "kind"]]?.stringValue ?? ""
      let listKind = crd[path: ["spec", "names", "listKind"]]?.stringValue ?? kind + "List"
      let plural = crd[path: ["spec", "names", "plural"]]?.stringValue ?? ""
      let reversed = group.split(separator: ".").reversed().joined(separator: ".")
      for v in crd[path: ["spec", "versions"]]?.arrayValue ?? [] where v["served"]?.boolValue != false {
        guard let version = v["name"]?.stringValue, var schema = v[path: ["schema", "openAPIV3Schema"]] else { continue }
        var props = schema["properties"]?.objectValue ?? JSONObject()
        props["apiVersion"] = ["description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources", "type": "string"]
        props["kind"] = ["description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", "type": "string"]
        props["metadata"] = ["$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                             "description": "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"]
        schema["properties"] = .object(props)
        schema["x-kubernetes-group-version-kind"] = [["group": .string(group), "kind": .string(kind), "version": .string(version)]]
        let name = "\(reversed).\(version).\(kind)"
        out.append((name, schema))
        let list: JSONValue = [
          "description": .string("\(listKind) is a list of \(kind)"),
          "type": "object",
          "required": ["items"],
          "properties": [
            "apiVersion": props["apiVersion"] ?? .null,
            "items": ["description": .string("List of \(plural). More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"),
                      "type": "array", "items": ["$ref": .string("#/definitions/\(name)")]],
            "kind": props["kind"] ?? .null,
            "metadata": ["$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
                         "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"],
          ],
          "x-kubernetes-group-version-kind": [["group": .string(group), "kind": .string(listKind), "version": .string(version)]],
        ]
        out.append(("\(reversed).\(version).\(listKind)", list))
      }
    }
    return out
  }

  // MARK: /openapi/v3

  func openAPIV3Index() -> JSONValue {
    var paths = JSONObject()
    for key in documents.openAPIV3.keys.sorted() {
      paths[key] = ["serverRelativeURL": .string("/openapi/v3/\(key)?hash=\(hashFor(key))")]
    }
    for gv in servedGroupVersions() where paths[gv] == nil {
      paths[gv] = ["serverRelativeURL": .string("/openapi/v3/\(gv)?hash=\(hashFor(gv))")]
    }
    return ["paths": .object(paths)]
  }

  private func hashFor(_ key: String) -> String {
    // Content hashes change when a CRD changes; the resourceVersion of the newest CRD is enough.
    var h: UInt64 = 14_695_981_039_346_656_037
    for b in key.utf8 { h = (h ^ UInt64(b)) &* 1_099_511_628_211 }
    if key.hasPrefix("apis/"), customGroupVersions().contains(key) { h ^= UInt64(bitPattern: store.currentResourceVersion) }
    return String(h, radix: 16, uppercase: true)
  }

  func servedGroupVersions() -> [String] {
    var out: [String] = []
    for r in catalog.allResources() {
      let gv = r.group.isEmpty ? "api/\(r.version)" : "apis/\(r.group)/\(r.version)"
      if !out.contains(gv) { out.append(gv) }
    }
    return out.sorted()
  }

  func customGroupVersions() -> Set<String> {
    Set(catalog.allResources().filter(\.isCustom).map { "apis/\($0.group)/\($0.version)" })
  }

  func openAPIV3Document(_ path: String) throws -> APIResponse {
    let key = String(path.split(separator: "?").first ?? "")
    if customGroupVersions().contains(key) { return .json(customOpenAPIV3(key)) }
    if let bytes = documents.openAPIV3[key] {
      return APIResponse(status: 200, headers: [("Content-Type", "application/json")], body: .bytes(bytes))
    }
    if servedGroupVersions().contains(key) { return .json(convertedOpenAPIV3(key)) }
    throw APIError.notFoundPath()
  }

  /// A group version absent from the bundled v3 documents, converted from the v2 document:
  /// its paths and the definitions they reach, with `#/definitions/` turned into `#/components/schemas/`.
  func convertedOpenAPIV3(_ key: String) -> JSONValue {
    let prefix = "/" + key + "/"
    var paths = JSONObject()
    for (p, item) in documents.swagger["paths"]?.objectValue ?? JSONObject() where p.hasPrefix(prefix) {
      paths[p] = V3Conversion.convertRefs(item)
    }
    var schemas = JSONObject()
    for (name, def) in documents.swagger["definitions"]?.objectValue ?? JSONObject() { schemas[name] = V3Conversion.convertRefs(def) }
    return ["openapi": "3.0.0", "info": ["title": "Kubernetes", "version": "unversioned"], "paths": .object(paths),
            "components": ["schemas": .object(schemas)]]
  }

  /// The v3 document of a custom group version: the kinds' schemas and their paths with the
  /// parameters clients look for (kubectl checks `fieldValidation` on PATCH to choose server-side validation).
  func customOpenAPIV3(_ key: String) -> JSONValue {
    var schemas = sharedMetaSchemas()
    var paths = JSONObject()
    let parts = key.split(separator: "/").map(String.init)   // apis, group, version
    guard parts.count == 3 else { return [:] }
    for (name, def) in customDefinitions() {
      let gvk = def["x-kubernetes-group-version-kind"]?.arrayValue?.first
      guard gvk?["group"]?.stringValue == parts[1], gvk?["version"]?.stringValue == parts[2] else { continue }
      schemas[name] = V3Conversion.convertRefs(def)
      guard let kind = gvk?["kind"]?.stringValue,
            let r = catalog.allResources().first(where: { $0.isCustom && $0.group == parts[1] && $0.version == parts[2] && $0.kind == kind }) else { continue }
      let ref: JSONValue = ["$ref": .string("#/components/schemas/\(name)")]
      let listRef: JSONValue = ["$ref": .string("#/components/schemas/\(name.dropLast(r.kind.count))\(r.listKind)")]
      let params: JSONValue = [["name": "dryRun", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                               ["name": "fieldManager", "in": "query", "schema": ["type": "string", "uniqueItems": true]],
                               ["name": "fieldValidation", "in": "query", "schema": ["type": "string", "uniqueItems": true]]]
      let gvkExt: JSONValue = ["group": .string(r.group), "version": .string(r.version), "kind": .string(r.kind)]
      func op(_ action: String) -> JSONValue {
        ["x-kubernetes-action": .string(action), "x-kubernetes-group-version-kind": gvkExt, "parameters": params,
         "responses": ["200": ["content": ["application/json": ["schema": action == "list" ? listRef : ref]]]]]
      }
      let collection = r.namespaced ? "/\(key)/namespaces/{namespace}/\(r.resource)" : "/\(key)/\(r.resource)"
      paths[collection] = ["get": op("list"), "post": op("post"), "delete": op("deletecollection")]
      paths[collection + "/{name}"] = ["get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")]
      if r.hasStatus { paths[collection + "/{name}/status"] = ["get": op("get"), "put": op("put"), "patch": op("patch")] }
    }
    return ["openapi": "3.0.0", "info": ["title": "Kubernetes CRD Swagger", "version": "v0.1.0"], "paths": .object(paths),
            "components": ["schemas": .object(schemas)]]
  }
}

enum V3Conversion {
  static func convertRefs(_ v: JSONValue) -> JSONValue {
    switch v {
    case .string(let s) where s.hasPrefix("#/definitions/"):
      return .string("#/components/schemas/" + s.dropFirst("#/definitions/".count))
    case .object(let o):
      var out = JSONObject()
      for (k, child) in o { out.appendUnchecked(k, convertRefs(child)) }
      return .object(out)
    case .array(let a):
      return .array(a.map(convertRefs))
    default:
      return v
    }
  }
}

/// A value behind a lock, for state the server shares between event loops.
final class Locked<Value: Sendable>: @unchecked Sendable {
  // Safety: `stored` only under `lock`.
  private let lock = NIOLock()
  private var stored: Value
  init(_ value: Value) { stored = value }
  var value: Value {
    get { lock.withLock { stored } }
    set { lock.withLock { stored = newValue } }
  }
  /// Changes the value in place under the lock (a read-modify-write no other writer interleaves with).
  func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
