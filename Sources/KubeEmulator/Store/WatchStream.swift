import KubeCore
import NIOConcurrencyHelpers

/// A watch in progress: the initial events computed when it started, then every later committed
/// event of its resource, filtered and encoded for this watcher.
///
/// The store registers the stream in the same transaction that computes its initial events, so no
/// event falls between the two; events arriving before the HTTP layer attaches are buffered.
public final class WatchStream: @unchecked Sendable {
  // Safety: `buffered`, `consumer` and `isCancelled` are accessed only under `lock`.
  private let lock = NIOLock()
  private var buffered: [StoreEvent] = []
  private var consumer: (@Sendable (StoreEvent) -> Void)?
  private var isCancelled = false
  private var cancelSubscription: (@Sendable () -> Void)?

  /// Frames (one JSON watch event each, newline-terminated) to send before any live event.
  public let initialFrames: [[UInt8]]
  /// Filters and encodes a live event for this watcher; nil means "not for this watcher".
  public let encode: @Sendable (StoreEvent) -> [UInt8]?
  /// Encodes a BOOKMARK at a given resourceVersion, or nil when bookmarks were not asked for.
  ///
  /// The HTTP layer must read the version with `currentResourceVersion` and then queue the bookmark
  /// behind the events already queued for this stream, so a client that resumes from a bookmark
  /// never skips an event committed before it (events are queued while the store lock is held).
  public let bookmark: (@Sendable (Int64) -> [UInt8])?
  /// The store's newest committed resourceVersion.
  public let currentResourceVersion: @Sendable () -> Int64
  /// Closes the stream after this long (`timeoutSeconds`).
  public let timeout: Duration?
  /// How often to send bookmarks when asked for.
  public let bookmarkInterval: Duration
  /// Content type of the frames.
  public let contentType: String

  init(initialFrames: [[UInt8]], encode: @escaping @Sendable (StoreEvent) -> [UInt8]?,
       bookmark: (@Sendable (Int64) -> [UInt8])?, currentResourceVersion: @escaping @Sendable () -> Int64,
       timeout: Duration?, bookmarkInterval: Duration, contentType: String) {
    self.initialFrames = initialFrames
    self.encode = encode
    self.bookmark = bookmark
    self.currentResourceVersion = currentResourceVersion
    self.timeout = timeout
    self.bookmarkInterval = bookmarkInterval
    self.contentType = contentType
  }

  func setCancel(_ cancel: @escaping @Sendable () -> Void) {
    lock.withLock { cancelSubscription = cancel }
  }

  /// Called by the store (lock held there): forwards to the consumer or buffers.
  func deliver(_ event: StoreEvent) {
    let target: (@Sendable (StoreEvent) -> Void)? = lock.withLock {
      if isCancelled { return nil }
      if let consumer { return consumer }
      buffered.append(event)
      return nil
    }
    target?(event)
  }

  /// Starts delivery: buffered events first, then live ones, each passed to `consumer` in order.
  public func attach(_ consumer: @escaping @Sendable (StoreEvent) -> Void) {
    let pending: [StoreEvent] = lock.withLock {
      self.consumer = consumer
      defer { buffered = [] }
      return buffered
    }
    for e in pending { consumer(e) }
  }

  /// Stops delivery and unregisters from the store. Safe to call more than once.
  public func cancel() {
    let cancel: (@Sendable () -> Void)? = lock.withLock {
      if isCancelled { return nil }
      isCancelled = true
      consumer = nil
      buffered = []
      return cancelSubscription
    }
    cancel?()
  }
}
