import Synchronization

/// A flag set once and read from any thread: the operator sets it when its caches synced, the node
/// agent when it labelled its Node; `/readyz` reads it.
public final class ReadyFlag: Sendable {
  private let value = Mutex(false)
  /// A flag not set yet.
  public init() {}
  /// Sets the flag; it stays set.
  public func set() { value.withLock { $0 = true } }
  /// Whether `set()` was called.
  public var isSet: Bool { value.withLock { $0 } }
}
