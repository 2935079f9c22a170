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
  /// Applied to every object before it enters the store. The default drops what controllers never
  /// read and what makes objects big — managedFields and kubectl's last-applied annotation — as
  /// kube-rs's `Event::modify` exists to do (kube-runtime watcher.rs); the RSS budget depends on it.
  public var transform: @Sendable (JSONValue) -> JSONValue = Reflector.shrink

  public static func shrink(_ object: JSONValue) -> JSONValue {
    var o = object
    o[path: ["metadata", "managedFields"]] = nil
    if o[path: ["metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"]] != nil {
      o[path: ["metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"]] = nil
      if o[path: ["metadata", "annotations"]]?.objectValue?.isEmpty == true { o[path: ["metadata", "annotations"]] = nil }
    }
    return o
  }
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
          let page = try await client.listAll(resource, namespace: namespace, labelSelector: labelSelector)
          for key in await store.replace(page.items.map(transform), resourceVersion: page.resourceVersion) { await onChange(key) }
          resourceVersion = page.resourceVersion
        }
        stats.watches += 1
        let events = try await client.watch(resource, namespace: namespace, resourceVersion: resourceVersion,
                                            labelSelector: labelSelector, allowBookmarks: true, timeoutSeconds: watchTimeoutSeconds)
        for try await event in events {
          if event.type == "BOOKMARK" {
            if let rv = event.object[path: ["metadata", "resourceVersion"]]?.stringValue {
              resourceVersion = rv
              await store.setResourceVersion(rv)
            }
            continue
          }
          let key = await store.apply(type: event.type, object: transform(event.object))
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
