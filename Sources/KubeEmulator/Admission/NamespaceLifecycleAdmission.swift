import KubeCore

/// NamespaceLifecycle (plugin/pkg/admission/namespace/lifecycle/admission.go): a create in a missing
/// namespace is 404; in one being deleted, 403 `NamespaceTerminating`.
struct NamespaceLifecycleAdmission: AdmissionPlugin {
  var name: String { "NamespaceLifecycle" }

  func validate(_ object: JSONValue, _ attributes: AdmissionAttributes, state: ObjectStore.State) throws {
    guard attributes.operation == .create, attributes.resource.namespaced else { return }
    let ns = attributes.namespace ?? ""
    guard let nsObject = state.get("/namespaces", namespace: "", name: ns) else {
      throw APIError.notFound(GroupResource(group: "", resource: "namespaces"), name: ns)
    }
    if nsObject[path: ["metadata", "deletionTimestamp"]] != nil {
      let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
      let resource = attributes.resource.resource
      throw APIError(code: 403, reason: "Forbidden",
                     message: "\(resource) \"\(name)\" is forbidden: unable to create new content in namespace \(ns) because it is being terminated",
                     details: .object(["name": .string(name), "kind": .string(resource),
                                       "causes": [["reason": "NamespaceTerminating", "message": .string("namespace \(ns) is being terminated"), "field": "metadata.namespace"]]]))
    }
  }
}
