import KubeClient
import KubeCore
import Logging

/// The reconciler of one custom resource type, as `TypedReconciler` runs it: it sees only live,
/// decoded objects and returns a plan.
public protocol ObjectReconciler: Sendable {
  associatedtype Object: Sendable
  /// Decodes a cached object. Throwing means the object cannot be acted on (a spec the schema let
  /// through but the controller cannot use): the object gets `Ready=False` with reason
  /// `InvalidSpec` and a Warning Event, and is not retried until it changes.
  func decode(_ json: JSONValue) throws -> Object
  /// What the cluster should hold for `object` (`json` is the cached object it was decoded from).
  func plan(_ object: Object, json: JSONValue, context: ReconcileContext) async throws -> ReconcilePlan
  /// The finalizer kept on every object, when deleting one needs work the garbage collector does
  /// not do (nil: none; owned objects are collected through their owner references).
  var finalizer: String? { get }
  /// The clean-up before the finalizer is removed; it must tolerate running more than once.
  func finalize(_ json: JSONValue, context: ReconcileContext) async throws
  /// The object left the cache: drop whatever was remembered of it.
  func forget(_ request: ReconcileRequest) async
}

extension ObjectReconciler {
  public var finalizer: String? { nil }
  public func finalize(_ json: JSONValue, context: ReconcileContext) async throws {}
  public func forget(_ request: ReconcileRequest) async {}
}

/// Does once what every controller of a custom resource needs, around an `ObjectReconciler`:
/// reads the object from the cache, decodes it once per resourceVersion, handles deletion and the
/// finalizer, turns an invalid spec into `Ready=False`/`InvalidSpec` plus an Event (no retry loop),
/// and applies the plan. A copy older than the controller's own last write to the object is not
/// planned from (`WriteExpectations`).
///
/// Finalizers follow kube-rs's four cases (kube-runtime/src/finalizer.rs): live without the
/// finalizer → add it; live with it → reconcile; deleting with it → clean up, then remove it;
/// deleting without it → nothing to do. Both patches are JSON patches guarded by a `test` op, so
/// another writer's entry is never removed by mistake.
public struct TypedReconciler<R: ObjectReconciler>: Reconciler {
  public let inner: R
  public let resource: GroupVersionResource
  private let decoded = DecodedCache<R.Object>(limit: 128)

  public init(_ inner: R, resource: GroupVersionResource) {
    self.inner = inner
    self.resource = resource
  }

  public func reconcile(_ request: ReconcileRequest, context: ReconcileContext) async throws -> ReconcileResult {
    guard let store = context.caches.store(resource) else {
      throw TerminalError(PlanError.unknownResource(resource, object: "primary cache"))
    }
    let key = request.description
    guard var json = await store.get(key) else {
      await inner.forget(request)
      return .done
    }
    switch context.applier.expectations?.verdict(key, resourceVersion: Self.resourceVersion(json)) ?? .fresh {
    case .fresh: break
    case .wait:
      // Our last write is not in the cache yet: the Manager queues the key when it arrives.
      context.logger.debug("Cache behind our last write; waiting for it")
      return .done
    case .readAgain:
      guard let newer = await store.get(key) else { return .done }
      json = newer
    }
    let finalizers = (json[path: ["metadata", "finalizers"]]?.arrayValue ?? []).compactMap(\.stringValue)
    if json[path: ["metadata", "deletionTimestamp"]] != nil {
      guard let finalizer = inner.finalizer, let index = finalizers.firstIndex(of: finalizer) else { return .done }
      try await inner.finalize(json, context: context)
      let patch: JSONValue = [["op": "test", "path": .string("/metadata/finalizers/\(index)"), "value": .string(finalizer)],
                              ["op": "remove", "path": .string("/metadata/finalizers/\(index)")]]
      try await patchFinalizers(patch, of: json, request: request, context: context)
      return .done
    }
    if let finalizer = inner.finalizer, !finalizers.contains(finalizer) {
      let current = json[path: ["metadata", "finalizers"]]
      let patch: JSONValue = current == nil
        ? [["op": "test", "path": "/metadata/finalizers", "value": .null],
           ["op": "add", "path": "/metadata/finalizers", "value": [.string(finalizer)]]]
        : [["op": "test", "path": "/metadata/finalizers", "value": current!],
           ["op": "add", "path": "/metadata/finalizers/-", "value": .string(finalizer)]]
      try await patchFinalizers(patch, of: json, request: request, context: context)
      return .done   // the change comes back through the watch and is reconciled then
    }
    let object: R.Object
    do {
      object = try decoded.object(json) { try inner.decode($0) }
    } catch {
      context.logger.warning("Invalid spec; not retrying until the object changes", metadata: ["error": "\(error)"])
      try await context.applier.apply(Self.invalidSpecPlan(json, error: error, now: context.clock.timestamp), owner: json,
                                      logger: context.logger)
      return .done
    }
    let plan = try await inner.plan(object, json: json, context: context)
    try await context.applier.apply(plan, owner: json, logger: context.logger)
    return plan.result
  }

  /// The object's status with `Ready=False`, reason `InvalidSpec`, and a Warning Event (recorded
  /// only when the condition changes, so re-reconciling an unchanged invalid object writes nothing).
  public static func invalidSpecPlan(_ json: JSONValue, error: any Error, now: Timestamp) -> ReconcilePlan {
    var status = json["status"]?.objectValue ?? JSONObject()
    var conditions = (status["conditions"]?.arrayValue ?? []).compactMap { try? Condition(json: $0) }
    let message = String("\(error)".prefix(1024))
    Condition.set(Condition(type: "Ready", status: "False", observedGeneration: json[path: ["metadata", "generation"]]?.int64Value,
                            reason: "InvalidSpec", message: message), in: &conditions, now: now)
    status["conditions"] = .array(conditions.map(\.json))
    return ReconcilePlan(status: .object(status), events: [PlannedEvent(type: "Warning", reason: "InvalidSpec", note: message)])
  }

  static func resourceVersion(_ json: JSONValue) -> String { json[path: ["metadata", "resourceVersion"]]?.stringValue ?? "" }

  private func patchFinalizers(_ patch: JSONValue, of json: JSONValue, request: ReconcileRequest, context: ReconcileContext) async throws {
    do {
      let written = try await context.client.patch(resource, namespace: resource.namespaced ? request.namespace : nil, name: request.name,
                                                   patch, type: .json, projection: PlanApplier.resourceVersionOnly)
      context.applier.expectations?.wrote(request.description, replaced: Self.resourceVersion(json), written: Self.resourceVersion(written))
    } catch let e as KubeAPIError where e.isNotFound {
      // Gone meanwhile: nothing left to finalize.
    }
  }
}
