import Foundation
import KubeCore
import Testing
import YAML
@testable import EdgeML

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func loadYAML(_ relativePath: String) throws -> [JSONValue] {
  let text = try String(contentsOf: repositoryRoot.appendingPathComponent(relativePath), encoding: .utf8)
  return try YAML.parseDocuments(text)
}

/// The openAPIV3Schema of the one version of a CRD.
func crdSchema(_ file: String) throws -> JSONValue {
  let crd = try #require(try loadYAML("crds/\(file)").first)
  return try #require(crd[path: ["spec", "versions"]]?.arrayValue?.first?[path: ["schema", "openAPIV3Schema"]])
}

/// An instance that sets every field the schema declares (one entry in maps and lists).
func maximalInstance(_ schema: JSONValue) -> JSONValue {
  if schema["x-kubernetes-int-or-string"]?.boolValue == true { return "25%" }
  switch schema["type"]?.stringValue {
  case "object":
    if let props = schema["properties"]?.objectValue {
      var o = JSONObject()
      for (k, v) in props { o[k] = maximalInstance(v) }
      return .object(o)
    }
    if let additional = schema["additionalProperties"], case .object = additional {
      return ["key": maximalInstance(additional)]
    }
    return ["free": ["form": 1]]
  case "array":
    return [maximalInstance(schema["items"] ?? ["type": "string"])]
  case "string":
    if schema["format"] == "date-time" { return "2026-12-06T10:00:00Z" }
    return schema["enum"]?.arrayValue?.first ?? "text"
  case "integer": return 3
  case "number": return 1.5
  case "boolean": return true
  default: return ["free": 1]
  }
}

/// Every key path of an instance, with list indices and map keys folded (`spec.steps[].setWeight`).
func keyPaths(_ value: JSONValue, schema: JSONValue, prefix: String = "") -> Set<String> {
  var paths = Set<String>()
  switch value {
  case .object(let o):
    guard let props = schema["properties"]?.objectValue else { return paths }   // maps and free-form: leaf
    for (k, v) in o {
      let p = prefix.isEmpty ? k : "\(prefix).\(k)"
      paths.insert(p)
      paths.formUnion(keyPaths(v, schema: props[k] ?? [:], prefix: p))
    }
  case .array(let a):
    for v in a { paths.formUnion(keyPaths(v, schema: schema["items"] ?? [:], prefix: prefix + "[]")) }
  default:
    break
  }
  return paths
}

/// Stored property names of a decoded value that the schema does not declare.
func undeclaredProperties(_ value: Any, schema: JSONValue, prefix: String) -> [String] {
  let v = ModelCoding.unwrapOptional(value)
  var out: [String] = []
  // KubeCore's Condition keeps its fields as metav1.Condition's JSON (and unknown ones beside them):
  // what it declares is the keys of that JSON, not its stored properties.
  if let condition = v as? Condition {
    let props = schema["properties"]?.objectValue ?? JSONObject()
    for key in condition.json.objectValue?.keys ?? [] where props[key] == nil { out.append(prefix.isEmpty ? key : "\(prefix).\(key)") }
    return out
  }
  let mirror = Mirror(reflecting: v)
  switch mirror.displayStyle {
  case .struct:
    let props = schema["properties"]?.objectValue ?? JSONObject()
    for child in mirror.children {
      guard let label = child.label else { continue }
      let p = prefix.isEmpty ? label : "\(prefix).\(label)"
      if let sub = props[label] { out += undeclaredProperties(child.value, schema: sub, prefix: p) } else { out.append(p) }
    }
  case .collection:
    for child in mirror.children { out += undeclaredProperties(child.value, schema: schema["items"] ?? [:], prefix: prefix + "[]") }
  default:
    break
  }
  return out
}

struct AgreementCase: Sendable, CustomTestStringConvertible {
  var file: String
  var part: String
  var check: @Sendable (JSONValue) throws -> (encoded: JSONValue, value: any Sendable)
  var testDescription: String { "\(file) \(part)" }
}

func roundTrip<T: Codable & Sendable>(_ type: T.Type) -> @Sendable (JSONValue) throws -> (encoded: JSONValue, value: any Sendable) {
  { json in
    let value = try ModelCoding.decode(T.self, from: json)
    return (ModelCoding.encode(value), value)
  }
}

@Test("the Swift types and the CRD schemas declare exactly the same fields", arguments: [
  AgreementCase(file: "edgemodels.edgeml.io.yaml", part: "spec", check: roundTrip(EdgeModelSpec.self)),
  AgreementCase(file: "edgemodels.edgeml.io.yaml", part: "status", check: roundTrip(EdgeModelStatus.self)),
  AgreementCase(file: "rollouts.edgeml.io.yaml", part: "spec", check: roundTrip(RolloutSpec.self)),
  AgreementCase(file: "rollouts.edgeml.io.yaml", part: "status", check: roundTrip(RolloutStatus.self)),
  AgreementCase(file: "driftpolicies.edgeml.io.yaml", part: "spec", check: roundTrip(DriftPolicySpec.self)),
  AgreementCase(file: "driftpolicies.edgeml.io.yaml", part: "status", check: roundTrip(DriftPolicyStatus.self)),
])
func schemaAgreement(_ c: AgreementCase) throws {
  let schema = try #require(try crdSchema(c.file)[path: ["properties", c.part]])
  let instance = maximalInstance(schema)
  let (encoded, value) = try c.check(instance)
  let declared = keyPaths(instance, schema: schema)
  let kept = keyPaths(encoded, schema: schema)
  #expect(declared.subtracting(kept).sorted() == [], "fields the schema declares but the Swift type drops")
  #expect(undeclaredProperties(value, schema: schema, prefix: "").sorted() == [], "Swift properties the schema does not declare")
}
