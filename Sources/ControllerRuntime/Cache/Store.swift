import KubeCore

/// One change of a cached object: its key, the object before and after (nil when absent).
///
/// Event handlers receive it (client-go's `OnAdd`/`OnUpdate(old, new)`/`OnDelete` in one value), so
/// no consumer keeps its own copy of "what was there before".
public struct ObjectChange: Sendable {
  public var key: String
  public var old: JSONValue?
  public var new: JSONValue?
  public init(key: String, old: JSONValue?, new: JSONValue?) {
    self.key = key
    self.old = old
    self.new = new
  }
  /// The object as it is now, or as it was last seen when it was deleted.
  public var latest: JSONValue? { new ?? old }
  public var isDelete: Bool { new == nil }

  /// Whether the object is as it was but for `metadata.resourceVersion`: a write to a part the
  /// cache does not keep (a Deployment's or PodDisruptionBudget's status cached as metadata only, a
  /// pod's container statuses), or a write that changed nothing. No handler can see a difference,
  /// so none is woken (controller-runtime's `ResourceVersionChangedPredicate` is the opposite
  /// filter; this one is what its generation and label predicates amount to for a trimmed cache).
  public var changesOnlyResourceVersion: Bool {
    guard case .object(let before)? = old, case .object(let after)? = new, before.count == after.count else { return false }
    for (name, value) in after {
      guard let previous = before[name] else { return false }
      if name == "metadata", case .object(let m) = value, case .object(let pm) = previous {
        guard m.count == pm.count else { return false }
        for (field, v) in m where field != "resourceVersion" && pm[field] != v { return false }
      } else if previous != value {
        return false
      }
    }
    return true
  }
}

/// The objects of one resource as the reflector last saw them, keyed `namespace/name`, with indexes.
///
/// A cache and may be stale (kube-rs's words for its store): decisions made from it are checked by
/// the API server's optimistic concurrency when written.
public actor Store {
  public typealias IndexFunction = @Sendable (JSONValue) -> [String]
  private var items: [String: JSONValue] = [:]
  private var indexers: [String: IndexFunction] = [:]
  private var indexes: [String: [String: Set<String>]] = [:]
  /// Objects holding a copy published from one of our own writes (`publish`) that the watch has
  /// not brought yet: the version published, and the versions known to be older (the one it
  /// replaced, and those of the watch events of that key set aside meanwhile).
  private struct Published {
    var resourceVersion: String
    var older: Set<String>
  }
  private var published: [String: Published] = [:]
  /// Past this many events of one key set aside, the published copy is given up and the watch's
  /// copies are taken again (a guard: in order, the watch brings the published version after at
  /// most the few writes that came before it).
  static let setAsideLimit = 16
  /// Fired after the first complete list.
  public nonisolated let synced = Signal()
  /// Whether the first complete list is in.
  public nonisolated var hasSynced: Bool { synced.isFired }
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

  /// Replaces everything after a (re)list (swapped in whole: readers never see half a list);
  /// returns the objects that changed, appeared or disappeared, in key order.
  @discardableResult
  public func replace(_ objects: [JSONValue], resourceVersion: String) -> [ObjectChange] {
    var next: [String: JSONValue] = [:]
    next.reserveCapacity(objects.count)
    for o in objects { next[Store.key(of: o)] = o }
    // A list is the server's state when it was read, which may be before one of our writes was
    // answered (a relist after 410 Gone takes a while): a listed copy known to be older than the
    // published one leaves the published one in place, still waiting for the watch. Any other
    // listed copy (ours, or one we cannot place) is taken, and the wait ends.
    var stillPublished: [String: Published] = [:]
    for (k, p) in published {
      guard let listed = next[k], let rv = listed[path: ["metadata", "resourceVersion"]]?.stringValue, p.older.contains(rv),
            let ours = items[k] else { continue }
      next[k] = ours
      stillPublished[k] = p
    }
    var changed: [ObjectChange] = []
    for (k, v) in next where items[k] != v { changed.append(ObjectChange(key: k, old: items[k], new: v)) }
    for (k, v) in items where next[k] == nil { changed.append(ObjectChange(key: k, old: v, new: nil)) }
    items = next
    published = stillPublished
    if !changed.isEmpty { generation &+= 1 }
    rebuildIndexes()
    self.resourceVersion = resourceVersion
    synced.fire()
    return changed.sorted { $0.key < $1.key }
  }

  /// Applies one watch event; returns the change it made.
  ///
  /// While a published copy of the key waits for the watch (`publish`), an event of another
  /// version is older than it (the watch brings a resource's versions in order) and is set aside:
  /// the change returned then has the same object before and after. A deletion is always applied.
  @discardableResult
  public func apply(type: String, object: JSONValue) -> ObjectChange {
    let key = Store.key(of: object)
    let old = items[key]
    let version = object[path: ["metadata", "resourceVersion"]]?.stringValue
    if let waiting = published[key], type != "DELETED", let version, version != waiting.resourceVersion,
       waiting.older.count <= Self.setAsideLimit {
      resourceVersion = version
      published[key]?.older.insert(version)
      return ObjectChange(key: key, old: old, new: old)
    }
    // Our published version itself (the same object as published, so no handler sees a change),
    // a deletion, or anything once nothing waits.
    published[key] = nil
    unindex(key)
    // Not `nil` in a conditional: JSONValue is ExpressibleByNilLiteral, and would store `.null`.
    let new: JSONValue? = type == "DELETED" ? Optional<JSONValue>.none : .some(object)
    if let new {
      items[key] = new
      index(key, new)
    } else {
      items.removeValue(forKey: key)
    }
    generation &+= 1
    if let version { resourceVersion = version }
    return ObjectChange(key: key, old: type == "DELETED" ? (old ?? object) : old, new: new)
  }

  /// Puts `object`, as one of our own writes returned it, in place of the copy that write replaced,
  /// before the watch brings it (client-go's `MutationCache` serves the same purpose, but orders
  /// resourceVersions as integers; here they are only compared for equality, as the API
  /// conventions require).
  ///
  /// Only when the cached copy is still at `replaced`: the watch has then brought nothing of this
  /// object since the copy that was read, so every event of it before our version is older and is
  /// set aside by `apply`, until our version itself arrives. A cache that moved on meanwhile keeps
  /// what it has (it cannot tell whether its copy is older or newer than ours).
  ///
  /// - Returns: the change made, or nil when nothing was published.
  public func publish(_ object: JSONValue, replacing replaced: String) -> ObjectChange? {
    let key = Store.key(of: object)
    guard let version = object[path: ["metadata", "resourceVersion"]]?.stringValue, !replaced.isEmpty, version != replaced,
          let old = items[key], old[path: ["metadata", "resourceVersion"]]?.stringValue == replaced else { return nil }
    unindex(key)
    items[key] = object
    index(key, object)
    generation &+= 1
    published[key] = Published(resourceVersion: version, older: [replaced])
    return ObjectChange(key: key, old: old, new: object)
  }

  /// Keys holding a published copy the watch has not brought yet.
  public var publishedCount: Int { published.count }

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
