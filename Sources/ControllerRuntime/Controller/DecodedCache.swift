import KubeCore
import Synchronization

/// Objects of one type decoded from cached JSON, shared by the controllers that read them beside
/// their own primary: each version of an object is decoded once, not once per reconcile that looks
/// at it. (A Rollout is read by its own reconcile, by every reconcile of its EdgeModel and by those
/// of its sibling Rollouts; while 100 rollouts stepped, decoding them again took 7% of the
/// operator's CPU.)
///
/// *Guarantees*: an answer is the decoding of an object with the same uid and resourceVersion as
/// the one asked about, and a resourceVersion names one content of one object. Keyed by uid, so an
/// object deleted and created again under its name, or the objects of two clusters served in one
/// process, never share an entry. An object without a uid or resourceVersion (one built in a test)
/// is decoded every time.
///
/// *Bounded*: one entry per object, at most `limit`; past it the memo starts over (a decoded copy
/// of every object of a large fleet would sit in memory beside the cache's own copy for ever).
public final class DecodedCache<Object: Sendable>: Sendable {
  private let entries = Mutex<[String: (resourceVersion: String, object: Object)]>([:])
  public let limit: Int

  public init(limit: Int = 256) { self.limit = limit }

  /// `json` decoded by `decode`, or the object decoded from the same version before.
  public func object<Failure: Error>(_ json: JSONValue, decode: (JSONValue) throws(Failure) -> Object) throws(Failure) -> Object {
    let uid = json[path: ["metadata", "uid"]]?.stringValue ?? ""
    let rv = json[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
    guard !uid.isEmpty, !rv.isEmpty else { return try decode(json) }
    if let hit = entries.withLock({ $0[uid] }), hit.resourceVersion == rv { return hit.object }
    // Decoded outside the lock: two readers of a new version may both decode it, never wait.
    let object = try decode(json)
    entries.withLock {
      if $0.count >= limit, $0[uid] == nil { $0.removeAll(keepingCapacity: true) }
      $0[uid] = (rv, object)
    }
    return object
  }

  /// How many objects are remembered.
  public var count: Int { entries.withLock { $0.count } }
}
