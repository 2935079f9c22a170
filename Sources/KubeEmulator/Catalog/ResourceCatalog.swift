import KubeCore
import NIOConcurrencyHelpers

/// Every resource the server serves: the built-ins from the upstream OpenAPI document and the custom
/// resources of established CustomResourceDefinitions, which come and go at run time.
public final class ResourceCatalog: @unchecked Sendable {
  // Safety: `custom` is only touched under `lock`; `builtins` and the lookup tables are immutable.
  private let lock = NIOLock()
  public let builtins: [APIResource]
  private let builtinByPath: [String: APIResource]   // "group/version/resource"
  private var custom: [String: APIResource] = [:]    // "group/version/resource"
  /// Resources an extension API server would serve behind an APIService (`metrics.k8s.io`), by
  /// "group/version/resource"; answered by a provider, never stored.
  private var aggregated: [String: APIResource] = [:]
  /// Group name → (versions in order, preferred version), from the recorded `/apis`.
  private let groupOrder: [(name: String, versions: [String], preferred: String)]

  public init(documents: UpstreamDocuments) {
    // A default server serves only the group versions enabled by default (GA, plus betas that
    // predate the off-by-default rule); the recorded `/apis` of a real v1.36 server says which.
    var enabled: Set<String> = ["/v1"]
    for g in documents.apiGroupList["groups"]?.arrayValue ?? [] {
      for v in g["versions"]?.arrayValue ?? [] {
        enabled.insert("\(g["name"]?.stringValue ?? "")/\(v["version"]?.stringValue ?? "")")
      }
    }
    let resources = ResourceCatalog.buildBuiltins(swagger: documents.swagger).filter { enabled.contains("\($0.group)/\($0.version)") }
    builtins = resources
    var byPath: [String: APIResource] = [:]
    for r in resources { byPath["\(r.group)/\(r.version)/\(r.resource)"] = r }
    builtinByPath = byPath
    var order: [(String, [String], String)] = []
    for g in documents.apiGroupList["groups"]?.arrayValue ?? [] {
      guard let name = g["name"]?.stringValue else { continue }
      let versions = (g["versions"]?.arrayValue ?? []).compactMap { $0["version"]?.stringValue }
      let preferred = g["preferredVersion"]?["version"]?.stringValue ?? versions.first ?? "v1"
      order.append((name, versions, preferred))
    }
    // Groups served by the OpenAPI document but absent from the recording keep document order.
    var known = Set(order.map(\.0))
    for r in resources where !r.group.isEmpty && !known.contains(r.group) {
      let versions = Array(Set(resources.filter { $0.group == r.group }.map(\.version))).sorted(by: ResourceCatalog.versionPriority)
      order.append((r.group, versions, versions.first ?? r.version))
      known.insert(r.group)
    }
    groupOrder = order
  }

  /// Looks up a served resource by group, version and plural name.
  public func resource(group: String, version: String, resource: String) -> APIResource? {
    let key = "\(group)/\(version)/\(resource)"
    if let r = builtinByPath[key] { return r }
    return lock.withLock { custom[key] ?? aggregated[key] }
  }

  /// All served resources of one group version.
  public func resources(group: String, version: String) -> [APIResource] {
    var list = builtins.filter { $0.group == group && $0.version == version }
    list += lock.withLock {
      (Array(custom.values) + Array(aggregated.values)).filter { $0.group == group && $0.version == version }
    }
    return list.sorted { $0.resource < $1.resource }
  }

  /// Every stored resource (built-in and custom); aggregated ones, which hold no objects, are not listed.
  public func allResources() -> [APIResource] {
    builtins + lock.withLock { Array(custom.values) }
  }

  /// Finds the resource for a kind (used for owner references and events).
  public func resource(forKind kind: String, apiVersion: String) -> APIResource? {
    let (group, version) = splitAPIVersion(apiVersion)
    return allResources().first { $0.group == group && $0.version == version && $0.kind == kind }
  }

  /// Serves the resources of a custom resource definition (replacing what it served before).
  public func setCustomResources(_ resources: [APIResource], forCRD crdName: String) {
    lock.withLock {
      custom = custom.filter { $0.value.crdName != crdName }
      for r in resources { custom["\(r.group)/\(r.version)/\(r.resource)"] = r }
    }
  }

  public func removeCustomResources(forCRD crdName: String) {
    lock.withLock { custom = custom.filter { $0.value.crdName != crdName } }
  }

  /// Serves `resources` (all of one group) in discovery as an aggregated API, replacing what that
  /// group served before; an empty list takes the group out of discovery, as kube-aggregator drops
  /// the group of an APIService that is not available.
  public func setAggregatedResources(_ resources: [APIResource], group: String) {
    lock.withLock {
      aggregated = aggregated.filter { $0.value.group != group }
      for var r in resources where r.group == group {
        r.isAggregated = true
        aggregated["\(r.group)/\(r.version)/\(r.resource)"] = r
      }
    }
  }

  // MARK: Discovery documents

  /// `GET /api`.
  public func apiVersions(serverAddress: String) -> JSONValue {
    ["kind": "APIVersions", "versions": ["v1"],
     "serverAddressByClientCIDRs": [["clientCIDR": "0.0.0.0/0", "serverAddress": .string(serverAddress)]]]
  }

  /// The groups currently served, in the order of a real server followed by custom groups.
  func servedGroups() -> [(name: String, versions: [String], preferred: String)] {
    var result = groupOrder.filter { g in builtins.contains { $0.group == g.name } }
    let customResources = lock.withLock { Array(custom.values) }
    var customGroups: [String: [String]] = [:]
    var groupSequence: [String] = []
    for r in customResources.sorted(by: { $0.group < $1.group }) {
      if customGroups[r.group] == nil { groupSequence.append(r.group) }
      if !(customGroups[r.group]?.contains(r.version) ?? false) { customGroups[r.group, default: []].append(r.version) }
    }
    for g in groupSequence {
      let versions = (customGroups[g] ?? []).sorted(by: ResourceCatalog.versionPriority)
      if let i = result.firstIndex(where: { $0.name == g }) {
        let merged = result[i].versions + versions.filter { !result[i].versions.contains($0) }
        result[i] = (g, merged, result[i].preferred)
      } else {
        result.append((g, versions, versions.first ?? "v1"))
      }
    }
    // Aggregated groups last: an APIService's groupPriorityMinimum orders /apis, and metrics-server's
    // is 100 (k3s-io/k3s manifests/metrics-server/metrics-apiservice.yaml), below every built-in
    // group and the 1000 a CRD's group gets.
    let aggregatedResources = lock.withLock { Array(aggregated.values) }
    for group in Set(aggregatedResources.map(\.group)).sorted() where !result.contains(where: { $0.name == group }) {
      let versions = Array(Set(aggregatedResources.filter { $0.group == group }.map(\.version))).sorted(by: ResourceCatalog.versionPriority)
      result.append((group, versions, versions.first ?? "v1"))
    }
    return result
  }

  /// `GET /apis`.
  public func apiGroupList() -> JSONValue {
    let groups: [JSONValue] = servedGroups().map { g in
      ["name": .string(g.name),
       "versions": .array(g.versions.map { v in ["groupVersion": .string("\(g.name)/\(v)"), "version": .string(v)] }),
       "preferredVersion": ["groupVersion": .string("\(g.name)/\(g.preferred)"), "version": .string(g.preferred)]]
    }
    return ["kind": "APIGroupList", "apiVersion": "v1", "groups": .array(groups)]
  }

  /// `GET /apis/GROUP`.
  public func apiGroup(_ name: String) -> JSONValue? {
    guard let g = servedGroups().first(where: { $0.name == name }) else { return nil }
    return ["kind": "APIGroup", "apiVersion": "v1", "name": .string(g.name),
            "versions": .array(g.versions.map { v in ["groupVersion": .string("\(g.name)/\(v)"), "version": .string(v)] }),
            "preferredVersion": ["groupVersion": .string("\(g.name)/\(g.preferred)"), "version": .string(g.preferred)]]
  }

  /// `GET /api/v1` or `GET /apis/GROUP/VERSION`; nil when the group version is not served.
  public func apiResourceList(group: String, version: String) -> JSONValue? {
    let list = resources(group: group, version: version)
    guard !list.isEmpty else { return nil }
    let gv = group.isEmpty ? version : "\(group)/\(version)"
    return ["kind": "APIResourceList", "apiVersion": "v1", "groupVersion": .string(gv),
            "resources": .array(list.flatMap { $0.discoveryEntries() })]
  }

  // MARK: Building from OpenAPI

  /// Kubernetes version priority: GA before beta before alpha, higher numbers first
  /// (k8s.io/apimachinery/pkg/version/helpers.go `CompareKubeAwareVersionStrings`).
  static func versionPriority(_ a: String, _ b: String) -> Bool {
    func parts(_ v: String) -> (major: Int, stage: Int, minor: Int)? {
      guard v.hasPrefix("v") else { return nil }
      let body = v.dropFirst()
      let digits = body.prefix { $0.isNumber }
      guard let major = Int(digits) else { return nil }
      let rest = body.dropFirst(digits.count)
      if rest.isEmpty { return (major, 3, 0) }
      if rest.hasPrefix("beta"), let m = Int(rest.dropFirst(4)) { return (major, 2, m) }
      if rest.hasPrefix("alpha"), let m = Int(rest.dropFirst(5)) { return (major, 1, m) }
      return nil
    }
    switch (parts(a), parts(b)) {
    case let (x?, y?):
      if x.stage != y.stage { return x.stage > y.stage }
      if x.major != y.major { return x.major > y.major }
      return x.minor > y.minor
    case (_?, nil): return true
    case (nil, _?): return false
    default: return a < b
    }
  }

  static func buildBuiltins(swagger: JSONValue) -> [APIResource] {
    // GVK → definition name
    var definitionByGVK: [String: String] = [:]
    for (name, def) in swagger["definitions"]?.objectValue ?? JSONObject() {
      for gvk in def["x-kubernetes-group-version-kind"]?.arrayValue ?? [] {
        let key = "\(gvk["group"]?.stringValue ?? "")/\(gvk["version"]?.stringValue ?? "")/\(gvk["kind"]?.stringValue ?? "")"
        // Prefer the definition in the resource's own package over shared copies.
        if definitionByGVK[key] == nil || !name.hasPrefix("io.k8s.apimachinery") { definitionByGVK[key] = name }
      }
    }
    var byKey: [String: APIResource] = [:]
    var order: [String] = []
    let verbForAction = ["get": "get", "list": "list", "post": "create", "put": "update", "patch": "patch",
                         "delete": "delete", "deletecollection": "deletecollection"]
    for (path, item) in swagger["paths"]?.objectValue ?? JSONObject() {
      var segments = path.split(separator: "/").map(String.init)
      let group: String
      let version: String
      if segments.first == "api", segments.count >= 2 {
        group = ""; version = segments[1]; segments.removeFirst(2)
      } else if segments.first == "apis", segments.count >= 3 {
        group = segments[1]; version = segments[2]; segments.removeFirst(3)
      } else { continue }
      if segments.first == "watch" || segments.isEmpty { continue }
      var namespaced = false
      if segments.count >= 3, segments[0] == "namespaces", segments[1] == "{namespace}" {
        namespaced = true
        segments.removeFirst(2)
      }
      let resourceName = segments[0]
      let subresource: String? = segments.count == 3 && segments[1] == "{name}" ? segments[2] : nil
      if segments.count > 3 || (segments.count == 2 && segments[1] != "{name}") { continue }
      for (method, op) in item.objectValue ?? JSONObject() where method != "parameters" {
        guard let action = op["x-kubernetes-action"]?.stringValue,
              let gvk = op["x-kubernetes-group-version-kind"] else { continue }
        let kind = gvk["kind"]?.stringValue ?? ""
        let key = "\(group)/\(version)/\(resourceName)"
        if let subresource {
          guard var r = byKey[key] ?? placeholder(group, version, resourceName) else { continue }
          var sub = r.subresources[subresource] ?? APIResource.Subresource(
            group: gvk["group"]?.stringValue ?? "", version: gvk["version"]?.stringValue ?? "", kind: kind, verbs: [])
          if let verb = verbForAction[action], !sub.verbs.contains(verb) { sub.verbs.append(verb) }
          if action == "connect" && sub.verbs.isEmpty { sub.verbs = ["get"] }
          r.subresources[subresource] = sub
          if byKey[key] == nil { order.append(key) }
          byKey[key] = r
        } else {
          var r = byKey[key] ?? placeholder(group, version, resourceName)!
          if r.kind.isEmpty { r.kind = kind }
          r.namespaced = r.namespaced || namespaced
          if let verb = verbForAction[action], !r.verbs.contains(verb) { r.verbs.append(verb) }
          if action == "list", !r.verbs.contains("watch") { r.verbs.append("watch") }
          if byKey[key] == nil { order.append(key) }
          byKey[key] = r
        }
      }
    }
    var result: [APIResource] = []
    let verbOrder = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    for key in order {
      guard var r = byKey[key], !r.kind.isEmpty else { continue }
      if r.listKind.isEmpty { r.listKind = r.kind + "List" }
      r.singularName = r.kind.lowercased()
      r.verbs.sort { (verbOrder.firstIndex(of: $0) ?? 99) < (verbOrder.firstIndex(of: $1) ?? 99) }
      let gr = "\(r.group)/\(r.resource)"
      r.shortNames = BuiltinResourceTable.shortNames[gr] ?? []
      r.categories = BuiltinResourceTable.categories[gr] ?? []
      r.tracksGeneration = BuiltinResourceTable.tracksGeneration.contains(gr)
      r.definitionName = definitionByGVK["\(r.group)/\(r.version)/\(r.kind)"]
      result.append(r)
    }
    return result.sorted { ($0.group, $0.version, $0.resource) < ($1.group, $1.version, $1.resource) }
  }

  private static func placeholder(_ group: String, _ version: String, _ resource: String) -> APIResource? {
    APIResource(group: group, version: version, resource: resource, kind: "", listKind: "", singularName: "",
                namespaced: false, verbs: [])
  }
}

extension APIResource {
  /// The name of the CRD that defines this resource (`resource.group`), or nil for built-ins.
  var crdName: String? { isCustom ? "\(resource).\(group)" : nil }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (``, `v1`).
public func splitAPIVersion(_ apiVersion: String) -> (group: String, version: String) {
  if let slash = apiVersion.lastIndex(of: "/") {
    return (String(apiVersion[..<slash]), String(apiVersion[apiVersion.index(after: slash)...]))
  }
  return ("", apiVersion)
}
