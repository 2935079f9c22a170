import Foundation
import KubeCore

/// What a `pods/exec` request asks for (k8s.io/api core/v1 `PodExecOptions`).
public struct ExecRequest: Sendable {
  public var command: ExecCommand
  public var stdin: Bool
  public var stdout: Bool
  public var stderr: Bool
  public var tty: Bool
}

extension APIServer {
  /// Checks a `pods/exec` request as kube-apiserver does before proxying it to the kubelet, and asks
  /// the kubelet for the process: authentication and RBAC (`create` on `pods/exec`, which v1.35+
  /// servers require of WebSocket upgrades too), the pod and container (pkg/registry/core/pod/strategy.go
  /// `ExecLocation`/`streamLocation`), the options (pkg/apis/core/validation `ValidatePodExecOptions`:
  /// a command, and at least one of stdin, stdout, stderr).
  ///
  /// The HTTP layer upgrades the connection to a WebSocket only when this succeeds; otherwise the
  /// request is answered as any other, with this error.
  public func prepareExec(_ request: APIRequest) -> Result<ExecRequest, APIError> {
    do {
      guard request.user != nil else { throw APIError.unauthorized }
      let target = RequestPathParser.parse(request.path)
      guard case .resource(let path) = target, path.group.isEmpty, path.resource == "pods",
            path.subresource == "exec", let name = path.name, let namespace = path.namespace else { throw APIError.notFoundPath() }
      try authorize(target, request)
      let pod = try store.transaction { state -> JSONValue in
        guard let pod = state.get("/pods", namespace: namespace, name: name) else {
          throw APIError.notFound(GroupResource(group: "", resource: "pods"), name: name)
        }
        return pod
      }
      let command = request.query.filter { $0.0 == "command" }.map(\.1)
      let (stdin, stdout, stderr) = (request.queryBool("stdin"), request.queryBool("stdout"), request.queryBool("stderr"))
      var errors: [FieldError] = []
      if command.isEmpty { errors.append(FieldError(.required, field: "command", detail: "")) }
      if !stdin && !stdout && !stderr {
        errors.append(FieldError(.required, field: "stdin", detail: "you must specify at least 1 of stdin, stdout, stderr"))
      }
      if !errors.isEmpty { throw APIError.invalid(kind: "PodExecOptions", group: "", name: "", errors: errors) }
      let container = try APIServer.logContainer(pod, requested: request.queryValue("container"))
      if (pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty {
        throw APIError.badRequest("pod \(name) does not have a host assigned")
      }
      guard let kubelet = kubelet.value else {
        throw APIError(code: 400, reason: "BadRequest", message: "no kubelet serves node \(pod[path: ["spec", "nodeName"]]?.stringValue ?? "")")
      }
      do {
        let process = try kubelet.exec(pod: pod, container: container, command: command)
        return .success(ExecRequest(command: process, stdin: stdin, stdout: stdout, stderr: stderr, tty: request.queryBool("tty")))
      } catch {
        throw APIError(code: error.code, reason: error.code == 404 ? "NotFound" : "BadRequest", message: error.message)
      }
    } catch let error as APIError {
      return .failure(error)
    } catch {
      return .failure(.internalError("\(error)"))
    }
  }

  /// A `pods/exec` request that was not upgraded: its error, or upstream's 400 for a request
  /// without `Upgrade` (k8s.io/apimachinery pkg/util/httpstream `Handshake` callers: "Upgrade request required").
  func execWithoutUpgrade(_ request: APIRequest) throws -> APIResponse {
    if case .failure(let error) = prepareExec(request) { throw error }
    throw APIError.badRequest("Upgrade request required")
  }
}
