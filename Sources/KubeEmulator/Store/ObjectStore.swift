import DequeModule
import KubeCore
import NIOConcurrencyHelpers

/// The kind of a change, as watch streams name it.
public enum WatchEventType: String, Sendable {
  case added = "ADDED", modified = "MODIFIED", deleted = "DELETED", bookmark = "BOOKMARK", error = "ERROR"
}

/// One committed change to one object.
public struct StoreEvent: Sendable {
  public var type: WatchEventType
  public var storageKey: String
  public var namespace: String
  public var object: JSONValue
  /// The object before the change (nil for ADDED), so selector watches can turn an update that
  /// leaves the selection into DELETED and one that enters it into ADDED.
  public var previous: JSONValue?
  public var resourceVersion: Int64
  /// `object` as stored (nil in watch history, whose versions are usually long replaced, and
  /// where kept encodings would crowd out those of current objects): every watcher serves the one
  /// encoding it makes.
  public var stored: StoredObject?
}

/// Receives committed events for one storage key; called with the store's lock held, so it must only
/// hand the event off (for example to a channel's event loop), never block or call back into the store.
public typealias StoreEventSink = @Sendable (StoreEvent) -> Void

/// The emulator's etcd: objects by resource and key, one global `resourceVersion` counter, a bounded
/// event history for watches, and the subscribers of those watches.
///
/// Guarantees: every committed write gets a strictly larger resourceVersion than the one before; a
/// watch started from version *v* receives every later event exactly once and in order (events are
/// handed to subscribers while the lock is held, so registration and delivery never interleave).
/// Caveats: history is bounded (`historyLimit` events); a watch or continue token older than the
/// oldest retained version gets 410 Gone, as kube-apiserver's watch cache answers after compaction.
public final class ObjectStore: @unchecked Sendable {
  // Safety: every mutable member is accessed only inside `lock.withLock` (see `transaction`/`read`).
  private let lock = NIOLock()
  private var state: State

  public init(historyLimit: Int = 20_000, initialResourceVersion: Int64 = 1) {
    state = State(historyLimit: historyLimit, currentRV: initialResourceVersion)
  }

  /// Runs `body` with exclusive access to the store; all writes inside it commit together.
  public func transaction<T>(_ body: (inout State) throws -> T) rethrows -> T {
    try lock.withLock { try body(&state) }
  }

  /// The newest committed resourceVersion.
  public var currentResourceVersion: Int64 { lock.withLock { state.currentRV } }

  public struct State {
    public internal(set) var currentRV: Int64
    var buckets: [String: [String: StoredObject]] = [:]
    var history: Deque<StoreEvent> = []
    let historyLimit: Int
    /// Events with a resourceVersion at or below this are gone from history.
    public internal(set) var compactedRV: Int64
    var subscribers: [String: [UInt64: StoreEventSink]] = [:]
    /// Set while the garbage collector runs, so deletions it makes do not start it again.
    var isCollectingGarbage = false
    /// Indexes the garbage collector uses instead of scanning every object (its own graph, like
    /// the upstream GC's dependency graph): uid → object, owner uid → dependents, objects being
    /// deleted, and objects whose owner disappeared since the last collection.
    var objectByUID: [String: ObjectRef] = [:]
    var dependentsByOwner: [String: Set<ObjectRef>] = [:]
    public internal(set) var deleting: Set<ObjectRef> = []
    var orphanCandidates: Set<ObjectRef> = []
    var nextSubscriberID: UInt64 = 1
    /// Objects by label: `storageKey`, namespace, label key and value (NUL-separated) → the objects'
    /// keys in their bucket. What a selector with an equality requirement reads instead of every
    /// object of the namespace (`objects(_:namespace:selector:where:)`).
    var byLabel: [String: Set<String>] = [:]
    /// What the stored objects' kept encodings may take, together (see `StoredObject`).
    let encodingBudget = EncodingBudget()

    init(historyLimit: Int, currentRV: Int64) {
      self.historyLimit = historyLimit
      self.currentRV = currentRV
      self.compactedRV = currentRV
    }

    static func key(_ namespace: String, _ name: String) -> String { namespace.isEmpty ? name : "\(namespace)/\(name)" }

    public func get(_ storageKey: String, namespace: String, name: String) -> JSONValue? {
      buckets[storageKey]?[State.key(namespace, name)]?.value
    }

    /// The stored version of an object, with its shared encoding.
    public func stored(_ storageKey: String, namespace: String, name: String) -> StoredObject? {
      buckets[storageKey]?[State.key(namespace, name)]
    }

    /// Objects of one resource, in key order (namespace, then name), optionally in one namespace.
    public func list(_ storageKey: String, namespace: String?) -> [JSONValue] {
      listStored(storageKey, namespace: namespace).map(\.value)
    }

    /// `list`, each object with its shared encoding.
    public func listStored(_ storageKey: String, namespace: String?) -> [StoredObject] {
      guard let bucket = buckets[storageKey] else { return [] }
      var keys: [String]
      if let namespace, !namespace.isEmpty {
        let prefix = namespace + "/"
        keys = bucket.keys.filter { $0.hasPrefix(prefix) }
      } else {
        keys = Array(bucket.keys)
      }
      keys.sort()
      return keys.compactMap { bucket[$0] }
    }

    /// The objects of `storageKey` (of `namespace`, when given) that `isIncluded` accepts, in no
    /// particular order: for in-process controllers that want a few objects of many, without the
    /// sorted copy of every key that `list` makes while the store is locked.
    public func objects(_ storageKey: String, namespace: String?, where isIncluded: (JSONValue) -> Bool) -> [JSONValue] {
      guard let bucket = buckets[storageKey] else { return [] }
      let prefix = namespace.map { $0.isEmpty ? "" : $0 + "/" } ?? ""
      var out: [JSONValue] = []
      for (key, stored) in bucket where (prefix.isEmpty || key.hasPrefix(prefix)) && isIncluded(stored.value) { out.append(stored.value) }
      return out
    }

    /// The objects of `storageKey` in `namespace` that `selector` matches and `isIncluded` accepts,
    /// in no particular order. A selector with an equality (or `in`) requirement reads only the
    /// objects carrying one of its values, through the label index — the requirement whose values
    /// have the fewest objects — so a controller of one PodDisruptionBudget among a thousand in a
    /// namespace does not read a thousand pods; any other selector reads the whole namespace.
    public func objects(_ storageKey: String, namespace: String, selector: LabelSelector,
                        where isIncluded: (JSONValue) -> Bool = { _ in true }) -> [JSONValue] {
      func matches(_ o: JSONValue) -> Bool { selector.matches(State.labels(of: o)) && isIncluded(o) }
      var narrowest: (postings: [Set<String>], size: Int)?
      for r in selector.requirements where [.equals, .doubleEquals, .in].contains(r.operator) {
        let postings = r.values.compactMap { byLabel[State.labelKey(storageKey, namespace, r.key, $0)] }
        let size = postings.reduce(0) { $0 + $1.count }
        if size < narrowest?.size ?? .max { narrowest = (postings, size) }
      }
      guard let narrowest = narrowest?.postings else { return objects(storageKey, namespace: namespace, where: matches) }
      guard let bucket = buckets[storageKey] else { return [] }
      var out: [JSONValue] = []
      for keys in narrowest {
        for key in keys { if let stored = bucket[key], matches(stored.value) { out.append(stored.value) } }
      }
      return out
    }

    static func labelKey(_ storageKey: String, _ namespace: String, _ key: String, _ value: String) -> String {
      "\(storageKey)\u{0}\(namespace)\u{0}\(key)\u{0}\(value)"
    }

    static func labels(of object: JSONValue?) -> [String: String] {
      guard let labels = object?[path: ["metadata", "labels"]]?.objectValue else { return [:] }
      var out: [String: String] = [:]
      for (k, v) in labels { if let v = v.stringValue { out[k] = v } }
      return out
    }

    public func count(_ storageKey: String) -> Int { buckets[storageKey]?.count ?? 0 }

    /// Every storage key that holds objects.
    public var storageKeys: [String] { Array(buckets.keys) }

    /// Stores `object` (which must carry metadata.name/namespace) with a new resourceVersion and
    /// records the event. Returns the stored object.
    @discardableResult
    public mutating func put(_ storageKey: String, _ object: JSONValue, type: WatchEventType) -> JSONValue {
      currentRV += 1
      var stored = object
      stored[path: ["metadata", "resourceVersion"]] = .string(String(currentRV))
      let namespace = stored[path: ["metadata", "namespace"]]?.stringValue ?? ""
      let name = stored[path: ["metadata", "name"]]?.stringValue ?? ""
      let key = State.key(namespace, name)
      let previous = buckets[storageKey]?[key]?.value
      let entry = StoredObject(stored, budget: encodingBudget)
      buckets[storageKey, default: [:]][key] = entry
      index(ObjectRef(storageKey: storageKey, namespace: namespace, name: name), old: previous, new: stored)
      record(StoreEvent(type: type, storageKey: storageKey, namespace: namespace, object: stored,
                        previous: previous, resourceVersion: currentRV, stored: entry))
      return stored
    }

    /// Removes an object; the DELETED event carries the object with a new resourceVersion, as etcd's
    /// delete revision does.
    @discardableResult
    public mutating func remove(_ storageKey: String, namespace: String, name: String) -> JSONValue? {
      let key = State.key(namespace, name)
      guard var object = buckets[storageKey]?.removeValue(forKey: key)?.value else { return nil }
      if buckets[storageKey]?.isEmpty == true { buckets[storageKey] = nil }
      index(ObjectRef(storageKey: storageKey, namespace: namespace, name: name), old: object, new: nil)
      let previous = object
      currentRV += 1
      object[path: ["metadata", "resourceVersion"]] = .string(String(currentRV))
      // Not kept by the store, but shared by the watchers of this DELETED event.
      record(StoreEvent(type: .deleted, storageKey: storageKey, namespace: namespace, object: object,
                        previous: previous, resourceVersion: currentRV, stored: StoredObject(object, budget: encodingBudget)))
      return object
    }

    /// Drops every object of a storage key (a deleted CRD's custom resources) with DELETED events.
    public mutating func removeAll(_ storageKey: String) {
      for object in list(storageKey, namespace: nil) {
        remove(storageKey, namespace: object[path: ["metadata", "namespace"]]?.stringValue ?? "",
               name: object[path: ["metadata", "name"]]?.stringValue ?? "")
      }
    }

    private static func uid(_ o: JSONValue?) -> String? { o?[path: ["metadata", "uid"]]?.stringValue }
    private static func owners(_ o: JSONValue?) -> [String] {
      (o?[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue }
    }

    private mutating func index(_ ref: ObjectRef, old: JSONValue?, new: JSONValue?) {
      if old?[path: ["metadata", "labels"]] != new?[path: ["metadata", "labels"]] {
        let before = State.labels(of: old), after = State.labels(of: new)
        let key = State.key(ref.namespace, ref.name)
        for (k, v) in before where after[k] != v {
          let label = State.labelKey(ref.storageKey, ref.namespace, k, v)
          byLabel[label]?.remove(key)
          if byLabel[label]?.isEmpty == true { byLabel[label] = nil }
        }
        for (k, v) in after where before[k] != v {
          byLabel[State.labelKey(ref.storageKey, ref.namespace, k, v), default: []].insert(key)
        }
      }
      if let u = State.uid(old), State.uid(new) != u {
        objectByUID[u] = nil
        // Everything this object owned may now be an orphan.
        for d in dependentsByOwner[u] ?? [] { orphanCandidates.insert(d) }
      }
      if let u = State.uid(new) { objectByUID[u] = ref }
      let before = Set(State.owners(old)), after = new == nil ? [] : Set(State.owners(new))
      for o in before.subtracting(after) {
        dependentsByOwner[o]?.remove(ref)
        if dependentsByOwner[o]?.isEmpty == true { dependentsByOwner[o] = nil }
      }
      for o in after.subtracting(before) {
        dependentsByOwner[o, default: []].insert(ref)
        if objectByUID[o] == nil { orphanCandidates.insert(ref) }
      }
      // A live owner dropped while only absent ones remain: garbage now too.
      if !before.subtracting(after).isEmpty, !after.isEmpty, after.allSatisfy({ objectByUID[$0] == nil }) {
        orphanCandidates.insert(ref)
      }
      if new?[path: ["metadata", "deletionTimestamp"]] != nil { deleting.insert(ref) } else { deleting.remove(ref) }
    }

    /// Whether an object with this uid exists.
    public func exists(uid: String) -> Bool { objectByUID[uid] != nil }

    /// The objects whose ownerReferences name this uid.
    public func dependents(of uid: String) -> [ObjectRef] { Array(dependentsByOwner[uid] ?? []).sorted { $0.description < $1.description } }

    public func get(_ ref: ObjectRef) -> JSONValue? { get(ref.storageKey, namespace: ref.namespace, name: ref.name) }

    /// Whether some object's owner disappeared, or an object was written naming an owner uid that
    /// does not exist, since the garbage collector last looked.
    var hasOrphanCandidates: Bool { !orphanCandidates.isEmpty }

    /// Takes the objects whose owner disappeared since the last call.
    mutating func takeOrphanCandidates() -> [ObjectRef] {
      defer { orphanCandidates = [] }
      return orphanCandidates.sorted { $0.description < $1.description }
    }

    private mutating func record(_ event: StoreEvent) {
      var kept = event
      kept.stored = nil
      history.append(kept)
      while history.count > historyLimit, let first = history.popFirst() {
        compactedRV = first.resourceVersion
      }
      if let sinks = subscribers[event.storageKey] {
        for sink in sinks.values { sink(event) }
      }
    }

    /// Forgets history up to the current version, so older watches and continue tokens get 410.
    public mutating func compact() {
      history.removeAll()
      compactedRV = currentRV
    }

    /// Events of one storage key after `resourceVersion`, or nil when that version is compacted away.
    public func events(_ storageKey: String, after resourceVersion: Int64) -> [StoreEvent]? {
      if resourceVersion < compactedRV { return nil }
      return history.filter { $0.storageKey == storageKey && $0.resourceVersion > resourceVersion }
    }

    /// Registers a subscriber for one storage key; returns its id for `unsubscribe`.
    public mutating func subscribe(_ storageKey: String, _ sink: @escaping StoreEventSink) -> UInt64 {
      let id = nextSubscriberID
      nextSubscriberID += 1
      subscribers[storageKey, default: [:]][id] = sink
      return id
    }

    public mutating func unsubscribe(_ storageKey: String, id: UInt64) {
      subscribers[storageKey]?[id] = nil
    }

    public var subscriberCount: Int { subscribers.values.reduce(0) { $0 + $1.count } }
  }
}

/// Where one object lives in the store.
public struct ObjectRef: Hashable, Sendable, CustomStringConvertible {
  public var storageKey: String
  public var namespace: String
  public var name: String
  public var description: String { "\(storageKey)|\(namespace)|\(name)" }
}
