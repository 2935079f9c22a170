import KubeClient
import KubeCore

/// Shifts traffic with an ingress-nginx canary Ingress beside the user's Ingress, which it never modifies.
///
/// ## What it writes
/// One Ingress `<ingress>-edgeml-canary`, owned by the Rollout (its ownerReferences come in
/// `RouteWeights`): the hosts and paths of the user's Ingress that send to the stable Service, sending
/// to the candidate Service instead, and the class of the user's Ingress. Its annotations, each as
/// ingress-nginx documents it (docs/user-guide/nginx-configuration/annotations.md, "Canary"):
/// - `nginx.ingress.kubernetes.io/canary: "true"`: the other canary annotations only apply once it is set;
/// - `canary-weight`: "the integer based (0 - <weight-total>) percent of random requests that should be
///   routed to the service specified in the canary Ingress", with the total defaulting to 100;
/// - `canary-by-header` and `canary-by-header-value`: requests whose header equals the value go to the
///   canary; the value "has to be used together with" the header annotation;
/// - `canary-by-cookie`: a cookie whose value `always` routes to the canary and `never` never does.
/// The same page says header beats cookie beats weight, that a canary Ingress inherits all other
/// annotations from the main Ingress, and that "a maximum of one canary ingress can be applied per
/// Ingress rule": do not run a second canary tool on the same Ingress.
///
/// ## Field ownership
/// The canary Ingress is ours alone, so it is written by server-side apply as `TrafficRouting.fieldManager`
/// (forcing, so a stray edit of our fields is undone); `reset` deletes it. The user's Ingress is only read.
public struct NginxCanaryRouter: TrafficRouter {
  /// The user's Ingress, in the Rollout's namespace.
  public var ingress: String
  var editor = ObjectEditor(resource: .ingresses, kind: "Ingress", reads: [])

  public init(ingress: String) { self.ingress = ingress }

  /// The canary Ingress's name.
  public var canaryName: String { "\(ingress)-edgeml-canary" }

  static let prefix = "nginx.ingress.kubernetes.io/"

  public var observedObject: RouterObjectReference? { RouterObjectReference(resource: .ingresses, kind: "Ingress", name: ingress) }

  /// The canary Ingress from the user's Ingress (`observed`), or its deletion on reset.
  public func plannedObject(_ route: RouteWeights, reset: Bool, observed: JSONValue) throws -> RouterObjectPlan? {
    guard !reset else { return RouterObjectPlan(resource: .ingresses, name: canaryName, object: nil, isApplied: true) }
    try route.validate()
    let object = try Self.canary(of: observed, route: route, ingress: ingress, name: canaryName)
    return RouterObjectPlan(resource: .ingresses, name: canaryName, object: object, isApplied: true)
  }

  public func setWeights(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    try route.validate()
    let stable = try await editor.get(namespace: route.namespace, name: ingress, client: client)
    let desired = try Self.canary(of: stable, route: route, ingress: ingress, name: canaryName)
    let current = try? await client.get(.ingresses, namespace: route.namespace, name: canaryName)
    let written: Bool
    if let current, Self.holds(current, desired) {
      written = false
    } else {
      _ = try await client.patch(.ingresses, namespace: route.namespace, name: canaryName, desired,
                                 type: .apply(fieldManager: TrafficRouting.fieldManager, force: true), projection: .nothing)
      written = true
    }
    let extra = route.match == nil ? "" : ", matching requests to the candidate"
    return RouterReport(router: .nginx, object: "Ingress \(route.namespace)/\(canaryName)", candidateWeight: route.candidateWeight,
                        written: written,
                        message: "Ingress \(route.namespace)/\(canaryName) sends \(route.candidateWeight)% to \(route.candidateService)\(extra)")
  }

  public func reset(_ route: RouteWeights, client: KubeClient) async throws -> RouterReport {
    var written = true
    do { try await client.delete(.ingresses, namespace: route.namespace, name: canaryName) } catch let error as KubeAPIError where error.isNotFound {
      written = false
    }
    return RouterReport(router: .nginx, object: "Ingress \(route.namespace)/\(canaryName)", candidateWeight: 0, written: written,
                        message: "Ingress \(route.namespace)/\(ingress) alone routes, to \(route.stableService)")
  }

  /// The canary Ingress for `route`, from the user's Ingress: a pure function.
  /// - Throws: `TrafficRouterError.stableServiceNotReferenced` when no path of `stable` sends to the stable Service.
  static func canary(of stable: JSONValue, route: RouteWeights, ingress: String, name: String) throws -> JSONValue {
    var rules: [JSONValue] = []
    for rule in stable[path: ["spec", "rules"]]?.arrayValue ?? [] {
      let paths = (rule[path: ["http", "paths"]]?.arrayValue ?? []).compactMap { path -> JSONValue? in
        guard path[path: ["backend", "service", "name"]]?.stringValue == route.stableService else { return nil }
        var path = path
        path[path: ["backend", "service", "name"]] = .string(route.candidateService)
        if let port = route.port { path[path: ["backend", "service", "port"]] = ["number": JSONValue(port)] }
        return path
      }
      guard !paths.isEmpty else { continue }
      var copy: JSONValue = ["http": ["paths": .array(paths)]]
      if let host = rule["host"] { copy["host"] = host }
      rules.append(copy)
    }
    guard !rules.isEmpty else {
      throw TrafficRouterError.stableServiceNotReferenced(kind: "Ingress", namespace: route.namespace, name: ingress, service: route.stableService)
    }
    var annotations: JSONObject = [Self.prefix + "canary": "true", Self.prefix + "canary-weight": .string(String(route.candidateWeight))]
    switch route.match {
    case .header(let header, let value)?:
      annotations[Self.prefix + "canary-by-header"] = .string(header)
      annotations[Self.prefix + "canary-by-header-value"] = .string(value)
    case .cookie(let cookie)?:
      annotations[Self.prefix + "canary-by-cookie"] = .string(cookie)
    case nil: break
    }
    // An Ingress may still name its class by the annotation that preceded spec.ingressClassName.
    if let legacyClass = stable[path: ["metadata", "annotations", "kubernetes.io/ingress.class"]] {
      annotations["kubernetes.io/ingress.class"] = legacyClass
    }
    var metadata: JSONValue = ["name": .string(name), "namespace": .string(route.namespace),
                               "labels": ["edgeml.io/rollout": .string(route.rolloutName)], "annotations": .object(annotations)]
    if !route.ownerReferences.isEmpty { metadata["ownerReferences"] = .array(route.ownerReferences.map(\.json)) }
    var spec: JSONValue = ["rules": .array(rules)]
    if let className = stable[path: ["spec", "ingressClassName"]] { spec["ingressClassName"] = className }
    return ["apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec]
  }

  /// Whether `current` already holds everything `desired` says, so applying it would change nothing.
  static func holds(_ current: JSONValue, _ desired: JSONValue) -> Bool {
    let annotations = current[path: ["metadata", "annotations"]]?.objectValue ?? [:]
    let ours = annotations.filter { $0.0.hasPrefix(Self.prefix) || $0.0 == "kubernetes.io/ingress.class" }
    return JSONObject(ours.map { ($0.0, $0.1) }) == desired[path: ["metadata", "annotations"]]?.objectValue
      && current[path: ["metadata", "labels", "edgeml.io/rollout"]] == desired[path: ["metadata", "labels", "edgeml.io/rollout"]]
      && (current[path: ["metadata", "ownerReferences"]] ?? []) == (desired[path: ["metadata", "ownerReferences"]] ?? [])
      && current["spec"] == desired["spec"]
  }
}
