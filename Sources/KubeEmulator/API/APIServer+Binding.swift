import KubeCore

extension APIServer {
  /// `POST /api/v1/namespaces/NS/pods/NAME/binding`: assigns a pending pod to a node, as a scheduler does.
  ///
  /// Follows pkg/registry/core/pod/storage/storage.go (`BindingREST.Create`, `setPodNodeAndMetadata`):
  /// the target must be a Node; a pod already bound or being deleted gets 409; the binding's
  /// annotations are copied onto the pod, `spec.nodeName` set and the `PodScheduled` condition made
  /// True. The answer is a `Status` with code 201.
  func bind(_ ctx: RequestContext, podName: String) throws -> APIResponse {
    let binding: JSONValue
    do { binding = try ctx.request.jsonBody() } catch {
      throw APIError.badRequest("couldn't get version/kind; json parse error: \(error.message)")
    }
    if let name = binding[path: ["metadata", "name"]]?.stringValue, name != podName {
      throw APIError.badRequest("name in URL does not match name in Binding object")
    }
    let kind = binding[path: ["target", "kind"]]?.stringValue ?? "Node"
    let node = binding[path: ["target", "name"]]?.stringValue ?? ""
    guard kind.isEmpty || kind == "Node" else {
      throw APIError.invalid(kind: "Binding", group: "", name: podName, errors: [
        FieldError(.notSupported, field: "target.kind", value: "\"\(kind)\"", detail: "supported values: \"Node\", \"\"")])
    }
    guard !node.isEmpty else {
      throw APIError.invalid(kind: "Binding", group: "", name: podName, errors: [FieldError(.required, field: "target.name", value: "\"\"", detail: "")])
    }
    let pods = GroupResource(group: "", resource: "pods")
    if ctx.isDryRun { return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: 201) }
    try store.transaction { state in
      guard var pod = state.get("/pods", namespace: ctx.namespace, name: podName) else { throw APIError.notFound(pods, name: podName) }
      if let uid = binding[path: ["metadata", "uid"]]?.stringValue, !uid.isEmpty, uid != pod[path: ["metadata", "uid"]]?.stringValue {
        throw APIError.conflict(pods, name: podName, detail: "Precondition failed: UID in precondition: \(uid), UID in object meta: \(pod[path: ["metadata", "uid"]]?.stringValue ?? "")")
      }
      if pod[path: ["metadata", "deletionTimestamp"]] != nil {
        throw APIError.conflict(pods, name: podName, detail: "pod \(podName) is being deleted, cannot be assigned to a host")
      }
      if let assigned = pod[path: ["spec", "nodeName"]]?.stringValue, !assigned.isEmpty {
        throw APIError.conflict(pods, name: podName, detail: "pod \(podName) is already assigned to node \"\(assigned)\"")
      }
      for (key, value) in binding[path: ["metadata", "annotations"]]?.objectValue ?? JSONObject() {
        pod[path: ["metadata", "annotations", key]] = value
      }
      pod[path: ["spec", "nodeName"]] = .string(node)
      var conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
      conditions.removeAll { $0["type"]?.stringValue == "PodScheduled" }
      conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": nil, "lastTransitionTime": timestamp()])
      pod[path: ["status", "conditions"]] = .array(conditions)
      _ = state.put("/pods", pod, type: .modified)
    }
    return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: 201)
  }
}
