import KubeCore

/// The objects of one resource as the reflector last saw them, keyed `namespace/name`, with indexes.
///
/// A cache and may be stale (kube-rs's words for its store): decisions made from it are checked by
/// the API server's optimistic concurrency when written.
public actor Store {
  public typealias IndexFunction = @Sendable (JSONValue) -> [String]
  private var items: [String: JSONValue] = [:]
  private var indexers: [String: IndexFunction] = [:]
  private var indexes: [String: [String: Set<String>]] = [:]
  /// Set after the first complete list.
  public private(set) var hasSynced = false
  public private(set) var resourceVersion = ""
  /// Counts changes to the contents: a consumer that derives something from every object (a view of
  /// all nodes, say) can skip the work while this stays the same.
  public private(set) var generation: UInt64 = 0

  public init(indexers: [String: IndexFunction] = [:]) {
    self.indexers = indexers
  }

  /// The default indexers: namespace, owner uid and node name (pods).
  public static let standardIndexers: [String: IndexFunction] = [
    "namespace": { [$0[path: ["metadata", "namespace"]]?.stringValue ?? ""] },
    "owner": { ($0[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue } },
    "nodeName": { $0[path: ["spec", "nodeName"]]?.stringValue.map { [$0] } ?? [] },
  ]

  public static func key(of object: JSONValue) -> String {
    let ns = object[path: ["metadata", "namespace"]]?.stringValue ?? ""
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    return ns.isEmpty ? name : "\(ns)/\(name)"
  }

  public func get(_ key: String) -> JSONValue? { items[key] }
  public func list() -> [JSONValue] { items.keys.sorted().compactMap { items[$0] } }
  public var count: Int { items.count }
  public var keys: [String] { items.keys.sorted() }

  /// Objects whose index `name` has `value`.
  public func byIndex(_ name: String, _ value: String) -> [JSONValue] {
    (indexes[name]?[value] ?? []).sorted().compactMap { items[$0] }
  }

  /// Replaces everything after a (re)list; returns the keys that changed or disappeared.
  @discardableResult
  public func replace(_ objects: [JSONValue], resourceVersion: String) -> [String] {
    var next: [String: JSONValue] = [:]
    for o in objects { next[Store.key(of: o)] = o }
    var changed: [String] = []
    for (k, v) in next where items[k] != v { changed.append(k) }
    for k in items.keys where next[k] == nil { changed.append(k) }
    items = next
    if !changed.isEmpty { generation &+= 1 }
    rebuildIndexes()
    self.resourceVersion = resourceVersion
    hasSynced = true
    return changed.sorted()
  }

  /// Applies one watch event; returns the key.
  @discardableResult
  public func apply(type: String, object: JSONValue) -> String {
    let key = Store.key(of: object)
    unindex(key)
    if type == "DELETED" { items[key] = nil } else { items[key] = object; index(key, object) }
    generation &+= 1
    if let rv = object[path: ["metadata", "resourceVersion"]]?.stringValue { resourceVersion = rv }
    return key
  }

  public func setResourceVersion(_ rv: String) { resourceVersion = rv }

  private func rebuildIndexes() {
    indexes = [:]
    for (k, v) in items { index(k, v) }
  }

  private func index(_ key: String, _ object: JSONValue) {
    for (name, f) in indexers { for value in f(object) { indexes[name, default: [:]][value, default: []].insert(key) } }
  }

  private func unindex(_ key: String) {
    guard let old = items[key] else { return }
    for (name, f) in indexers { for value in f(old) { indexes[name]?[value]?.remove(key) } }
  }
}
