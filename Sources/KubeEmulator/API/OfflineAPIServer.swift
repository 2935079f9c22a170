import KubeCore

/// An API server in memory that knows a given set of CustomResourceDefinitions and nothing of a
/// cluster: objects applied to it go through the same write path as a request over HTTP (type
/// meta, pruning and unknown-field warnings, defaulting, metadata and name rules, structural
/// schema, CEL `x-kubernetes-validations` with their `messageExpression`s), so its verdict and its
/// messages are the emulator's — which the acceptance tests hold to kubectl's against `edgeml sim`.
///
/// `edgeml validate` and `edgeml diff` use it to check manifests offline.
///
/// *Guarantees*: an object is created the first time its kind, namespace and name are applied, and
/// each later document naming the same object updates it, as `kubectl apply -f` of the documents in
/// order would; so transition rules (`oldSelf`) are checked between two documents of one file.
///
/// *Caveats*: namespaces are created on demand (a cluster that has them); nothing runs after a
/// write (no controllers, no admission webhooks).
public final class OfflineAPIServer: @unchecked Sendable {
  // Safety: `server` is itself Sendable-safe (its state is behind its own locks); nothing else is mutable.

  /// What applying one object gave.
  public enum Outcome: Sendable, Equatable {
    /// Stored: the object as the server stored it (defaults filled in), the warnings a client
    /// would print (unknown fields), and whether it was created or updated.
    case accepted(object: JSONValue, warnings: [String], isUpdate: Bool)
    /// Refused, with the `Status` the server answered (its `message` is what kubectl prints).
    case refused(APIError, warnings: [String])
    /// No served resource has this apiVersion and kind.
    case notServed(message: String)
  }

  /// A CustomResourceDefinition the server refused, with its `Status` message.
  public struct DefinitionError: Error, Sendable, CustomStringConvertible {
    public var name: String
    public var message: String
    public var description: String { "the CustomResourceDefinition \(name) was refused: \(message)" }
  }

  let server: APIServer
  private static let admin = UserInfo(name: "admin", groups: ["system:masters", "system:authenticated"])

  /// Builds the server and creates the CRDs (each must be accepted and established).
  /// - Throws: `DefinitionError` for a CRD the API server would refuse.
  public init(documents: UpstreamDocuments, customResourceDefinitions: [JSONValue]) throws(DefinitionError) {
    server = APIServer(documents: documents, historyLimit: 100)
    for crd in customResourceDefinitions {
      let response = server.handle(APIRequest(method: "POST", uri: "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                              headers: [("Content-Type", "application/json")], json: crd, user: Self.admin))
      guard response.status == 201 else {
        throw DefinitionError(name: crd[path: ["metadata", "name"]]?.stringValue ?? "", message: Self.message(of: response))
      }
    }
  }

  /// The resource that serves a kind at an apiVersion (`edgeml.io/v1alpha1`), if any.
  public func resource(apiVersion: String, kind: String) -> APIResource? {
    server.catalog.resource(forKind: kind, apiVersion: apiVersion)
  }

  /// The versions served for a group, newest definition order as the CRDs list them.
  public func servedVersions(group: String) -> [String] {
    Array(Set(server.catalog.allResources().filter { $0.group == group }.map(\.version))).sorted()
  }

  /// Applies one object: a create, or an update when the same object was applied before.
  ///
  /// - Parameters:
  ///   - namespace: the namespace of a namespaced object that names none (kubectl takes its
  ///     context's, usually `default`).
  ///   - fieldValidation: `Strict` (kubectl's default `--validate=strict`: unknown and duplicate
  ///     fields refuse the object), `Warn` (pruned, with warnings) or `Ignore`.
  public func apply(_ object: JSONValue, namespace defaultNamespace: String = "default", fieldValidation: String = "Strict") -> Outcome {
    let apiVersion = object["apiVersion"]?.stringValue ?? ""
    let kind = object["kind"]?.stringValue ?? ""
    guard let resource = resource(apiVersion: apiVersion, kind: kind) else {
      return .notServed(message: "no matches for kind \"\(kind)\" in version \"\(apiVersion)\"")
    }
    let prefix = resource.group.isEmpty ? "/api/\(resource.version)" : "/apis/\(resource.group)/\(resource.version)"
    var collection = prefix + "/" + resource.resource
    if resource.namespaced {
      let namespace = object[path: ["metadata", "namespace"]]?.stringValue ?? defaultNamespace
      ensureNamespace(namespace)
      collection = prefix + "/namespaces/\(namespace)/" + resource.resource
    }
    // kubectl's client-side apply: its field manager and its field validation.
    let query = "fieldManager=kubectl-client-side-apply&fieldValidation=\(fieldValidation)"
    var body = object
    var isUpdate = false
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    if !name.isEmpty {
      let existing = server.handle(APIRequest(method: "GET", uri: "\(collection)/\(name)", user: Self.admin))
      if existing.status == 200, case .json(let stored) = existing.body {
        isUpdate = true
        body[path: ["metadata", "resourceVersion"]] = stored[path: ["metadata", "resourceVersion"]]
      }
    }
    let request = APIRequest(method: isUpdate ? "PUT" : "POST", uri: isUpdate ? "\(collection)/\(name)?\(query)" : "\(collection)?\(query)",
                             headers: [("Content-Type", "application/json")], json: body, user: Self.admin)
    let response = server.handle(request)
    let warnings = Self.warnings(of: response)
    guard (200..<300).contains(response.status), case .json(let stored) = response.body else {
      return .refused(Self.error(of: response), warnings: warnings)
    }
    return .accepted(object: stored, warnings: warnings, isUpdate: isUpdate)
  }

  private func ensureNamespace(_ name: String) {
    let namespace: JSONValue = ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(name)]]
    // AlreadyExists is expected; an invalid name is refused again, with its message, by the object's create.
    _ = server.handle(APIRequest(method: "POST", uri: "/api/v1/namespaces", headers: [("Content-Type", "application/json")],
                                 json: namespace, user: Self.admin))
  }

  /// The warnings of `Warning: 299 - "text"` headers (RFC 7234 §5.5; k8s.io/apiserver pkg/warning).
  private static func warnings(of response: APIResponse) -> [String] {
    response.headers.filter { $0.0.lowercased() == "warning" }.compactMap { header in
      let value = header.1
      guard let open = value.firstIndex(of: "\""), let close = value.lastIndex(of: "\""), open < close else { return nil }
      return String(value[value.index(after: open)..<close]).replacingOccurrences(of: "\\\"", with: "\"")
    }
  }

  private static func error(of response: APIResponse) -> APIError {
    guard case .json(let status) = response.body else { return APIError(code: response.status, reason: "", message: "HTTP \(response.status)") }
    return APIError(code: status["code"]?.intValue ?? response.status, reason: status["reason"]?.stringValue ?? "",
                    message: status["message"]?.stringValue ?? "", details: status["details"])
  }

  private static func message(of response: APIResponse) -> String { error(of: response).message }
}
