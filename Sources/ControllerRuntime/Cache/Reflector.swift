import KubeClient
import KubeCore
import Synchronization

/// Keeps a `Store` equal to the server's state of one resource: list, then watch from the list's
/// resourceVersion, resume from the last seen version (bookmarks included) when a watch ends, and
/// relist on 410 Gone. Errors back off exponentially with jitter, so a broken server never turns
/// into a hot loop (client-go tools/cache/reflector.go; kube-rs runtime watcher.rs).
public struct Reflector: Sendable {
  public let client: KubeClient
  public let resource: GroupVersionResource
  public let namespace: String?
  public let labelSelector: String?
  public let store: Store
  /// Server-side watch timeout per request (client-go picks 5–10 minutes).
  public var watchTimeoutSeconds = 300
  public var initialBackoff: Duration = .milliseconds(800)
  /// A function applied to every object before it enters a store: client-go's `TransformFunc`
  /// (`SharedInformer.SetTransform`), kube-rs's `Event::modify`.
  ///
  /// *Assumptions*: it is deterministic and keeps `metadata.namespace`, `metadata.name` and
  /// `metadata.resourceVersion`. The store keys objects by the first two, and a relist compares the
  /// transformed objects it gets with the transformed objects it holds, so an unchanged object must
  /// come out the same every time.
  public typealias TransformFunction = @Sendable (JSONValue) -> JSONValue

  /// Applied to every listed and watched object before the store sees it; nil keeps objects as the
  /// server sent them. Shrink objects before caching them: what a controller never reads still costs
  /// memory for every cached object.
  public var transform: TransformFunction? = nil
  /// What to build of each listed and watched object as it is parsed (`.all`: everything). It may
  /// leave out only what `transform` removes anyway: it saves building what would be thrown away,
  /// and the transform still runs on what is left.
  public var projection: JSONProjection = .all
  public var maxBackoff: Duration = .seconds(30)
  /// What backoffs wait on.
  public var clock: any ControllerClock = SystemClock()
  /// Picks the fraction of a backoff actually waited, in 0.5...1 (jitter); replaceable in tests.
  public var jitter: @Sendable () -> Double = { Double.random(in: 0.5...1.0) }

  public init(client: KubeClient, resource: GroupVersionResource, namespace: String? = nil, labelSelector: String? = nil, store: Store) {
    self.client = client
    self.resource = resource
    self.namespace = namespace
    self.labelSelector = labelSelector
    self.store = store
  }

  /// Counters a test or a metrics endpoint can read from any task while the reflector runs.
  public final class Stats: Sendable {
    public struct Counts: Sendable, Equatable {
      public var lists = 0
      public var watches = 0
      public var relistsAfterGone = 0
      public var errors = 0
      /// The backoffs waited after errors, in order (what a test of the backoff reads).
      public var backoffs: [Duration] = []
    }
    private let counts = Mutex(Counts())
    public init() {}
    public var snapshot: Counts { counts.withLock { $0 } }
    public var lists: Int { snapshot.lists }
    public var watches: Int { snapshot.watches }
    public var relistsAfterGone: Int { snapshot.relistsAfterGone }
    public var errors: Int { snapshot.errors }
    func update(_ body: (inout Counts) -> Void) { counts.withLock { body(&$0) } }
  }

  /// Runs until cancelled, calling `onChange` with every change it makes to the store.
  public func run(stats: Stats = Stats(), onChange: @Sendable (ObjectChange) async -> Void) async throws {
    var backoff = initialBackoff
    var resourceVersion: String? = nil
    while true {
      try Task.checkCancellation()
      do {
        if resourceVersion == nil {
          stats.update { $0.lists += 1 }
          let page = try await client.listAll(resource, namespace: namespace, labelSelector: labelSelector, projection: projection)
          let items = transform.map { page.items.map($0) } ?? page.items
          for change in await store.replace(items, resourceVersion: page.resourceVersion) { await onChange(change) }
          resourceVersion = page.resourceVersion
        }
        stats.update { $0.watches += 1 }
        let events = try await client.watch(resource, namespace: namespace, resourceVersion: resourceVersion,
                                            labelSelector: labelSelector, allowBookmarks: true, timeoutSeconds: watchTimeoutSeconds,
                                            projection: projection)
        for try await event in events {
          if event.type == "BOOKMARK" {
            if let rv = event.object[path: ["metadata", "resourceVersion"]]?.stringValue {
              resourceVersion = rv
              await store.setResourceVersion(rv)
            }
            continue
          }
          let change = await store.apply(type: event.type, object: transform?(event.object) ?? event.object)
          resourceVersion = event.object[path: ["metadata", "resourceVersion"]]?.stringValue ?? resourceVersion
          await onChange(change)
        }
        backoff = initialBackoff   // a watch that ended normally resumes at once
      } catch let error as KubeAPIError where error.isGone {
        stats.update { $0.relistsAfterGone += 1 }
        resourceVersion = nil      // too old: list again
      } catch is CancellationError {
        throw CancellationError()
      } catch {
        let wait = jittered(backoff)
        stats.update { $0.errors += 1; $0.backoffs.append(wait) }
        try await clock.sleep(for: wait)
        backoff = min(backoff * 2, maxBackoff)
      }
    }
  }

  private func jittered(_ d: Duration) -> Duration {
    .milliseconds(Int(d.seconds * 1000 * min(1, max(0.5, jitter()))))
  }
}
