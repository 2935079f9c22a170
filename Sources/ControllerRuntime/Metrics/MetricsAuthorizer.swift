import Crypto
import Synchronization

/// What a scrape may do, decided from its `Authorization` header.
public enum MetricsAccess: Sendable, Equatable {
  /// Authenticated and authorized: serve the metrics.
  case allowed(user: String)
  /// No bearer token, or one the API server does not authenticate: 401.
  case unauthenticated
  /// Authenticated, but RBAC does not allow `get` on the path: 403.
  case forbidden(user: String)
  /// A review could not be made (the API server unreachable, the operator not allowed to review): 500
  /// with `summary` (controller-runtime's words); `reason` is for the operator's log only, not the caller.
  case failed(summary: String, reason: String)
}

/// Decides scrapes of the operator's `/metrics` as kubebuilder v4's scaffold does: the bearer token by
/// a TokenReview, then `get` on the path by a SubjectAccessReview with `nonResourceAttributes`
/// (sigs.k8s.io/controller-runtime `pkg/metrics/filters/filters.go` `WithAuthenticationAndAuthorization`).
///
/// *Guarantees*: answers are cached as controller-runtime configures k8s.io/apiserver's delegating
/// authenticator and authorizer — token answers (either way) 1 minute, allowed 5 minutes, denied 30
/// seconds — on the injected clock; failed reviews are never cached. Tokens are cached by their SHA-256,
/// never kept in memory as text.
/// *Caveats*: a rejected token is 401, as kube-rbac-proxy (`pkg/filters/auth.go`) and the API server's
/// own authentication filter answer; controller-runtime's filter answers 500 there (its union
/// authenticator turns "invalid bearer token" into an error). Concurrent first scrapes with one token
/// may each ask the API server (upstream's cache collapses them; a scrape every 30 s does not need it).
public final class MetricsAuthorizer: Sendable {
  /// How long answers are kept (controller-runtime's `CacheTTL`, `AllowCacheTTL`, `DenyCacheTTL`).
  public struct TTLs: Sendable {
    public var token: Duration = .seconds(60)
    public var allowed: Duration = .seconds(300)
    public var denied: Duration = .seconds(30)
    public init() {}
  }

  private struct Entry<Value: Sendable>: Sendable {
    var value: Value
    var expires: ContinuousClock.Instant
  }
  private struct AccessKey: Hashable, Sendable {
    var user: ReviewedUser
    var verb: String
    var path: String
  }
  private struct State: Sendable {
    var tokens: [String: Entry<ReviewedUser?>] = [:]
    var access: [AccessKey: Entry<Bool>] = [:]
  }

  private let reviewer: any AccessReviewer
  private let clock: any ControllerClock
  private let ttls: TTLs
  private let capacity: Int
  private let state = Mutex(State())

  /// - Parameters:
  ///   - capacity: entries kept per cache; past it, expired entries go first, then the oldest.
  public init(reviewer: any AccessReviewer, clock: any ControllerClock = SystemClock(), ttls: TTLs = TTLs(), capacity: Int = 1024) {
    self.reviewer = reviewer
    self.clock = clock
    self.ttls = ttls
    self.capacity = max(1, capacity)
  }

  /// Decides one request.
  /// - Parameters:
  ///   - authorization: the `Authorization` header, if any.
  ///   - verb: the HTTP method lower-cased, as controller-runtime's filter passes it (`get`).
  ///   - path: the URL path without the query.
  public func decide(authorization: String?, verb: String, path: String) async -> MetricsAccess {
    guard let token = Self.bearerToken(authorization) else { return .unauthenticated }
    let user: ReviewedUser
    switch await authenticate(token) {
    case .success(let found?): user = found
    case .success(nil): return .unauthenticated
    case .failure(let message): return .failed(summary: "Authentication failed", reason: message)
    }
    switch await authorize(user, verb: verb, path: path) {
    case .success(true): return .allowed(user: user.username)
    case .success(false): return .forbidden(user: user.username)
    case .failure(let message): return .failed(summary: "Authorization for user \(user.username) failed", reason: message)
    }
  }

  /// The token of `Authorization: Bearer TOKEN` (scheme case-insensitive), nil for anything else
  /// (k8s.io/apiserver `pkg/authentication/request/bearertoken/bearertoken.go`).
  static func bearerToken(_ header: String?) -> String? {
    guard let header else { return nil }
    let parts = header.split(separator: " ", omittingEmptySubsequences: true)
    guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
    return String(parts[1])
  }

  private enum Outcome<Value> { case success(Value), failure(String) }

  private func authenticate(_ token: String) async -> Outcome<ReviewedUser?> {
    let key = SHA256.hash(data: Array(token.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    let now = clock.now
    if let hit = state.withLock({ $0.tokens[key] }), hit.expires > now { return .success(hit.value) }
    do {
      let (user, isError) = try await reviewer.reviewToken(token)
      // An answer with status.error is not cached, like an error of the webhook authenticator
      // (k8s.io/apiserver pkg/authentication/token/cache: cacheErrs false).
      if !isError { store(Entry(value: user, expires: clock.now + ttls.token), at: key, in: \.tokens) }
      return .success(user)
    } catch {
      return .failure("\(error)")
    }
  }

  private func authorize(_ user: ReviewedUser, verb: String, path: String) async -> Outcome<Bool> {
    let key = AccessKey(user: user, verb: verb, path: path)
    if let hit = state.withLock({ $0.access[key] }), hit.expires > clock.now { return .success(hit.value) }
    do {
      let allowed = try await reviewer.reviewAccess(user, verb: verb, path: path)
      store(Entry(value: allowed, expires: clock.now + (allowed ? ttls.allowed : ttls.denied)), at: key, in: \.access)
      return .success(allowed)
    } catch {
      return .failure("\(error)")
    }
  }

  private func store<Key: Hashable, Value>(_ entry: Entry<Value>, at key: Key, in cache: WritableKeyPath<State, [Key: Entry<Value>]>) {
    let now = clock.now
    state.withLock { s in
      if s[keyPath: cache].count >= capacity, s[keyPath: cache][key] == nil {
        s[keyPath: cache] = s[keyPath: cache].filter { $0.value.expires > now }
        if s[keyPath: cache].count >= capacity, let oldest = s[keyPath: cache].min(by: { $0.value.expires < $1.value.expires })?.key {
          s[keyPath: cache][oldest] = nil
        }
      }
      s[keyPath: cache][key] = entry
    }
  }
}
