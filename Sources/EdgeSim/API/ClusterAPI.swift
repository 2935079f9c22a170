import Foundation
import KubeCore
import KubeEmulator

/// The simulator's door to the API server: reads from the emulator's store, writes through
/// `APIServer.handleInProcess` (no injected faults), as one named component.
///
/// Every write is an ordinary API request, so validation, resourceVersions, managedFields, watch
/// events and garbage collection behave as for any client. Reads go straight to the store (a
/// consistent snapshot under its lock), which is what an informer cache would hold, minus the lag.
struct ClusterAPI: Sendable {
  let server: APIServer
  let user: UserInfo

  init(server: APIServer, component: String) {
    self.server = server
    self.user = UserInfo(name: "system:\(component)", groups: ["system:masters", "system:authenticated"])
  }

  func `as`(_ component: String) -> ClusterAPI { ClusterAPI(server: server, component: component) }

  // MARK: reads

  func get(_ storageKey: String, namespace: String = "", name: String) -> JSONValue? {
    server.store.transaction { $0.get(storageKey, namespace: namespace, name: name) }
  }

  func list(_ storageKey: String, namespace: String? = nil) -> [JSONValue] {
    server.store.transaction { $0.list(storageKey, namespace: namespace) }
  }

  /// The objects of `storageKey` in `namespace` that `isIncluded` accepts, in no particular order,
  /// filtered under the store's lock without copying the rest.
  func list(_ storageKey: String, namespace: String?, where isIncluded: (JSONValue) -> Bool) -> [JSONValue] {
    server.store.transaction { $0.objects(storageKey, namespace: namespace, where: isIncluded) }
  }

  /// The objects of `storageKey` in `namespace` that `selector` matches, in no particular order,
  /// read through the store's label index when the selector has an equality requirement.
  func list(_ storageKey: String, namespace: String, selector: LabelSelector) -> [JSONValue] {
    server.store.transaction { $0.objects(storageKey, namespace: namespace, selector: selector) }
  }

  /// The objects of `storageKey` whose controller ownerReference is the `kind` object with `uid`,
  /// in name order. Read through the store's owner index (the garbage collector's), so a controller
  /// of one ReplicaSet does not scan every pod of the namespace (upstream controllers look their
  /// pods up through an informer index the same way).
  func owned(_ storageKey: String, by uid: String, kind: String) -> [JSONValue] {
    guard !uid.isEmpty else { return [] }
    return server.store.transaction { state in
      state.dependents(of: uid).filter { $0.storageKey == storageKey }.compactMap { state.get($0) }
    }.filter { $0.controllerUID(kind: kind) == uid }
  }

  // MARK: writes

  @discardableResult
  func send(_ method: String, _ path: String, _ body: JSONValue? = nil,
            contentType: String = "application/json") throws(EdgeSimError) -> JSONValue {
    var headers = [("user-agent", "edgesim/\(user.name)")]
    if body != nil { headers.append(("content-type", contentType)) }
    // In-process: the server takes a JSON body decoded (APIRequest.decodedBody), not its bytes.
    let json = contentType == "application/json" || contentType.hasSuffix("patch+json")
    let request = body.map { json ? APIRequest(method: method, uri: path, headers: headers, json: $0, user: user)
                                  : APIRequest(method: method, uri: path, headers: headers, body: $0.serialized(), user: user) }
      ?? APIRequest(method: method, uri: path, headers: headers, user: user)
    let response = server.handleInProcess(request)
    var value: JSONValue = .null
    if case .json(let v) = response.body { value = v }
    guard (200..<300).contains(response.status) else {
      throw .api(method: method, path: path, code: response.status, status: value)
    }
    return value
  }

  @discardableResult
  func create(_ path: String, _ object: JSONValue) throws(EdgeSimError) -> JSONValue { try send("POST", path, object) }

  @discardableResult
  func mergePatch(_ path: String, _ patch: JSONValue) throws(EdgeSimError) -> JSONValue {
    try send("PATCH", path, patch, contentType: "application/merge-patch+json")
  }

  func delete(_ path: String, options: JSONValue? = nil) throws(EdgeSimError) { try send("DELETE", path, options) }
}

/// REST paths of the kinds the simulator writes.
enum Paths {
  static func pods(_ ns: String) -> String { "/api/v1/namespaces/\(ns)/pods" }
  static func pod(_ ns: String, _ name: String) -> String { "/api/v1/namespaces/\(ns)/pods/\(name)" }
  static func node(_ name: String) -> String { "/api/v1/nodes/\(name)" }
  static func lease(_ name: String) -> String { "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/\(name)" }
  static func events(_ ns: String) -> String { "/api/v1/namespaces/\(ns)/events" }
  static func replicaSets(_ ns: String) -> String { "/apis/apps/v1/namespaces/\(ns)/replicasets" }
  static func replicaSet(_ ns: String, _ name: String) -> String { "/apis/apps/v1/namespaces/\(ns)/replicasets/\(name)" }
  static func deployment(_ ns: String, _ name: String) -> String { "/apis/apps/v1/namespaces/\(ns)/deployments/\(name)" }
  static func daemonSet(_ ns: String, _ name: String) -> String { "/apis/apps/v1/namespaces/\(ns)/daemonsets/\(name)" }
  static func job(_ ns: String, _ name: String) -> String { "/apis/batch/v1/namespaces/\(ns)/jobs/\(name)" }
  static func disruptionBudget(_ ns: String, _ name: String) -> String { "/apis/policy/v1/namespaces/\(ns)/poddisruptionbudgets/\(name)" }
}

/// Storage keys of the emulator's store (`group/resource`).
enum Keys {
  static let pods = "/pods", nodes = "/nodes", leases = "coordination.k8s.io/leases"
  static let deployments = "apps/deployments", replicaSets = "apps/replicasets", daemonSets = "apps/daemonsets"
  static let jobs = "batch/jobs", secrets = "/secrets", configMaps = "/configmaps"
  static let disruptionBudgets = "policy/poddisruptionbudgets"
  /// Objects the simulated inference clients route by (read only).
  static let services = "/services", ingresses = "networking.k8s.io/ingresses"
  static let traefikServices = "traefik.io/traefikservices", httpRoutes = "gateway.networking.k8s.io/httproutes"
}

/// A namespaced object's identity inside the simulator's queues.
struct ObjectKey: Hashable, Sendable, CustomStringConvertible {
  var namespace: String
  var name: String
  init(_ namespace: String, _ name: String) { self.namespace = namespace; self.name = name }
  init(_ object: JSONValue) {
    namespace = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
    name = object[path: ["metadata", "name"]]?.stringValue ?? ""
  }
  var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}
