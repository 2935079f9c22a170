import KubeClient
import KubeCore

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

  public init(client: KubeClient, resource: GroupVersionResource, namespace: String? = nil, labelSelector: String? = nil, store: Store) {
    self.client = client
    self.resource = resource
    self.namespace = namespace
    self.labelSelector = labelSelector
    self.store = store
  }

  /// Counters a test or a metrics endpoint can read.
  public final class Stats: @unchecked Sendable {
    // Safety: only mutated by the one task running `run`, read for reporting.
    public var lists = 0
    public var watches = 0
    public var relistsAfterGone = 0
    public var errors = 0
    public init() {}
  }

  /// Runs until cancelled, calling `onChange` with the key of every object that changed.
  public func run(stats: Stats = Stats(), onChange: @Sendable (String) async -> Void) async throws {
    var backoff = initialBackoff
    var resourceVersion: String? = nil
    while true {
      try Task.checkCancellation()
      do {
        if resourceVersion == nil {
          stats.lists += 1
          let page = try await client.listAll(resource, namespace: namespace, labelSelector: labelSelector, projection: projection)
          let items = transform.map { page.items.map($0) } ?? page.items
          for key in await store.replace(items, resourceVersion: page.resourceVersion) { await onChange(key) }
          resourceVersion = page.resourceVersion
        }
        stats.watches += 1
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
          let key = await store.apply(type: event.type, object: transform?(event.object) ?? event.object)
          resourceVersion = event.object[path: ["metadata", "resourceVersion"]]?.stringValue ?? resourceVersion
          await onChange(key)
        }
        backoff = initialBackoff   // a watch that ended normally resumes at once
      } catch let error as KubeAPIError where error.isGone {
        stats.relistsAfterGone += 1
        resourceVersion = nil      // too old: list again
      } catch is CancellationError {
        throw CancellationError()
      } catch {
        stats.errors += 1
        try await Task.sleep(for: jittered(backoff))
        backoff = min(backoff * 2, maxBackoff)
      }
    }
  }

  private func jittered(_ d: Duration) -> Duration {
    let ms = Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    return .milliseconds(Int(ms * Double.random(in: 0.5...1.0)))
  }
}
