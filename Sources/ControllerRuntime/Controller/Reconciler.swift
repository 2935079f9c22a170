import KubeCore

/// What a reconcile is asked to look at: an object's namespace and name, not the event
/// (controller-runtime pkg/reconcile/reconcile.go).
public struct ReconcileRequest: Hashable, Sendable, CustomStringConvertible {
  public var namespace: String
  public var name: String
  public init(namespace: String, name: String) { self.namespace = namespace; self.name = name }
  /// From a store key, `namespace/name` or `name`.
  public init(key: String) {
    let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
    if parts.count == 2 { namespace = parts[0]; name = parts[1] } else { namespace = ""; name = key }
  }
  /// The request for `object`'s own key.
  public init(for object: JSONValue) { self.init(key: Store.key(of: object)) }
  /// The store key, `namespace/name` (or `name` for a cluster-scoped object).
  public var description: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}

/// "Done", or "come back after this long". A thrown error retries with the rate limiter's backoff;
/// a thrown `TerminalError` is logged and counted but not retried.
public enum ReconcileResult: Sendable, Equatable {
  case done
  case requeue(after: Duration)
}

/// Level-based reconcile of one object.
///
/// *Contract* (controller-runtime pkg/reconcile): read the current state, act on it, and say when to
/// look again. The request names an object, never the event that woke it; it is never processed by
/// two workers at once.
public protocol Reconciler: Sendable {
  func reconcile(_ request: ReconcileRequest, context: ReconcileContext) async throws -> ReconcileResult
}

/// An error that retrying cannot fix: logged and counted, not requeued (controller-runtime's
/// `reconcile.TerminalError`). The object is reconciled again when it, or something it watches,
/// changes.
public struct TerminalError: Error, Sendable, CustomStringConvertible {
  public var underlying: any Error
  public init(_ underlying: any Error) { self.underlying = underlying }
  public var description: String { "terminal: \(underlying)" }
}
