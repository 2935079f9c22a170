import Foundation
import KubeCore

extension APIServer {
  /// Registers what serves `pods/log` for the pods of this cluster (EdgeSim's kubelets).
  public func setKubeletConnection(_ connection: (any KubeletConnection)?) { kubelet.value = connection }

  /// Answers `GET /api/v1/namespaces/NS/pods/NAME/log` (`kubectl logs`), as kube-apiserver checks the
  /// request before proxying it to the kubelet (pkg/registry/core/pod/rest/log.go `Get`,
  /// pkg/registry/core/pod/strategy.go `LogLocation`, pkg/apis/core/validation `ValidatePodLogOptions`).
  ///
  /// `timestamps` and `sinceSeconds`/`sinceTime` are accepted but not applied: EdgeSim's logs are
  /// plain process output, without the per-line times a container runtime records.
  func containerLog(_ ctx: RequestContext, podName: String) throws -> APIResponse {
    let pod = try store.transaction { state -> JSONValue in
      guard let pod = state.get("/pods", namespace: ctx.namespace, name: podName) else {
        throw APIError.notFound(GroupResource(group: "", resource: "pods"), name: podName)
      }
      return pod
    }
    var options = ContainerLogOptions(follow: ctx.request.queryBool("follow"), previous: ctx.request.queryBool("previous"))
    var errors: [FieldError] = []
    func number(_ name: String, minimum: Int) -> Int? {
      guard let text = ctx.request.queryValue(name) else { return nil }
      guard let n = Int(text), n >= minimum else {
        errors.append(FieldError(.invalid, field: name, value: text, detail: minimum == 0 ? "must be greater than or equal to 0" : "must be greater than 0"))
        return nil
      }
      return n
    }
    options.tailLines = number("tailLines", minimum: 0)
    options.limitBytes = number("limitBytes", minimum: 1)
    _ = number("sinceSeconds", minimum: 1)
    if !errors.isEmpty { throw APIError.invalid(kind: "PodLogOptions", group: "", name: "", errors: errors) }
    let container = try APIServer.logContainer(pod, requested: ctx.request.queryValue("container"))
    // A pod not yet on a node has no log to read: upstream's LogLocation returns no location and the
    // answer is an empty body.
    guard !(pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty, let kubelet = kubelet.value else {
      return APIResponse(status: 200, headers: [("Content-Type", "text/plain")], body: .bytes([]))
    }
    do {
      let stream = try kubelet.containerLog(pod: pod, container: container, options: options)
      if !options.follow {
        let (bytes, finished) = stream.collected()
        if finished { return APIResponse(status: 200, headers: [("Content-Type", "text/plain")], body: .bytes(bytes)) }
      }
      return APIResponse(status: 200, headers: [("Content-Type", "text/plain")], body: .stream(stream))
    } catch {
      throw APIError.badRequest(error.message)
    }
  }

  /// The container a log request means: the one named, or the pod's only container
  /// (strategy.go `LogLocation`, with its messages for a missing or unknown name).
  static func logContainer(_ pod: JSONValue, requested: String?) throws -> String {
    func names(_ field: String) -> [String] {
      (pod[path: ["spec", field]]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }
    let containers = names("containers"), inits = names("initContainers"), ephemeral = names("ephemeralContainers")
    let podName = pod[path: ["metadata", "name"]]?.stringValue ?? ""
    guard let requested, !requested.isEmpty else {
      if containers.count == 1 { return containers[0] }
      var message = "a container name must be specified for pod \(podName), choose one of: [\(containers.joined(separator: " "))]"
      if !inits.isEmpty { message += " or one of the init containers: [\(inits.joined(separator: " "))]" }
      throw APIError.badRequest(message)
    }
    guard (containers + inits + ephemeral).contains(requested) else {
      throw APIError.badRequest("container \(requested) is not valid for pod \(podName)")
    }
    return requested
  }
}
