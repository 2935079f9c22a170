import ControllerRuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeClient
import KubeCore

/// Brings the cluster to what `EdgeModelPlanner` wants for an EdgeModel: workloads and Service
/// applied with server-side apply, workloads of groups that no longer exist deleted, status and
/// Events written. All decisions are the planner's; this type only reads caches and writes.
///
/// *Guarantees*: level-based and idempotent. An object whose `edgeml.io/applied-hash` already
/// matches is not written, and an unchanged status is not written, so a steady cluster sees zero API
/// writes. Failures need no requeue of their own: the kubelet backs off a failing init container,
/// and every change of a pod, workload or node wakes the reconcile again.
public struct EdgeModelReconciler: Reconciler {
  public static let resource = EdgeModel.resource
  public static let daemonSets = GroupVersionResource(group: "apps", version: "v1", resource: "daemonsets", namespaced: true)
  public static let services = GroupVersionResource(group: "", version: "v1", resource: "services", namespaced: true)

  /// Indexes objects by the EdgeModel they belong to (`namespace/name` from `edgeml.io/model`).
  public static let modelIndexers: [String: Store.IndexFunction] = Store.standardIndexers.merging([
    "model": modelKey(of:),
  ]) { a, _ in a }

  /// The key of the EdgeModel an object belongs to, from its `edgeml.io/model` label.
  public static func modelKey(of object: JSONValue) -> [String] {
    guard let m = object[path: ["metadata", "labels", EdgeModelPlanner.Labels.model]]?.stringValue else { return [] }
    return ["\(object[path: ["metadata", "namespace"]]?.stringValue ?? "")/\(m)"]
  }

  public struct Caches: Sendable {
    public var models: Store
    public var nodes: Store
    public var pods: Store
    public var deployments: Store
    public var daemonSets: Store
    public var services: Store
    public init(models: Store, nodes: Store, pods: Store, deployments: Store, daemonSets: Store, services: Store) {
      self.models = models
      self.nodes = nodes
      self.pods = pods
      self.deployments = deployments
      self.daemonSets = daemonSets
      self.services = services
    }
  }

  public let client: KubeClient
  public let caches: Caches
  public let recorder: EventRecorder?
  public let builderImage: String
  /// Nodes read once per change and placements remembered while they stay the same (a fleet of a
  /// thousand nodes and a thousand models would otherwise re-read and re-check every node for every
  /// reconcile of every model).
  let nodeViews = NodeViews()
  /// EdgeModels decoded once per resourceVersion (a model is reconciled for every change of its
  /// pods and workloads, a dozen times while it comes up, and its spec rarely changes meanwhile).
  let decoded = DecodedModels()

  public init(client: KubeClient, caches: Caches, recorder: EventRecorder?, builderImage: String) {
    self.client = client
    self.caches = caches
    self.recorder = recorder
    self.builderImage = builderImage
  }

  public func reconcile(_ request: ReconcileRequest) async throws -> ReconcileResult {
    guard let json = await caches.models.get(request.description) else {
      await decoded.forget(request.description)
      return .done   // deleted: GC removes the rest
    }
    if json[path: ["metadata", "deletionTimestamp"]] != nil { return .done }
    let model: EdgeModel
    do {
      model = try await decoded.model(request.description, json)
    } catch {
      // The schema should have refused it; a newer CRD or a hand-edited object can still get here.
      await recorder?.record(regarding: json, type: "Warning", reason: "InvalidSpec", action: "Reconcile", note: "\(error)")
      return .done
    }
    let (nodes, placement) = await nodeViews.placement(of: model.spec, nodes: caches.nodes)
    let pods = await caches.pods.byIndex("model", request.description)
    let deployments = await caches.deployments.byIndex("model", request.description)
    let daemonSets = await caches.daemonSets.byIndex("model", request.description)
    let now = Timestamp(secondsSinceEpoch: Int64(Date().timeIntervalSince1970)).rfc3339
    let plan = EdgeModelPlanner.plan(.init(model: model, nodes: nodes, pods: pods, builderImage: builderImage, now: now,
                                           placement: placement))
    var wanted = Set<String>()
    for object in plan.objects {
      let kind = object["kind"]?.stringValue ?? ""
      let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
      let (resource, cache) = route(kind)
      wanted.insert("\(kind)/\(name)")
      let observed = await cache.get("\(request.namespace)/\(name)")
      let hash = object[path: ["metadata", "annotations", EdgeModelPlanner.Labels.appliedHash]]
      if let observed, observed[path: ["metadata", "annotations", EdgeModelPlanner.Labels.appliedHash]] == hash { continue }
      // The answer is not read (the watch brings the object to the cache): checked, not built.
      _ = try await client.patch(resource, namespace: request.namespace, name: name, object,
                                 type: .apply(fieldManager: EdgeModelPlanner.fieldManager, force: true), projection: .nothing)
    }
    // Workloads of node groups that are gone (a module left the fleet, the spec narrowed).
    for (kind, objects) in [("Deployment", deployments), ("DaemonSet", daemonSets)] {
      for o in objects where isOwned(o, by: model) {
        let name = o[path: ["metadata", "name"]]?.stringValue ?? ""
        guard !wanted.contains("\(kind)/\(name)"), o[path: ["metadata", "deletionTimestamp"]] == nil else { continue }
        do {
          try await client.delete(route(kind).0, namespace: request.namespace, name: name, propagationPolicy: "Background")
        } catch let e as KubeAPIError where e.isNotFound {}
      }
    }
    let desired = ModelCoding.encode(plan.status)
    if (json["status"] ?? .null) != desired {
      do {
        _ = try await client.patch(Self.resource, namespace: request.namespace, name: request.name, ["status": desired],
                                   type: .merge, subresource: "status", projection: .nothing)
      } catch let e as KubeAPIError where e.isNotFound {
        return .done
      }
      for e in plan.events {
        await recorder?.record(regarding: json, type: e.type, reason: e.reason, action: "Reconcile", note: e.note)
      }
    }
    return .done
  }

  func route(_ kind: String) -> (GroupVersionResource, Store) {
    switch kind {
    case "DaemonSet": return (Self.daemonSets, caches.daemonSets)
    case "Service": return (Self.services, caches.services)
    default: return (.deployments, caches.deployments)
    }
  }

  func isOwned(_ object: JSONValue, by model: EdgeModel) -> Bool {
    (object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains {
      $0["uid"]?.stringValue == model.metadata.uid && $0["controller"]?.boolValue == true
    }
  }
}

/// Typed EdgeModels by key, remembered with the resourceVersion they were decoded at.
actor DecodedModels {
  private var models: [String: (resourceVersion: String, model: EdgeModel)] = [:]

  func model(_ key: String, _ json: JSONValue) throws -> EdgeModel {
    let rv = json[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
    if let hit = models[key], hit.resourceVersion == rv, !rv.isEmpty { return hit.model }
    let model = try EdgeModel(json: json)
    models[key] = (rv, model)
    return model
  }

  func forget(_ key: String) { models[key] = nil }
}

/// `JetsonNode` views of the cached Nodes, and the placements worked out from them.
///
/// Views are remade only when the node store changed, and then only for nodes whose resourceVersion
/// moved. A placement depends on nothing but the views and the spec's placement fields, so it is
/// remembered per distinct placement spec until a view changes: a thousand models with the same
/// placement are placed once per change of the fleet, not once per reconcile.
actor NodeViews {
  /// The spec fields `Placement.evaluate` reads (not replicas or mode).
  struct PlacementKey: Hashable {
    var jetson: JetsonRequirements?
    var nodeSelector: [String: String]?
    var tolerations: [Toleration]?
    var dlaCore: Int?
  }

  private var views: [String: (resourceVersion: String, view: JetsonNode)] = [:]
  private var snapshot: [JetsonNode] = []
  private var storeGeneration: UInt64?
  private var placements: [PlacementKey: Placement.Result] = [:]
  /// Distinct placement specs remembered at once; past it the memo starts over.
  static let memoLimit = 512

  func placement(of spec: EdgeModelSpec, nodes store: Store) async -> ([JetsonNode], Placement.Result) {
    let generation = await store.generation
    if generation != storeGeneration {
      refresh(await store.list())
      storeGeneration = generation
    }
    let key = PlacementKey(jetson: spec.placement?.jetson, nodeSelector: spec.placement?.nodeSelector,
                           tolerations: spec.placement?.tolerations, dlaCore: spec.engine?.dlaCore)
    if let hit = placements[key] { return (snapshot, hit) }
    let result = Placement.evaluate(spec, nodes: snapshot)
    if placements.count >= Self.memoLimit { placements.removeAll() }
    placements[key] = result
    return (snapshot, result)
  }

  private func refresh(_ nodes: [JSONValue]) {
    var next: [String: (resourceVersion: String, view: JetsonNode)] = [:]
    next.reserveCapacity(nodes.count)
    var out: [JetsonNode] = []
    out.reserveCapacity(nodes.count)
    for node in nodes {
      let name = node[path: ["metadata", "name"]]?.stringValue ?? ""
      let rv = node[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
      let view: JetsonNode
      if let hit = views[name], hit.resourceVersion == rv, !rv.isEmpty { view = hit.view } else { view = JetsonNode(json: node) }
      next[name] = (rv, view)
      out.append(view)
    }
    // The store lists in key order, which for Nodes is name order: what placement sorts by.
    if out != snapshot { placements.removeAll() }
    views = next
    snapshot = out
  }
}
