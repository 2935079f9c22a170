import Synchronization

/// A one-shot signal: tasks wait until it is fired, once; waits after that return at once.
///
/// What "the cache has synced" and "the manager is ready" are made of: waiting uses no polling,
/// and a cancelled wait returns by throwing instead of hanging a shutdown.
public final class Signal: Sendable {
  private struct State {
    var isFired = false
    var nextID: UInt64 = 0
    var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    var cancelled: Set<UInt64> = []
  }
  private let state = Mutex(State())

  public init() {}

  /// Whether `fire()` has been called.
  public var isFired: Bool { state.withLock { $0.isFired } }

  /// Fires the signal, releasing every waiter; later calls do nothing.
  public func fire() {
    let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
      guard !s.isFired else { return [] }
      s.isFired = true
      defer { s.waiters.removeAll() }
      return Array(s.waiters.values)
    }
    for w in waiters { w.resume() }
  }

  /// Returns once the signal has fired.
  ///
  /// - Throws: `CancellationError` when the task is cancelled first.
  public func wait() async throws {
    try Task.checkCancellation()
    let id = state.withLock { s -> UInt64 in s.nextID += 1; return s.nextID }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        enum Outcome { case wait, fired, cancelled }
        let outcome = state.withLock { s -> Outcome in
          if s.isFired { return .fired }
          if s.cancelled.remove(id) != nil { return .cancelled }
          s.waiters[id] = c
          return .wait
        }
        switch outcome {
        case .wait: break
        case .fired: c.resume()
        case .cancelled: c.resume(throwing: CancellationError())
        }
      }
    } onCancel: {
      let waiter = state.withLock { s -> CheckedContinuation<Void, any Error>? in
        if let w = s.waiters.removeValue(forKey: id) { return w }
        s.cancelled.insert(id)
        return nil
      }
      waiter?.resume(throwing: CancellationError())
    }
  }
}
