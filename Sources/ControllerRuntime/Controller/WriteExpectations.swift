import Synchronization

/// A controller's own writes to its objects, remembered until its cache has seen them.
///
/// A reconcile ends as soon as its writes are accepted, but the cache learns of them only when the
/// watch brings them back. A second reconcile of the same key that starts in between (woken by an
/// owned object's change, or a requeue) would plan from the status its predecessor just replaced,
/// and repeat what that one did: a second scrape, a second Event, a second Job. client-go's
/// controllers guard the same window with `ControllerExpectations`
/// (k8s.io/kubernetes/pkg/controller/controller_utils.go: a controller does not sync a key while
/// the creations and deletions it made are not yet observed, and gives up waiting after a timeout,
/// `ExpectationsTimeout`, 5 minutes there).
///
/// Here the expectation is a resourceVersion: after a write that moved the object from `replaced`
/// to a new version, a reconcile whose cached copy is still at `replaced` is held back, and queued
/// again by the first change of that object the cache sees (`observed`). resourceVersions are only
/// compared for equality, never ordered (API conventions: they are opaque).
///
/// *Bounded*: one entry per object with a write not yet seen; a deletion, a newer copy or the
/// timeout ends it.
public final class WriteExpectations: Sendable {
  struct Entry {
    var replaced: String
    var at: ContinuousClock.Instant
    /// A reconcile was held back for this write: queue the key when it is seen.
    var waiting = false
    /// The cache has had a newer copy since the write (a reconcile that read the older one before
    /// it arrived must read again).
    var seen = false
  }

  /// What a reconcile should do with the copy it read from the cache.
  public enum Verdict: Sendable, Equatable {
    /// The copy is newer than every write of ours, or there was none: go on.
    case fresh
    /// The copy predates our last write, which the cache has not seen yet: stop; the key is queued
    /// again when the cache sees it.
    case wait
    /// The copy predates our last write, and the cache has a newer one now: read it again.
    case readAgain
  }

  private struct State {
    var entries: [String: Entry] = [:]
    /// Past this many entries, those seen and timed out are swept (a seen entry is kept only for a
    /// reconcile that may hold the older copy; one per object at most).
    var sweepAt = 64
  }
  private let state = Mutex(State())
  public let clock: any ControllerClock
  /// How long a write is waited for before a reconcile goes ahead on what the cache has.
  public let timeout: Duration

  public init(clock: any ControllerClock = SystemClock(), timeout: Duration = .seconds(30)) {
    self.clock = clock
    self.timeout = timeout
  }

  /// The object at `key`, cached at `replaced`, was written and is now at `written`. A write that
  /// changed nothing (same version) is nothing to wait for.
  public func wrote(_ key: String, replaced: String, written: String) {
    guard !replaced.isEmpty, !written.isEmpty, replaced != written else { return }
    let now = clock.now, timeout = self.timeout
    state.withLock { s in
      s.entries[key] = Entry(replaced: replaced, at: now)
      if s.entries.count >= s.sweepAt {
        s.entries = s.entries.filter { !$0.value.seen || now - $0.value.at <= timeout }
        s.sweepAt = max(64, 2 * s.entries.count)
      }
    }
  }

  /// Whether a reconcile of `key` may plan from a copy at `resourceVersion`.
  public func verdict(_ key: String, resourceVersion: String) -> Verdict {
    let now = clock.now
    return state.withLock { s in
      guard var entry = s.entries[key] else { return .fresh }
      if resourceVersion != entry.replaced || now - entry.at > timeout {
        s.entries[key] = nil
        return .fresh
      }
      if entry.seen {
        s.entries[key] = nil
        return .readAgain
      }
      entry.waiting = true
      s.entries[key] = entry
      return .wait
    }
  }

  /// The cache has a change of `key` (at `resourceVersion`; nil when deleted). Returns true when a
  /// reconcile was held back for it and the key must be queued again.
  public func observed(_ key: String, resourceVersion: String?) -> Bool {
    state.withLock { s in
      guard var entry = s.entries[key] else { return false }
      guard let resourceVersion else {
        s.entries[key] = nil
        return entry.waiting
      }
      guard resourceVersion != entry.replaced else { return false }
      if entry.waiting {
        s.entries[key] = nil
        return true
      }
      entry.seen = true
      s.entries[key] = entry
      return false
    }
  }

  /// Objects with a write the cache has not shown yet.
  public var pending: Int { state.withLock { $0.entries.values.filter { !$0.seen }.count } }
  /// Entries kept, seen or not.
  var count: Int { state.withLock { $0.entries.count } }
}
