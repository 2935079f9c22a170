import ControllerRuntime
import KubeClient
import KubeCore
import Logging

/// The informers and controllers of the operator, wired together: what `edgeml operator` runs and
/// what `edgeml demo` runs in-process.
public struct OperatorAssembly: Sendable {
  public var informers: [Informer]
  public var controllers: [Controller]
  public var edgeModelController: Controller

  /// - Parameters:
  ///   - namespace: nil for all namespaces.
  ///   - builderImage: image of the `engine` init container (our own image, which carries `edgeml-engine`).
  public init(client: KubeClient, namespace: String?, workers: Int, builderImage: String, recorder: EventRecorder?,
              logger: Logger) async {
    let managed = "\(EdgeModelPlanner.Labels.managedBy)=\(EdgeModelPlanner.Labels.managedByValue)"
    let indexers = EdgeModelReconciler.modelIndexers
    let models = Informer(client: client, resource: EdgeModelReconciler.resource, namespace: namespace,
                          transform: OperatorAssembly.cacheTransform, projection: OperatorAssembly.cacheProjection(for: nil))
    // Only what the operator created is cached (label selector): the RSS budget does not grow
    // with the other pods and workloads of the cluster.
    func owned(_ resource: GroupVersionResource) -> Informer {
      Informer(client: client, resource: resource, namespace: namespace, labelSelector: managed, indexers: indexers,
               transform: OperatorAssembly.cacheTransform(for: resource), projection: OperatorAssembly.cacheProjection(for: resource))
    }
    let pods = owned(.pods)
    let deployments = owned(.deployments)
    let daemonSets = owned(EdgeModelReconciler.daemonSets)
    let services = owned(EdgeModelReconciler.services)
    let nodes = Informer(client: client, resource: .nodes, transform: OperatorAssembly.cacheTransform(for: .nodes),
                         projection: OperatorAssembly.cacheProjection(for: .nodes))
    let reconciler = EdgeModelReconciler(client: client, caches: .init(models: models.store, nodes: nodes.store, pods: pods.store,
                                                                       deployments: deployments.store, daemonSets: daemonSets.store,
                                                                       services: services.store),
                                         recorder: recorder, builderImage: builderImage)
    let controller = Controller(name: "edgemodel", reconciler: reconciler, workers: workers, logger: logger)
    await models.addHandler { key in await controller.enqueue(key: key) }
    for informer in [pods, deployments, daemonSets, services] {
      await informer.addHandler(for: controller, map: EdgeModelReconciler.modelKey(of:))
    }
    // A node change matters to every model, but only when what placement reads changed: labels,
    // readiness, taints, cordon, GPU capacity (not heartbeats or image lists).
    let seen = NodeFingerprints()
    let modelStore = models.store
    let nodeStore = nodes.store
    await nodes.addHandler { key in
      let fingerprint = await nodeStore.get(key).map(NodeFingerprints.fingerprint)
      guard await seen.changed(key, fingerprint) else { return }
      for m in await modelStore.keys { await controller.enqueue(key: m) }
    }
    informers = [models, nodes, pods, deployments, daemonSets, services]
    controllers = [controller]
    edgeModelController = controller
  }

  /// What every informer of the operator applies before caching an object: managedFields and
  /// kubectl's last-applied annotation go, as no controller here reads them. Both are safe to drop:
  /// the operator writes with server-side apply and status patches, never by PUTting a cached object.
  public static let cacheTransform: Reflector.TransformFunction = { object in
    Reflector.stripLastAppliedConfiguration(Reflector.stripManagedFields(object))
  }

  /// `cacheTransform`, then only the fields the reconciler and its indexers read of each kind
  /// (controller-runtime's per-object cache transforms): a cached pod without its spec is a third of
  /// the size, and the cache of a large fleet is most of the operator's memory. A field a
  /// controller starts to read must be added here; the planner tests run on transformed objects.
  public static func cacheTransform(for resource: GroupVersionResource) -> Reflector.TransformFunction {
    let keep = kept(resource)
    return { object in
      var o = cacheTransform(object)
      for (field, names) in [("spec", keep.spec), ("status", keep.status)] {
        guard let names, case .object(let full)? = o[field] else { continue }
        let kept = JSONObject(full.filter { names.contains($0.0) })
        o[field] = kept.isEmpty ? nil : .object(kept)
      }
      return o
    }
  }
}

extension OperatorAssembly {
  /// The members of `spec` and `status` the operator reads of each kind it caches; nil keeps all.
  static func kept(_ resource: GroupVersionResource) -> (spec: [String]?, status: [String]?) {
    switch (resource.group, resource.resource) {
    // EdgeModelPlanner: labels, annotations, deletion, status conditions and init containers;
    // the nodeName indexer: spec.nodeName.
    case ("", "pods"): return (["nodeName"], ["phase", "conditions", "initContainerStatuses"])
    // The reconciler reads a workload's or Service's metadata only (applied hash, owner, deletion).
    case ("apps", "deployments"), ("apps", "daemonsets"), ("", "services"): return ([], [])
    // JetsonNode: labels, taints, cordon, conditions, allocatable.
    case ("", "nodes"): return (["taints", "unschedulable"], ["conditions", "allocatable"])
    default: return (nil, nil)
    }
  }

  /// What the informers build of each object as they parse it: what `cacheTransform` keeps of
  /// `resource` (nil: the EdgeModels, transformed by `cacheTransform` alone), so managedFields and
  /// the parts of a pod nobody reads are scanned but never built. The transform still runs on the
  /// result; the projection only saves building what it would drop.
  public static func cacheProjection(for resource: GroupVersionResource?) -> JSONProjection {
    let keep: (spec: [String]?, status: [String]?) = resource.map(kept) ?? (nil, nil)
    var members: [String: JSONProjection] = [
      "metadata": .keeping(dropping: ["managedFields"],
                           members: ["annotations": .keeping(dropping: [Reflector.lastAppliedConfigurationAnnotation])]),
    ]
    if let spec = keep.spec { members["spec"] = .keeping(Set(spec)) }
    if let status = keep.status { members["status"] = .keeping(Set(status)) }
    return .keeping(members: members)
  }
}

/// The part of each Node placement depends on, last seen.
actor NodeFingerprints {
  private var last: [String: JSONValue] = [:]
  func changed(_ key: String, _ fingerprint: JSONValue?) -> Bool {
    defer { last[key] = fingerprint }
    return last[key] != fingerprint
  }
  static func fingerprint(_ node: JSONValue) -> JSONValue {
    let n = JetsonNode(json: node)
    return ["labels": .object(JSONObject(n.labels.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
            "ready": .bool(n.ready), "unschedulable": .bool(n.unschedulable),
            "taints": .array(n.taints.map { ["key": .string($0.key), "value": .string($0.value ?? ""), "effect": .string($0.effect)] }),
            "gpus": n.allocatableGPUs.map { JSONValue($0) } ?? .null]
  }
}
