import KubeCore

/// One resource the server serves, with what discovery says about it.
///
/// Built-in resources come from the upstream OpenAPI document (paths, scope, verbs, subresources,
/// `x-kubernetes-group-version-kind`) plus `BuiltinResourceTable` for what OpenAPI does not say;
/// custom resources come from their CustomResourceDefinition.
public struct APIResource: Sendable, Hashable {
  public var group: String
  public var version: String
  /// The plural, lower-case name used in URLs: `deployments`.
  public var resource: String
  public var kind: String
  public var listKind: String
  public var singularName: String
  public var namespaced: Bool
  public var verbs: [String]
  public var shortNames: [String] = []
  public var categories: [String] = []
  /// Subresource name → the kind it exchanges (`status` → `Deployment`, `scale` → autoscaling/v1 `Scale`).
  public var subresources: [String: Subresource] = [:]
  /// The OpenAPI definition name of the kind (`io.k8s.api.apps.v1.Deployment`), for built-ins.
  public var definitionName: String?
  /// True for resources served from a CustomResourceDefinition.
  public var isCustom = false
  /// True for resources an extension API server serves behind an APIService (`metrics.k8s.io`):
  /// in discovery and RBAC like any other, answered by a provider instead of the store.
  public var isAggregated = false
  /// Whether `metadata.generation` is maintained (bumped on spec changes).
  public var tracksGeneration = false
  /// A custom resource's `additionalPrinterColumns`.
  public var printerColumns: [PrinterColumn] = []

  /// One `additionalPrinterColumns` entry of a CRD version.
  public struct PrinterColumn: Sendable, Hashable {
    public var name: String
    public var type: String
    public var format: String
    public var description: String
    public var priority: Int
    public var jsonPath: String
  }

  public struct Subresource: Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String
    public var verbs: [String]
  }

  public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
  public var groupResource: GroupResource { GroupResource(group: group, resource: resource) }
  /// Storage key: objects are shared between versions of one group and resource, as in etcd.
  public var storageKey: String {
    // events.k8s.io Events are core Events seen through another version (EventConversion).
    if group == "events.k8s.io" && resource == "events" { return "/events" }
    return "\(group)/\(resource)"
  }
  /// True when stored objects are kept in another group's form and converted on the way in and out.
  var isConvertedEvents: Bool { group == "events.k8s.io" && resource == "events" }
  public var hasStatus: Bool { subresources["status"] != nil }

  /// The discovery `APIResource` entries for this resource and its subresources.
  func discoveryEntries() -> [JSONValue] {
    var main = JSONObject()
    main["name"] = .string(resource)
    main["singularName"] = .string(singularName)
    main["namespaced"] = .bool(namespaced)
    main["kind"] = .string(kind)
    main["verbs"] = .array(verbs.map { .string($0) })
    if !shortNames.isEmpty { main["shortNames"] = .array(shortNames.map { .string($0) }) }
    if !categories.isEmpty { main["categories"] = .array(categories.map { .string($0) }) }
    var entries: [JSONValue] = [.object(main)]
    for name in subresources.keys.sorted() {
      guard let sub = subresources[name] else { continue }
      var o = JSONObject()
      o["name"] = .string("\(resource)/\(name)")
      o["singularName"] = ""
      o["namespaced"] = .bool(namespaced)
      if sub.group != group || sub.version != version {
        o["group"] = .string(sub.group)
        o["version"] = .string(sub.version)
      }
      o["kind"] = .string(sub.kind)
      o["verbs"] = .array(sub.verbs.map { .string($0) })
      entries.append(.object(o))
    }
    return entries
  }
}

extension APIResource {
  /// How objects of this resource are served (`kind` and `apiVersion` around their members).
  var servedForm: ServedForm { ServedForm(kind: kind, groupVersion: groupVersion, isCustom: isCustom) }
}
