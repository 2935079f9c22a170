import ControllerRuntime
import EdgeML
import KubeClient
import KubeCore
import YAML

/// What `LiveDiff` reads of a cluster: plain GETs and LISTs, nothing written.
public protocol ClusterReader: Sendable {
  /// The object, or nil when the server answers 404.
  func get(_ resource: GroupVersionResource, namespace: String?, name: String) async throws -> JSONValue?
  /// Every object of the resource (all pages) matching the selector.
  func list(_ resource: GroupVersionResource, namespace: String?, labelSelector: String?) async throws -> [JSONValue]
  /// A finished retraining Job's output from its pods' termination messages (`DriftIO.jobOutput`).
  func jobOutput(_ job: String, namespace: String) async -> DriftPolicyPlanner.JobOutput?
}

/// A `ClusterReader` over the project's `KubeClient`.
public struct KubeClusterReader: ClusterReader {
  public let client: KubeClient
  public init(client: KubeClient) { self.client = client }

  public func get(_ resource: GroupVersionResource, namespace: String?, name: String) async throws -> JSONValue? {
    do { return try await client.get(resource, namespace: namespace, name: name) } catch let error as KubeAPIError where error.code == 404 {
      return nil
    }
  }

  public func list(_ resource: GroupVersionResource, namespace: String?, labelSelector: String?) async throws -> [JSONValue] {
    do {
      return try await client.listAll(resource, namespace: namespace, labelSelector: labelSelector).items
    } catch let error as KubeAPIError where error.code == 404 {
      return []   // the resource is not served (a CRD not installed): nothing of it exists
    }
  }

  public func jobOutput(_ job: String, namespace: String) async -> DriftPolicyPlanner.JobOutput? {
    await DriftIO.jobOutput(job, namespace: namespace, client: client)
  }
}

/// `edgeml diff --kubeconfig`: the controllers' planners run on the live cluster with the
/// manifest's objects in place of the live ones, and a unified diff between what the cluster holds
/// and what the controllers would then write (docs/validate.md §edgeml diff against a cluster).
///
/// *What is compared*, per resource of the manifest:
/// - the resource itself: its `spec` (live against the manifest, defaults filled in) and its
///   `status` (live against the one its controller would write);
/// - each object its controller would write: only the fields the controller's field manager owns
///   (its `managedFields` entry), so what the server, other controllers or people own — status,
///   defaults, `resourceVersion`, `uid`, timestamps — never shows; an object our manager has no
///   entry for is compared on the fields the plan sets. A router's HTTPRoute or TraefikService,
///   which the router edits in place, is compared on its `spec`;
/// - objects the controller would delete (pruned workloads, Jobs beyond the history limit).
///
/// *Caveats*: nothing is measured, scraped or queried: an analysis step, an A/B look or a drift
/// evaluation due now is named in the notes, and its outcome is not in the diff.
public struct LiveDiff: Sendable {
  public struct Result: Sendable {
    /// The unified diff, empty when nothing differs.
    public var diff: String
    /// Per resource: what its plan assumed or could not show.
    public var notes: [String]
    /// Documents compared, and how many of them differ.
    public var compared: Int
    public var differing: Int
  }

  public let reader: any ClusterReader
  public let builderImage: String
  public let builderImagesByL4T: [String: String]
  public let now: Timestamp

  public init(reader: any ClusterReader, builderImage: String, builderImagesByL4T: [String: String] = [:], now: Timestamp) {
    self.reader = reader
    self.builderImage = builderImage
    self.builderImagesByL4T = builderImagesByL4T
    self.now = now
  }

  static let kinds: [String: GroupVersionResource] = [EdgeModel.kind: EdgeModel.resource, Rollout.kind: Rollout.resource,
                                                      DriftPolicy.kind: DriftPolicy.resource]

  /// Plans and compares every EdgeModel, Rollout and DriftPolicy of `manifests` (stored forms,
  /// from `ManifestValidator`).
  /// - Throws: what the cluster answers other than 404, or a decoding error of a live object.
  public func run(manifests: [JSONValue]) async throws -> Result {
    var ours: [(resource: GroupVersionResource, stored: JSONValue, live: JSONValue?)] = []
    for object in manifests {
      guard let kind = object["kind"]?.stringValue, let resource = Self.kinds[kind] else { continue }
      let live = try await reader.get(resource, namespace: object.namespaceOrDefault, name: object.metadataName)
      ours.append((resource, object, live))
    }
    var view = ClusterView(reader: reader, planning: ours.map { planning($0.stored, live: $0.live) })
    // Rollouts first: the EdgeModel and DriftPolicy controllers then see each with the status its
    // controller would write (a changed candidate restarts at step 0 rather than looking finished).
    var plans: [Int: ResourcePlan] = [:]
    for kind in [Rollout.kind, EdgeModel.kind, DriftPolicy.kind] {
      for (index, object) in view.planning.enumerated() where object["kind"]?.stringValue == kind {
        switch kind {
        case Rollout.kind:
          let plan = try await planRollout(object, view: &view)
          view.planning[index]["status"] = plan.status
          plans[index] = plan
        case EdgeModel.kind: plans[index] = try await planModel(object, view: &view)
        default: plans[index] = try await planPolicy(object, view: &view)
        }
      }
    }
    var result = Result(diff: "", notes: [], compared: 0, differing: 0)
    for (index, entry) in ours.enumerated() {
      guard let plan = plans[index] else { continue }
      for note in plan.notes { result.notes.append("\(plan.kind) \(plan.namespace)/\(plan.name): \(note)") }
      let key = PlannedObject(resource: entry.resource, namespace: plan.namespace, name: plan.name, kind: plan.kind, object: nil,
                              write: .editSpec).key
      compare(key, live: entry.live.map(Self.resourceView), planned: plan.resource, into: &result)
      for planned in plan.objects {
        let live = try await reader.get(planned.resource, namespace: planned.resource.namespaced ? planned.namespace : nil, name: planned.name)
        compare(planned.key, live: live.map { Self.project($0, as: planned) }, planned: planned.object.map { Self.written($0, as: planned) },
                into: &result)
      }
    }
    return result
  }

  /// The object the controller would reconcile once the manifest is applied: the manifest's spec,
  /// metadata and labels over the live object's identity (uid, generation — one more when the spec
  /// changes —, creation time) and status; or, for an object not in the cluster, as created.
  func planning(_ stored: JSONValue, live: JSONValue?) -> JSONValue {
    guard let live else { return ManifestDiff.created(stored, now: now) }
    var object = stored
    for field in ["uid", "creationTimestamp", "resourceVersion"] {
      object[path: ["metadata", field]] = live[path: ["metadata", field]]
    }
    let generation = live[path: ["metadata", "generation"]]?.int64Value ?? 1
    object[path: ["metadata", "generation"]] = JSONValue(Int(generation) + (stored["spec"] == live["spec"] ? 0 : 1))
    object["status"] = live["status"]
    return object
  }

  func planModel(_ json: JSONValue, view: inout ClusterView) async throws -> ResourcePlan {
    let model = try EdgeModel(json: json)
    let namespace = json.namespaceOrDefault
    let name = json.metadataName
    let selector = "\(EdgeModelPlanner.Labels.model)=\(name),\(OperatorAssembly.managedSelector)"
    let pods = try await reader.list(.pods, namespace: namespace, labelSelector: selector).map(OperatorAssembly.cacheTransform(for: .pods))
    let nodes = try await view.nodes()
    var observed = ControllerPlans.ModelObserved(model: model, nodes: nodes, pods: pods)
    let operatorPods = try await view.operatorPods()
    observed.gpuTally = EdgeModelReconciler.gpuTally(operatorPods)
    observed.rollouts = try await view.referencing(Rollout.kind, model: name, namespace: namespace).map { try Rollout(json: $0) }
    observed.policies = try await view.referencing(DriftPolicy.kind, model: name, namespace: namespace).map { try DriftPolicy(json: $0) }
    for resource in ControllerPlans.prunedByModel {
      let objects = try await reader.list(resource, namespace: namespace, labelSelector: selector)
      observed.owned += objects.map { (resource, $0) }
      if resource == EdgeModelReconciler.daemonSets, model.spec.placement?.mode == .daemonSet {
        observed.daemonSets = objects.map(OperatorAssembly.cacheTransform(for: resource))
      }
    }
    return ControllerPlans.edgeModel(observed, builderImage: builderImage, builderImagesByL4T: builderImagesByL4T, now: now)
  }

  func planRollout(_ json: JSONValue, view: inout ClusterView) async throws -> ResourcePlan {
    let rollout = try Rollout(json: json)
    let namespace = json.namespaceOrDefault
    let modelName = rollout.spec.modelRef.name
    let model = try await view.find(EdgeModel.kind, name: modelName, namespace: namespace).map { try EdgeModel(json: $0) }
    var observed = ControllerPlans.RolloutObserved(rollout: rollout, model: model)
    observed.siblings = try await view.referencing(Rollout.kind, model: modelName, namespace: namespace).map { try Rollout(json: $0) }
    if let reference = RolloutRouting.router(rollout, model: model).observedObject {
      observed.routerObject = try await reader.get(reference.resource, namespace: namespace, name: reference.name)
    }
    return ControllerPlans.rollout(observed, now: now)
  }

  func planPolicy(_ json: JSONValue, view: inout ClusterView) async throws -> ResourcePlan {
    let policy = try DriftPolicy(json: json)
    let namespace = json.namespaceOrDefault
    let modelName = policy.spec.modelRef.name
    var observed = ControllerPlans.PolicyObserved(policy: policy)
    observed.model = try await view.find(EdgeModel.kind, name: modelName, namespace: namespace).map { try EdgeModel(json: $0) }
    let uid = policy.metadata.uid ?? ""
    observed.jobs = try await reader.list(DriftPolicyReconciler.jobs, namespace: namespace, labelSelector: OperatorAssembly.managedSelector)
      .filter { ($0[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).contains { $0["uid"]?.stringValue == uid } }
    observed.baseline = try await reader.get(.configMaps, namespace: namespace, name: DriftPolicyPlanner.baselineName(policy: json.metadataName))
    observed.rollouts = try await view.referencing(Rollout.kind, model: modelName, namespace: namespace)
    for job in DriftPolicyReconciler.unrecordedSucceededJobs(policy, jobs: observed.jobs) {
      if let output = await reader.jobOutput(job, namespace: namespace) { observed.jobOutputs[job] = output }
    }
    return ControllerPlans.driftPolicy(observed, now: now)
  }

  // MARK: comparing

  /// The resource as the diff shows it: identity, spec and status (metadata the server keeps is left out).
  static func resourceView(_ object: JSONValue) -> JSONValue {
    ["apiVersion": object["apiVersion"] ?? .null, "kind": object["kind"] ?? .null,
     "metadata": ["name": object[path: ["metadata", "name"]] ?? .null, "namespace": object[path: ["metadata", "namespace"]] ?? .null],
     "spec": object["spec"] ?? .null, "status": object["status"] ?? .null]
  }

  /// The fields of a live object the controller's write covers.
  static func project(_ live: JSONValue, as planned: PlannedObject) -> JSONValue {
    switch planned.write {
    case .apply(let manager):
      if let owned = OwnedFields.extract(live, manager: manager) { return owned }
      var shape = planned.object ?? ["spec": [:]]
      OwnedFields.identify(&shape, from: live)
      return OwnedFields.shaped(live, like: shape)
    case .editSpec:
      return specView(live)
    }
  }

  /// The planned object as compared: whole when applied, its spec when edited in place.
  static func written(_ object: JSONValue, as planned: PlannedObject) -> JSONValue {
    planned.write == .editSpec ? specView(object) : object
  }

  static func specView(_ object: JSONValue) -> JSONValue {
    var out: JSONValue = ["spec": object["spec"] ?? .null]
    OwnedFields.identify(&out, from: object)
    return out
  }

  func compare(_ key: String, live: JSONValue?, planned: JSONValue?, into result: inout Result) {
    result.compared += 1
    func shown(_ object: JSONValue?) -> String { object.map { YAML.emit(OwnedFields.withoutEmptyObjects($0), sortKeys: true) } ?? "" }
    let text = UnifiedDiff.render(old: shown(live), new: shown(planned), oldName: "live/\(key)", newName: "planned/\(key)")
    guard !text.isEmpty else { return }
    result.differing += 1
    result.diff += "diff -u -N live/\(key) planned/\(key)\n" + text
  }
}

/// The cluster as the controllers would see it once the manifest is applied: live EdgeModels,
/// Rollouts and DriftPolicies with the manifest's in their place, and the nodes and pods, each read
/// once.
struct ClusterView {
  let reader: any ClusterReader
  /// The manifest's objects as they would be reconciled (`LiveDiff.planning`); a Rollout's with
  /// its planned status once planned.
  var planning: [JSONValue]
  private var listed: [String: [JSONValue]] = [:]

  init(reader: any ClusterReader, planning: [JSONValue]) {
    self.reader = reader
    self.planning = planning
  }

  mutating func cached(_ key: String, _ read: () async throws -> [JSONValue]) async throws -> [JSONValue] {
    if let hit = listed[key] { return hit }
    let value = try await read()
    listed[key] = value
    return value
  }

  mutating func nodes() async throws -> [JSONValue] {
    let reader = reader
    return try await cached("nodes") { try await reader.list(.nodes, namespace: nil, labelSelector: nil).map(OperatorAssembly.cacheTransform(for: .nodes)) }
  }

  /// Every pod the operator manages, in every namespace (the GPUs they hold).
  mutating func operatorPods() async throws -> [JSONValue] {
    let reader = reader
    return try await cached("pods") {
      try await reader.list(.pods, namespace: nil, labelSelector: OperatorAssembly.managedSelector).map(OperatorAssembly.cacheTransform(for: .pods))
    }
  }

  /// The live objects of one of our kinds in a namespace, the manifest's replacing those of the same name.
  mutating func objects(_ kind: String, namespace: String) async throws -> [JSONValue] {
    guard let resource = LiveDiff.kinds[kind] else { return [] }
    let reader = reader
    let live = try await cached("\(kind)/\(namespace)") { try await reader.list(resource, namespace: namespace, labelSelector: nil) }
    let mine = planning.filter { $0["kind"]?.stringValue == kind && $0.namespaceOrDefault == namespace }
    let names = Set(mine.map(\.metadataName))
    return live.filter { !names.contains($0.metadataName) } + mine
  }

  mutating func find(_ kind: String, name: String, namespace: String) async throws -> JSONValue? {
    try await objects(kind, namespace: namespace).first { $0.metadataName == name }
  }

  /// Rollouts or DriftPolicies whose `spec.modelRef` names the model.
  mutating func referencing(_ kind: String, model: String, namespace: String) async throws -> [JSONValue] {
    try await objects(kind, namespace: namespace).filter { $0[path: ["spec", "modelRef", "name"]]?.stringValue == model }
  }
}
