import KubeCore

/// Encodes an OpenAPI v2 (Swagger 2.0) document as gnostic's `openapi.v2.Document` message, the
/// `application/com.github.proto-openapi.spec.v2@v1.0+protobuf` form kube-apiserver serves at
/// `/openapi/v2` (kube-openapi pkg/handler/handler.go: JSON → `openapi_v2.ParseDocument` →
/// `proto.Marshal`). kubectl asks for it when a kind is missing from OpenAPI v3 — a custom
/// resource whose CRD is not installed yet, a `kind: List` — to check which query parameters a
/// kind's PATCH accepts (cli-runtime pkg/resource/query_param_verifier.go `supportsQueryParam`).
///
/// Field numbers are those of github.com/google/gnostic-models openapiv2/OpenAPIv2.proto; only
/// the messages a Kubernetes document uses are written. Vendor extensions (`x-…`), defaults,
/// enums and examples are gnostic `Any` messages holding the value as YAML text (field 2); JSON
/// text is YAML, so the value's JSON is written. Keys the messages have no field for
/// (JSON-Schema's `nullable`, `oneOf`, …) are left out, as gnostic has nowhere to keep them.
enum OpenAPIV2Protobuf {
  /// The content type of the encoding, and the older name clients still ask for.
  static let contentType = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
  static let deprecatedContentType = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

  /// The whole document.
  static func document(_ doc: JSONValue) -> [UInt8] {
    var w = documentWithoutDefinitions(doc)
    w.raw(9, definitionEntries(doc["definitions"]?.objectValue ?? JSONObject()))
    return w.bytes
  }

  /// `Document` without field 9 (definitions), so that a cached encoding of the built-in part can
  /// be completed with the definitions of the moment.
  static func documentWithoutDefinitions(_ doc: JSONValue) -> ProtobufWriter {
    var w = ProtobufWriter()
    w.string(1, doc["swagger"]?.stringValue)
    if let info = doc["info"]?.objectValue {
      w.message(2) { i in
        i.string(1, info["title"]?.stringValue)
        i.string(2, info["version"]?.stringValue)
        i.string(3, info["description"]?.stringValue)
        vendorExtensions(7, info, into: &i)
      }
    }
    w.string(3, doc["host"]?.stringValue)
    w.string(4, doc["basePath"]?.stringValue)
    w.strings(5, strings(doc["schemes"]))
    w.strings(6, strings(doc["consumes"]))
    w.strings(7, strings(doc["produces"]))
    if let paths = doc["paths"]?.objectValue {
      w.message(8) { p in
        vendorExtensions(1, paths, into: &p)
        namedEntries(2, paths.filter { !$0.0.hasPrefix("x-") }, into: &p, pathItem)
      }
    }
    if let parameters = doc["parameters"]?.objectValue { w.message(10) { namedEntries(1, Array(parameters), into: &$0, parameter) } }
    if let responses = doc["responses"]?.objectValue { w.message(11) { namedEntries(1, Array(responses), into: &$0, response) } }
    for requirement in doc["security"]?.arrayValue ?? [] {
      w.message(12) { securityRequirement(&$0, requirement) }
    }
    if let definitions = doc["securityDefinitions"]?.objectValue {
      w.message(13) { namedEntries(1, Array(definitions), into: &$0, securityDefinition) }
    }
    vendorExtensions(16, doc.objectValue ?? JSONObject(), into: &w)
    return w
  }

  /// The content of a `Definitions` message: one `NamedSchema` (field 1) per definition.
  static func definitionEntries(_ definitions: JSONObject) -> [UInt8] {
    var w = ProtobufWriter()
    appendDefinitions(definitions.map { ($0.0, $0.1) }, to: &w)
    return w.bytes
  }

  static func appendDefinitions(_ definitions: [(String, JSONValue)], to w: inout ProtobufWriter) {
    namedEntries(1, definitions, into: &w, schema)
  }

  /// gnostic's ordered maps: one `Named…` message (name 1, value 2) per entry, in field `number`.
  static func namedEntries(_ number: Int, _ entries: [(String, JSONValue)], into w: inout ProtobufWriter,
                           _ encode: (inout ProtobufWriter, JSONValue) -> Void) {
    for (name, value) in entries {
      w.message(number) { named in
        named.string(1, name)
        named.message(2) { encode(&$0, value) }
      }
    }
  }

  // MARK: messages

  /// `PathItem`: _ref 1, get 2, put 3, post 4, delete 5, options 6, head 7, patch 8, parameters 9.
  static func pathItem(_ w: inout ProtobufWriter, _ item: JSONValue) {
    guard let o = item.objectValue else { return }
    w.string(1, o["$ref"]?.stringValue)
    for (number, method) in [(2, "get"), (3, "put"), (4, "post"), (5, "delete"), (6, "options"), (7, "head"), (8, "patch")] {
      if let op = o[method] { w.message(number) { operation(&$0, op) } }
    }
    for p in o["parameters"]?.arrayValue ?? [] { w.message(9) { parametersItem(&$0, p) } }
    vendorExtensions(10, o, into: &w)
  }

  /// `Operation`: tags 1, summary 2, description 3, operation_id 5, produces 6, consumes 7,
  /// parameters 8, responses 9, schemes 10, deprecated 11, vendor_extension 13.
  static func operation(_ w: inout ProtobufWriter, _ op: JSONValue) {
    guard let o = op.objectValue else { return }
    w.strings(1, strings(o["tags"]))
    w.string(2, o["summary"]?.stringValue)
    w.string(3, o["description"]?.stringValue)
    w.string(5, o["operationId"]?.stringValue)
    w.strings(6, strings(o["produces"]))
    w.strings(7, strings(o["consumes"]))
    for p in o["parameters"]?.arrayValue ?? [] { w.message(8) { parametersItem(&$0, p) } }
    if let responses = o["responses"]?.objectValue {
      w.message(9) { r in
        for (code, value) in responses where !code.hasPrefix("x-") {
          r.message(1) { named in
            named.string(1, code)
            // ResponseValue: response 1 | json_reference 2.
            named.message(2) { rv in
              if let ref = value["$ref"]?.stringValue { rv.message(2) { $0.string(1, ref) } } else { rv.message(1) { response(&$0, value) } }
            }
          }
        }
        vendorExtensions(2, responses, into: &r)
      }
    }
    w.strings(10, strings(o["schemes"]))
    w.bool(11, o["deprecated"]?.boolValue)
    vendorExtensions(13, o, into: &w)
  }

  /// `ParametersItem`: parameter 1 | json_reference 2 (`JsonReference`: _ref 1, description 2).
  static func parametersItem(_ w: inout ProtobufWriter, _ p: JSONValue) {
    if let ref = p["$ref"]?.stringValue {
      w.message(2) { j in j.string(1, ref); j.string(2, p["description"]?.stringValue) }
    } else {
      w.message(1) { parameter(&$0, p) }
    }
  }

  /// `Parameter`: body_parameter 1 | non_body_parameter 2 (`NonBodyParameter`: header 1,
  /// form data 2, query 3, path 4).
  static func parameter(_ w: inout ProtobufWriter, _ p: JSONValue) {
    guard let o = p.objectValue else { return }
    let location = o["in"]?.stringValue ?? ""
    if location == "body" {
      // BodyParameter: description 1, name 2, in 3, required 4, schema 5, vendor_extension 6.
      w.message(1) { b in
        b.string(1, o["description"]?.stringValue)
        b.string(2, o["name"]?.stringValue)
        b.string(3, location)
        b.bool(4, o["required"]?.boolValue)
        if let s = o["schema"] { b.message(5) { schema(&$0, s) } }
        vendorExtensions(6, o, into: &b)
      }
      return
    }
    w.message(2) { nonBody in
      switch location {
      case "query", "formData":
        // Query/FormData sub-schemas: required 1, in 2, description 3, name 4, allow_empty_value 5,
        // then type 6 … unique_items 20, enum 21, multiple_of 22, vendor_extension 23.
        nonBody.message(location == "query" ? 3 : 2) { s in
          s.bool(1, o["required"]?.boolValue); s.string(2, location); s.string(3, o["description"]?.stringValue)
          s.string(4, o["name"]?.stringValue); s.bool(5, o["allowEmptyValue"]?.boolValue)
          primitiveFields(&s, o, first: 6)
        }
      default:
        // Header/Path sub-schemas: required 1, in 2, description 3, name 4, then type 5 … unique_items 19,
        // enum 20, multiple_of 21, vendor_extension 22.
        nonBody.message(location == "header" ? 1 : 4) { s in
          s.bool(1, o["required"]?.boolValue); s.string(2, location); s.string(3, o["description"]?.stringValue)
          s.string(4, o["name"]?.stringValue)
          primitiveFields(&s, o, first: 5)
        }
      }
    }
  }

  /// The fields the parameter sub-schemas share, numbered from `first` (type) in this order:
  /// type, format, items, collection_format, default, maximum, exclusive_maximum, minimum,
  /// exclusive_minimum, max_length, min_length, pattern, max_items, min_items, unique_items, enum,
  /// multiple_of, vendor_extension.
  static func primitiveFields(_ w: inout ProtobufWriter, _ o: JSONObject, first: Int) {
    w.string(first, o["type"]?.stringValue)
    w.string(first + 1, o["format"]?.stringValue)
    if let items = o["items"]?.objectValue { w.message(first + 2) { primitivesItems(&$0, items) } }
    w.string(first + 3, o["collectionFormat"]?.stringValue)
    if let d = o["default"] { w.message(first + 4) { any(&$0, d) } }
    w.double(first + 5, o["maximum"]?.doubleValue)
    w.bool(first + 6, o["exclusiveMaximum"]?.boolValue)
    w.double(first + 7, o["minimum"]?.doubleValue)
    w.bool(first + 8, o["exclusiveMinimum"]?.boolValue)
    w.int64(first + 9, o["maxLength"]?.int64Value)
    w.int64(first + 10, o["minLength"]?.int64Value)
    w.string(first + 11, o["pattern"]?.stringValue)
    w.int64(first + 12, o["maxItems"]?.int64Value)
    w.int64(first + 13, o["minItems"]?.int64Value)
    w.bool(first + 14, o["uniqueItems"]?.boolValue)
    for e in o["enum"]?.arrayValue ?? [] { w.message(first + 15) { any(&$0, e) } }
    w.double(first + 16, o["multipleOf"]?.doubleValue)
    vendorExtensions(first + 17, o, into: &w)
  }

  /// `PrimitivesItems`: the shared fields numbered from 1.
  static func primitivesItems(_ w: inout ProtobufWriter, _ o: JSONObject) { primitiveFields(&w, o, first: 1) }

  /// `Response`: description 1, schema 2 (`SchemaItem`: schema 1), vendor_extension 5.
  static func response(_ w: inout ProtobufWriter, _ r: JSONValue) {
    guard let o = r.objectValue else { return }
    w.string(1, o["description"]?.stringValue)
    if let s = o["schema"] { w.message(2) { item in item.message(1) { schema(&$0, s) } } }
    vendorExtensions(5, o, into: &w)
  }

  /// `SecurityRequirement`: one `NamedStringArray` (name 1, value 2 = `StringArray`: value 1) per scheme.
  static func securityRequirement(_ w: inout ProtobufWriter, _ requirement: JSONValue) {
    for (name, scopes) in requirement.objectValue ?? JSONObject() {
      w.message(1) { named in
        named.string(1, name)
        named.message(2) { $0.strings(1, strings(scopes)) }
      }
    }
  }

  /// `SecurityDefinitionsItem`: basic_authentication_security 1 | api_key_security 2 | the OAuth2 flows 3–6.
  static func securityDefinition(_ w: inout ProtobufWriter, _ value: JSONValue) {
    guard let o = value.objectValue else { return }
    switch o["type"]?.stringValue {
    case "apiKey":
      // ApiKeySecurity: type 1, name 2, in 3, description 4, vendor_extension 5.
      w.message(2) { s in
        s.string(1, "apiKey"); s.string(2, o["name"]?.stringValue); s.string(3, o["in"]?.stringValue)
        s.string(4, o["description"]?.stringValue); vendorExtensions(5, o, into: &s)
      }
    case "basic":
      // BasicAuthenticationSecurity: type 1, description 2, vendor_extension 3.
      w.message(1) { s in s.string(1, "basic"); s.string(2, o["description"]?.stringValue); vendorExtensions(3, o, into: &s) }
    default:
      break   // Kubernetes publishes only BearerToken (apiKey); OAuth2 flows are not written.
    }
  }

  /// `Schema` (field numbers in order of the .proto; see the list below).
  static func schema(_ w: inout ProtobufWriter, _ value: JSONValue) {
    guard let o = value.objectValue else { return }
    w.string(1, o["$ref"]?.stringValue)
    w.string(2, o["format"]?.stringValue)
    w.string(3, o["title"]?.stringValue)
    w.string(4, o["description"]?.stringValue)
    if let d = o["default"] { w.message(5) { any(&$0, d) } }
    w.double(6, o["multipleOf"]?.doubleValue)
    w.double(7, o["maximum"]?.doubleValue)
    w.bool(8, o["exclusiveMaximum"]?.boolValue)
    w.double(9, o["minimum"]?.doubleValue)
    w.bool(10, o["exclusiveMinimum"]?.boolValue)
    w.int64(11, o["maxLength"]?.int64Value)
    w.int64(12, o["minLength"]?.int64Value)
    w.string(13, o["pattern"]?.stringValue)
    w.int64(14, o["maxItems"]?.int64Value)
    w.int64(15, o["minItems"]?.int64Value)
    w.bool(16, o["uniqueItems"]?.boolValue)
    w.int64(17, o["maxProperties"]?.int64Value)
    w.int64(18, o["minProperties"]?.int64Value)
    w.strings(19, strings(o["required"]))
    for e in o["enum"]?.arrayValue ?? [] { w.message(20) { any(&$0, e) } }
    if let additional = o["additionalProperties"] {
      // AdditionalPropertiesItem: schema 1 | boolean 2.
      w.message(21) { item in
        if let b = additional.boolValue { item.tag(2, .varint); item.varint(b ? 1 : 0) } else { item.message(1) { schema(&$0, additional) } }
      }
    }
    if let type = o["type"] {
      // TypeItem: value 1 (a string or a list of them).
      w.message(22) { $0.strings(1, type.stringValue.map { [$0] } ?? strings(type)) }
    }
    if let items = o["items"] {
      // ItemsItem: schema 1, repeated (one schema, or a tuple of them).
      w.message(23) { item in
        for s in items.arrayValue ?? [items] { item.message(1) { schema(&$0, s) } }
      }
    }
    for s in o["allOf"]?.arrayValue ?? [] { w.message(24) { schema(&$0, s) } }
    if let properties = o["properties"]?.objectValue {
      // Properties: additional_properties 1 (NamedSchema: name 1, value 2).
      w.message(25) { namedEntries(1, Array(properties), into: &$0, schema) }
    }
    w.string(26, o["discriminator"]?.stringValue)
    w.bool(27, o["readOnly"]?.boolValue)
    if let e = o["example"] { w.message(30) { any(&$0, e) } }
    vendorExtensions(31, o, into: &w)
  }

  /// `NamedAny` entries (name 1, value 2) for the `x-` keys of `object`.
  static func vendorExtensions(_ number: Int, _ object: JSONObject, into w: inout ProtobufWriter) {
    for (key, value) in object where key.hasPrefix("x-") {
      w.message(number) { named in
        named.string(1, key)
        named.message(2) { any(&$0, value) }
      }
    }
  }

  /// gnostic `Any`: yaml 2, the value as YAML text (its JSON).
  static func any(_ w: inout ProtobufWriter, _ value: JSONValue) {
    let text = value.serializedString()
    w.tag(2, .lengthDelimited)
    w.varint(UInt64(text.utf8.count))
    w.append(Array(text.utf8))
  }

  static func strings(_ value: JSONValue?) -> [String] { value?.arrayValue?.compactMap(\.stringValue) ?? [] }
}
