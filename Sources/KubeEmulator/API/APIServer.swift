import Foundation
import KubeCore

/// The emulated kube-apiserver's request handling, independent of any transport.
///
/// `handle(_:)` takes an authenticated request and returns the response a v1.36 kube-apiserver would
/// give; the HTTP layer only parses, authenticates and writes. Every rule that mirrors upstream names
/// the upstream file it comes from next to it.
public final class APIServer: @unchecked Sendable {
  // Safety: all mutable state lives in `store` (locked) and `catalog` (locked); the rest is immutable
  // after init except `faults`, which has its own lock.
  public let store: ObjectStore
  public let catalog: ResourceCatalog
  public let documents: UpstreamDocuments
  let schemas: DefinitionSchemas
  let clock: @Sendable () -> Date
  public let faults: FaultInjector
  /// Address clients use (for `/api`'s serverAddressByClientCIDRs).
  public var serverAddress = "127.0.0.1:6443"
  /// Bookmark interval for watches that allow them (real servers: about a minute).
  public var bookmarkInterval: Duration = .seconds(60)
  /// Request bodies over this many bytes get 413 (k8s.io/apiserver `MaxRequestBodyBytes`, 3 MiB).
  public static let maxRequestBodyBytes = 3 * 1024 * 1024
  let serviceIPs = ServiceIPAllocator()
  /// The admission plugins every write passes.
  let admission = AdmissionChain.standard
  let customSchemas = CustomSchemaCache()
  /// The stored CRDs, mirrored here so schema and OpenAPI look-ups need not take the store lock.
  let crdSnapshot = Locked<[JSONValue]>([])
  /// See `sharedMetaSchemas()`.
  let metaSchemaCache = Locked<JSONObject?>(nil)
  /// The built-in part of `/openapi/v2` in protobuf (see `openAPIV2Protobuf()`).
  let openAPIV2ProtobufCache = Locked<(head: [UInt8], definitions: [UInt8])?>(nil)
  let patchSchemas: PatchSchemaRegistry
  /// Signs the service-account tokens TokenRequest hands out and checks those presented.
  let tokenIssuer = ServiceAccountTokenIssuer()
  let serviceAccountCache = ServiceAccountCache()
  let runtimeClassCache = RuntimeClassCache()
  /// The kubelets' door (`setKubeletConnection`); nil until something runs pods.
  let kubelet = Locked<(any KubeletConnection)?>(nil)
  /// What `metrics.k8s.io` reports (`setResourceMetricsProvider`); nil: the group is not served.
  let metricsProvider = Locked<(any ResourceMetricsProvider)?>(nil)
  /// The cluster CA's certificate (PEM) that the root CA publisher puts into every namespace's
  /// `kube-root-ca.crt` ConfigMap; empty when the emulator serves plain HTTP.
  let rootCAPEM = Locked<String>("")
  /// The kube-apiserver version reported at `/version`.
  public static let kubernetesVersion = (major: "1", minor: "36", gitVersion: "v1.36.0-edgeml")

  public init(documents: UpstreamDocuments, historyLimit: Int = 20_000, clock: @escaping @Sendable () -> Date = { Date() }) {
    self.documents = documents
    self.catalog = ResourceCatalog(documents: documents)
    self.store = ObjectStore(historyLimit: historyLimit)
    self.schemas = DefinitionSchemas(definitions: documents.swagger["definitions"]?.objectValue ?? JSONObject())
    self.clock = clock
    self.faults = FaultInjector()
    self.patchSchemas = PatchSchemaRegistry(swaggerDefinitions: documents.swagger["definitions"] ?? [:])
    bootstrap()
  }

  /// Creates what every cluster has at start: the `default`, `kube-system`, `kube-public` and
  /// `kube-node-lease` namespaces, the `default` service account of each, and the `kubernetes` Service.
  private func bootstrap() {
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
      _ = try? createInternal(group: "", resource: "namespaces", namespace: nil,
                              object: ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]])
    }
    _ = try? createInternal(group: "", resource: "services", namespace: "default", object: [
      "apiVersion": "v1", "kind": "Service",
      "metadata": ["name": "kubernetes", "namespace": "default",
                   "labels": ["component": "apiserver", "provider": "kubernetes"]],
      "spec": ["ports": [["name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443]],
               "sessionAffinity": "None", "type": "ClusterIP"],
    ])
  }

  /// Handles one request; never throws: every failure becomes a `Status` response.
  public func handle(_ request: APIRequest) -> APIResponse {
    if let fault = faults.faultFor(request) { return .error(fault) }
    return handleInProcess(request)
  }

  /// Handles a request from a component living in the server's process (EdgeSim's scheduler,
  /// kubelets and controllers) as `handle` does, minus fault injection: injected faults stand for a
  /// troubled network between the server and its clients, and must not shift their seeded sequence.
  public func handleInProcess(_ request: APIRequest) -> APIResponse {
    if request.body.count > APIServer.maxRequestBodyBytes {
      return .error(.requestEntityTooLarge(limit: APIServer.maxRequestBodyBytes))
    }
    let target = RequestPathParser.parse(request.path)
    // Anonymous users may read version and health, as system:public-info-viewer allows.
    switch target {
    case .version, .healthz: break
    default: if request.user == nil { return .error(.unauthorized) }
    }
    do {
      try authorize(target, request)
      return try route(target, request)
    } catch let error as APIError {
      return .error(error)
    } catch {
      return .error(.internalError("\(error)"))
    }
  }

  private func route(_ target: RequestTarget, _ request: APIRequest) throws -> APIResponse {
    if request.path.hasPrefix("/edgeml.io/emulator/") { return try emulatorControl(request) }
    switch target {
    case .version:
      let v = APIServer.kubernetesVersion
      return .json(["major": .string(v.major), "minor": .string(v.minor), "emulationMajor": .string(v.major),
                    "emulationMinor": .string(v.minor), "minCompatibilityMajor": "1", "minCompatibilityMinor": "35",
                    "gitVersion": .string(v.gitVersion), "gitCommit": "0000000000000000000000000000000000000000",
                    "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z", "goVersion": "go1.25.0",
                    "compiler": "gc", "platform": "linux/amd64"])
    case .healthz:
      return APIResponse(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")], body: .bytes(Array("ok".utf8)))
    case .apiVersions:
      try requireGet(request)
      return .json(catalog.apiVersions(serverAddress: serverAddress))
    case .apiGroupList:
      try requireGet(request)
      return .json(catalog.apiGroupList())
    case .apiGroup(let g):
      try requireGet(request)
      guard let doc = catalog.apiGroup(g) else { throw APIError.notFoundPath() }
      return .json(doc)
    case .apiResourceList(let g, let v):
      try requireGet(request)
      guard let doc = catalog.apiResourceList(group: g, version: v) else { throw APIError.notFoundPath() }
      return .json(doc)
    case .openAPIV2:
      try requireGet(request)
      return try openAPIV2(request)
    case .openAPIV3Index:
      try requireGet(request)
      return .json(openAPIV3Index())
    case .openAPIV3(let path):
      try requireGet(request)
      return try openAPIV3Document(path)
    case .resource(let target):
      return try handleResource(target, request)
    case .unknown:
      throw APIError.notFoundPath()
    }
  }

  /// The emulator's own control endpoints (not part of the Kubernetes API), for tests driving a
  /// running `edgeml sim`: `GET|PUT /edgeml.io/emulator/faults` reads or replaces the fault
  /// configuration, `POST /edgeml.io/emulator/compact` forgets watch history. Admin only.
  private func emulatorControl(_ request: APIRequest) throws -> APIResponse {
    guard request.user?.groups.contains("system:masters") == true else {
      throw APIError(code: 403, reason: "Forbidden", message: "emulator control needs a system:masters user")
    }
    switch (request.method, request.path) {
    case ("GET", "/edgeml.io/emulator/faults"):
      return .json(faults.configuration.json)
    case ("PUT", "/edgeml.io/emulator/faults"):
      let body: JSONValue
      do { body = try JSONValue(parsing: request.body) } catch { throw APIError.badRequest("fault configuration: \(error)") }
      faults.configuration = try FaultInjector.Configuration(json: body)
      return .json(faults.configuration.json)
    case ("POST", "/edgeml.io/emulator/compact"):
      let rv = store.transaction { state -> Int64 in state.compact(); return state.compactedRV }
      return .json(["compactedResourceVersion": .string(String(rv))])
    default:
      throw APIError.notFoundPath()
    }
  }

  private func requireGet(_ request: APIRequest) throws {
    guard request.method == "GET" || request.method == "HEAD" else { throw APIError.methodNotAllowed }
  }

  func now() -> Date { clock() }

  /// Mirrors the stored CRDs into `crdSnapshot` and rebuilds the custom schema cache (store lock held).
  func syncCRDs(_ state: inout ObjectStore.State) {
    crdSnapshot.value = state.list(CRDSupport.storageKey, namespace: nil)
    refreshCustomSchemas()
  }
  func timestamp() -> JSONValue { .string(RFC3339.format(clock())) }

  // MARK: Resource requests

  private func handleResource(_ path: ResourcePath, _ request: APIRequest) throws -> APIResponse {
    guard let resource = catalog.resource(group: path.group, version: path.version, resource: path.resource) else {
      throw APIError.notFoundPath()
    }
    if resource.namespaced == false, path.namespace != nil { throw APIError.notFoundPath() }
    let context = RequestContext(resource: resource, path: path, request: request)
    if resource.isAggregated { return try metrics(context) }
    if let sub = path.subresource, resource.subresources[sub] == nil { throw APIError.notFoundPath() }
    switch (request.method, path.name, path.subresource) {
    case ("GET", nil, nil), ("HEAD", nil, nil):
      if path.isWatchPath || request.queryBool("watch") { return try watch(context) }
      return try list(context)
    case ("GET", _?, "exec") where path.group.isEmpty && path.resource == "pods",
         ("POST", _?, "exec") where path.group.isEmpty && path.resource == "pods":
      return try execWithoutUpgrade(request)
    case ("GET", let name?, "log") where path.group.isEmpty && path.resource == "pods":
      return try containerLog(context, podName: name)
    case ("GET", _?, nil) where path.isWatchPath:
      return try watch(context)
    case ("GET", let name?, let sub), ("HEAD", let name?, let sub):
      return try get(context, name: name, subresource: sub)
    case ("POST", nil, nil):
      return try create(context)
    case ("POST", let name?, "binding") where path.group.isEmpty && path.resource == "pods":
      return try bind(context, podName: name)
    case ("POST", let name?, "eviction") where path.group.isEmpty && path.resource == "pods":
      return try evict(context, podName: name)
    case ("POST", let name?, "token") where path.group.isEmpty && path.resource == "serviceaccounts":
      return try tokenRequest(context, serviceAccount: name)
    case ("POST", _?, _):
      throw APIError.methodNotAllowed
    case ("PUT", let name?, let sub):
      return try update(context, name: name, subresource: sub)
    case ("PATCH", let name?, let sub):
      return try patch(context, name: name, subresource: sub)
    case ("DELETE", let name?, nil):
      return try delete(context, name: name)
    case ("DELETE", nil, nil):
      return try deleteCollection(context)
    default:
      throw APIError.methodNotAllowed
    }
  }
}

/// Everything one resource request needs, parsed once.
struct RequestContext {
  var resource: APIResource
  var path: ResourcePath
  var request: APIRequest
  var namespace: String { path.namespace ?? "" }
  var isDryRun: Bool { request.queryValue("dryRun") == "All" }
  /// Accept asks for a `meta.k8s.io` Table.
  var wantsTable: Bool {
    guard let accept = request.header("accept") else { return false }
    for part in accept.split(separator: ",") {
      let p = part.replacingOccurrences(of: " ", with: "")
      if p.contains("as=Table") { return true }
      if p.hasPrefix("application/json") && !p.contains("as=") { return false }
    }
    return false
  }
  var tableIncludeObject: String { request.queryValue("includeObject") ?? "Metadata" }
}

/// RFC 3339 timestamps as Kubernetes writes them (`metav1.Time` to the second, `metav1.MicroTime`
/// to the microsecond): the bridge between Foundation's `Date` and KubeCore's `Timestamp`.
enum RFC3339 {
  static func format(_ date: Date, fractional: Bool = false) -> String {
    let seconds = date.timeIntervalSince1970.rounded(.down)
    let t = Timestamp(secondsSinceEpoch: Int64(seconds), nanoseconds: Int32((date.timeIntervalSince1970 - seconds) * 1e9))
    return fractional ? t.rfc3339Micro : t.rfc3339
  }

  static func parse(_ text: String) -> Date? {
    guard let t = try? Timestamp(rfc3339: text) else { return nil }
    return Date(timeIntervalSince1970: Double(t.secondsSinceEpoch) + Double(t.nanoseconds) / 1e9)
  }
}

