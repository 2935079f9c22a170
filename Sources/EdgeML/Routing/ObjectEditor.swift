import KubeClient
import KubeCore

/// Read-modify-write of one object the user owns, with optimistic concurrency.
///
/// Why not server-side apply: the lists the routers edit are atomic under it. HTTPRoute's
/// `spec.rules` says `x-kubernetes-list-type: atomic` and its `backendRefs` has no list-map keys
/// (Tests/Fixtures/crds/gateway-api-v1.6.1/gateway.networking.k8s.io_httproutes.yaml); TraefikService's
/// `spec.weighted.services` has no list type at all, so atomic (traefik-v3/traefik.io_traefikservices.yaml).
/// Applying a weight would make our manager own the whole list and drop every rule we did not send.
/// So, as Argo Rollouts' Gateway API plugin does (Get, change the weights, Update;
/// argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi `pkg/plugin/httproute.go`), we read the object,
/// change only our entries, and write it back with its `resourceVersion` as the precondition: a
/// concurrent edit makes the write fail with 409, and we read again and redo the change on the new
/// version, so the other writer's edit is kept, never overwritten.
///
/// ## One request for a step
/// With a `memory`, the editor remembers the parts of the object its change reads and writes
/// (`reads`) as it last read or wrote them. When the change moves them (a new step's weight), it
/// sends one JSON Patch (RFC 6902) instead of a read and a write: a `test` of each part against what
/// it remembers, then the new value. The server applies all of it or none (kube-apiserver applies
/// the patch with evanphx/json-patch and answers 422 when a `test` fails; kubernetes/apiserver
/// `pkg/endpoints/handlers/patch.go`, `applyJSPatch`), so the precondition is exactly what the change
/// was computed from: a user's edit of those parts since makes the patch fail, and the editor falls
/// back to the read and write above, keeping their edit. Writes to other parts, such as a gateway
/// controller's `status`, do not stand in the way, where a stale `resourceVersion` would. A pass
/// that would change nothing in what is remembered still reads the object, so a user's revert of a
/// weight is still put right. The first step of an object not yet remembered (after a restart, or
/// once the user's edit made a patch fail) is a read and a write, as without a memory.
struct ObjectEditor: Sendable {
  var resource: GroupVersionResource
  var kind: String
  /// The parts of the object the change reads and writes, as paths from its root; the change must
  /// leave the rest as it is.
  var reads: [[String]]
  /// Where the parts `reads` names are remembered between passes; nil: read before every write.
  var memory: RouterObjectMemory?
  var maxAttempts = 5
  /// Runs between each read and its write; tests use it to make a concurrent edit. The argument is the attempt, from 0.
  var beforeWrite: (@Sendable (Int) async throws -> Void)? = nil

  init(resource: GroupVersionResource, kind: String, reads: [[String]], memory: RouterObjectMemory? = nil) {
    self.resource = resource
    self.kind = kind
    self.reads = reads
    self.memory = memory
  }

  var apiVersion: String { resource.group.isEmpty ? resource.version : "\(resource.group)/\(resource.version)" }

  /// Computes the new object with `change` and writes it when it differs: as one patch over what is
  /// remembered when that is enough, otherwise by reading the object first.
  /// - Returns: the object as stored, and whether it was written.
  func edit(namespace: String, name: String, client: KubeClient,
            _ change: (JSONValue) throws -> JSONValue) async throws -> (object: JSONValue, written: Bool) {
    let key = memoryKey(namespace: namespace, name: name)
    if let known = memory?.known(key),
       let stored = try await patch(over: known, key: key, namespace: namespace, name: name, client: client, change) {
      return (stored, true)
    }
    for attempt in 0..<maxAttempts {
      let observed = try await get(namespace: namespace, name: name, client: client)
      memory?.remember(key, remembered(of: observed))
      let desired = try change(observed)
      if desired == observed { return (observed, false) }
      try await beforeWrite?(attempt)
      do {
        let stored = try await client.update(resource, namespace: namespace, desired, fieldManager: TrafficRouting.fieldManager)
        memory?.remember(key, remembered(of: stored))
        return (stored, true)
      } catch let error as KubeAPIError where error.isConflict {
        continue   // someone wrote in between: read their version and redo our change on it
      } catch let error as KubeAPIError where error.code == 404 {
        memory?.forget(key)
        throw notFound(error, namespace: namespace, name: name)
      }
    }
    throw TrafficRouterError.conflictRetriesExhausted(kind: kind, namespace: namespace, name: name, attempts: maxAttempts)
  }

  /// Writes `change` of the remembered parts as one JSON Patch that tests them first.
  /// - Returns: the object as stored; nil when the change moves nothing in what is remembered (the
  ///   object must be read to see whether the cluster differs), cannot be computed from it, or the
  ///   server refused the patch (the object changed since: it is forgotten, and read).
  private func patch(over known: JSONValue, key: String, namespace: String, name: String, client: KubeClient,
                     _ change: (JSONValue) throws -> JSONValue) async throws -> JSONValue? {
    guard let desired = try? change(known), desired != known, remembered(of: desired) == desired else { return nil }
    var operations: [JSONValue] = []
    for path in reads {
      let pointer = JSONValue.string(Self.pointer(path))
      let old = known[path: path], new = desired[path: path]
      // An absent member passes a test for null (evanphx/json-patch v4, as kube-apiserver applies it).
      operations.append(["op": "test", "path": pointer, "value": old ?? .null])
      guard new != old else { continue }
      // `add` sets an object member whether it exists or not (RFC 6902 §4.1).
      operations.append(new.map { ["op": "add", "path": pointer, "value": $0] } ?? ["op": "remove", "path": pointer])
    }
    do {
      let stored = try await client.patch(resource, namespace: namespace, name: name, .array(operations), type: .json,
                                          fieldManager: TrafficRouting.fieldManager)
      memory?.remember(key, remembered(of: stored))
      return stored
    } catch let error as KubeAPIError where error.isConflict || (error.code == 422 && Self.isPatchFailure(error)) {
      memory?.forget(key)
      return nil
    } catch let error as KubeAPIError where error.code == 404 {
      memory?.forget(key)
      throw notFound(error, namespace: namespace, name: name)
    }
  }

  /// Whether a 422 says the patch itself did not apply (a `test` failed, or a path it names is
  /// gone), rather than that the object it made is invalid. kube-apiserver answers the first with
  /// `NewGenericServerResponse(422, …, schema.GroupResource{}, …)`, whose `details` name no kind
  /// (k8s.io/apimachinery `pkg/api/errors/errors.go`), and the second with `NewInvalid`, whose
  /// `details.kind` is the object's kind. An invalid object would be just as invalid after a read,
  /// so that error is thrown, not retried.
  static func isPatchFailure(_ error: KubeAPIError) -> Bool {
    (error.status[path: ["details", "kind"]]?.stringValue ?? "").isEmpty
  }

  /// The parts of `object` that `reads` names, alone in an object of the same shape.
  func remembered(of object: JSONValue) -> JSONValue {
    var out: JSONValue = .object([:])
    for path in reads {
      if let value = object[path: path] { out[path: path] = value }
    }
    return out
  }

  func memoryKey(namespace: String, name: String) -> String { "\(resource.group)/\(resource.resource)/\(namespace)/\(name)" }

  /// A JSON Pointer (RFC 6901 §3: `~` is written `~0` and `/` is written `~1`).
  static func pointer(_ path: [String]) -> String {
    path.map { "/" + $0.replacing("~", with: "~0").replacing("/", with: "~1") }.joined()
  }

  /// Makes the object route `route`, as `routing(observed, route, reset: false)` computes it.
  /// - Returns: whether it was written.
  func setWeights(_ route: RouteWeights, name: String, client: KubeClient,
                  routing: (JSONValue, RouteWeights, Bool) throws -> JSONValue) async throws -> Bool {
    try await edit(namespace: route.namespace, name: name, client: client) { try routing($0, route, false) }.written
  }

  /// Puts back what the user wrote, as `routing(observed, all stable, reset: true)` computes it, and
  /// gives up our ownership (`release`).
  ///
  /// An object (or CRD) that is gone routes nothing to the candidate, so there is nothing to undo:
  /// an abort, or the cleanup of a deleted Rollout, must not wait for it to come back.
  /// - Returns: whether anything was written.
  func reset(_ route: RouteWeights, name: String, client: KubeClient,
             routing: (JSONValue, RouteWeights, Bool) throws -> JSONValue) async throws -> Bool {
    // The rollout is over: nothing will be patched over what is remembered of the object.
    defer { memory?.forget(memoryKey(namespace: route.namespace, name: name)) }
    do {
      let edited = try await edit(namespace: route.namespace, name: name, client: client) { try routing($0, route.allStable, true) }.written
      let released = try await release(namespace: route.namespace, name: name, client: client)
      return edited || released
    } catch TrafficRouterError.objectNotFound, TrafficRouterError.resourceNotInstalled {
      return false
    }
  }

  /// Drops our manager's entry from the object's `managedFields`; true when there was one.
  ///
  /// Our first write took the whole atomic list from the user's manager (a write owns what it
  /// changes, and an atomic list is one field). After `reset` the list again holds what the user
  /// wrote, but still in our name; their next server-side apply compares their manifest, before the
  /// CRD's defaults are filled in, with the stored list, defaults included (`weight: 1`, `kind:
  /// Service`), and would conflict with us over a list we no longer care about. An update may send
  /// `managedFields` edited, and the server takes them as the starting point (k8s.io/apimachinery
  /// `pkg/util/managedfields/internal/fieldmanager.go`, `decodeLiveOrNew`); this write changes
  /// nothing else, so it takes nothing, and leaves the list unowned for the user's next apply to claim.
  func release(namespace: String, name: String, client: KubeClient) async throws -> Bool {
    for _ in 0..<maxAttempts {
      let observed = try await get(namespace: namespace, name: name, client: client)
      guard var entries = observed[path: ["metadata", "managedFields"]]?.arrayValue else { return false }
      let count = entries.count
      entries.removeAll {
        $0["manager"]?.stringValue == TrafficRouting.fieldManager && $0["operation"] == "Update" && $0["subresource"] == nil
      }
      guard entries.count < count else { return false }
      var desired = observed
      desired[path: ["metadata", "managedFields"]] = .array(entries)
      do {
        _ = try await client.update(resource, namespace: namespace, desired, fieldManager: TrafficRouting.fieldManager)
        return true
      } catch let error as KubeAPIError where error.isConflict {
        continue
      } catch let error as KubeAPIError where error.code == 404 {
        throw notFound(error, namespace: namespace, name: name)
      }
    }
    throw TrafficRouterError.conflictRetriesExhausted(kind: kind, namespace: namespace, name: name, attempts: maxAttempts)
  }

  /// Reads the object, telling a missing object from a missing resource.
  func get(namespace: String, name: String, client: KubeClient) async throws -> JSONValue {
    do { return try await client.get(resource, namespace: namespace, name: name) } catch let error as KubeAPIError where error.code == 404 {
      throw notFound(error, namespace: namespace, name: name)
    }
  }

  /// A missing object's Status names it in `details` (k8s.io/apimachinery `pkg/api/errors/errors.go`,
  /// `NewNotFound` sets `details.name`, `group` and `kind`); the 404 for a path no API serves — the CRD
  /// is not installed — says "the server could not find the requested resource" with empty details.
  func notFound(_ error: KubeAPIError, namespace: String, name: String) -> TrafficRouterError {
    if (error.status[path: ["details", "name"]]?.stringValue ?? "").isEmpty {
      return .resourceNotInstalled(kind: kind, apiVersion: apiVersion)
    }
    return .objectNotFound(kind: kind, namespace: namespace, name: name)
  }
}

extension GroupVersionResource {
  static let httpRoutes = GroupVersionResource(group: "gateway.networking.k8s.io", version: "v1", resource: "httproutes", namespaced: true)
  static let traefikServices = GroupVersionResource(group: "traefik.io", version: "v1alpha1", resource: "traefikservices", namespaced: true)
  static let ingresses = GroupVersionResource(group: "networking.k8s.io", version: "v1", resource: "ingresses", namespaced: true)
}
