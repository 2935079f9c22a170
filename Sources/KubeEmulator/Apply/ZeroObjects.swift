import KubeCore

/// The zero value of each built-in kind as kube-apiserver's field manager sees it: the "live object"
/// a create is compared against.
///
/// kube-apiserver compares a new object with `New()` of its Go type (k8s.io/apiserver
/// `pkg/endpoints/handlers/create.go`, `FieldManager.UpdateNoErrors(liveObj, obj, …)`), whose JSON form
/// already holds the non-pointer struct fields (`spec`, `spec.template`, `spec.strategy`) and the
/// fields without `omitempty` (`containers: null`). Maps and lists present there are not added
/// whole, so they get no `.` member — only what the zero value lacks (`rollingUpdate`, `labels`) does.
///
/// OpenAPI v3 marks exactly those struct fields with `default: {}` (k8s.io/kube-openapi's
/// generator), and the fields without `omitempty` as `required`, so the zero value is built from
/// the published v3 documents.
public struct ZeroObjects: Sendable {
  private struct Shape: Sendable {
    /// Members present in the zero value: the struct type for a value struct, nil for a null member.
    var members: [(String, String?)]
  }

  private let shapes: [String: Shape]

  /// Reads the `components.schemas` of every OpenAPI v3 document given.
  ///
  /// - Complexity: O(total size of the documents).
  public init(openAPIV3Documents documents: [JSONValue]) {
    var shapes: [String: Shape] = [:]
    for document in documents {
      guard case .object(let schemas)? = document[path: ["components", "schemas"]] else { continue }
      for (name, schema) in schemas where shapes[name] == nil {
        let required = Set((schema["required"]?.arrayValue ?? []).compactMap(\.stringValue))
        var members: [(String, String?)] = []
        for (field, property) in schema["properties"]?.objectValue ?? JSONObject() {
          let reference = (property["allOf"]?.arrayValue?.first?["$ref"] ?? property["$ref"])?.stringValue
            .map { String($0.split(separator: "/").last ?? "") }
          if property["default"] == .object([:]), let reference {
            members.append((field, reference))
          } else if required.contains(field) {
            members.append((field, nil))
          }
        }
        shapes[name] = Shape(members: members)
      }
    }
    self.shapes = shapes
  }

  /// The zero value of definition `name` (`io.k8s.api.apps.v1.Deployment`); nil when unknown.
  public func zero(definition name: String) -> JSONValue? {
    guard shapes[name] != nil else { return nil }
    return zero(name, depth: 0)
  }

  private func zero(_ name: String, depth: Int) -> JSONValue {
    var object = JSONObject()
    // Value structs cannot contain themselves; the bound only guards against a malformed document.
    guard depth < 32, let shape = shapes[name] else { return .object(object) }
    for (field, type) in shape.members {
      object[field] = type.map { zero($0, depth: depth + 1) } ?? .null
    }
    return .object(object)
  }
}
