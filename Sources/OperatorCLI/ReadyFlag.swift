import Synchronization

/// A flag set once and read from any thread: the operator sets it when its caches synced, the node
/// agent when it labelled its Node; `/readyz` reads it.
public final class ReadyFlag: Sendable {
  private let value = Mutex(false)
  public init() {}
  public func set() { value.withLock { $0 = true } }
  public var isSet: Bool { value.withLock { $0 } }
}
