import KubeCore
import Synchronization
import Testing
@testable import ControllerRuntime

/// An API server stand-in: tokens it knows, users allowed `get /metrics`, and how often it was asked.
final class FakeReviewer: AccessReviewer {
  struct Unreachable: Error, CustomStringConvertible { var description: String { "connection refused" } }
  struct State { var tokenReviews = 0, accessReviews = 0, down = false, allowed: Set<String> = [] }
  let users: [String: ReviewedUser]
  let state: Mutex<State>

  init(users: [String: ReviewedUser], allowed: Set<String>) {
    self.users = users
    state = Mutex(State(allowed: allowed))
  }

  var tokenReviews: Int { state.withLock { $0.tokenReviews } }
  var accessReviews: Int { state.withLock { $0.accessReviews } }
  func setDown(_ down: Bool) { state.withLock { $0.down = down } }
  func allow(_ user: String, _ yes: Bool) { state.withLock { if yes { $0.allowed.insert(user) } else { $0.allowed.remove(user) } } }

  func reviewToken(_ token: String) async throws -> (user: ReviewedUser?, isError: Bool) {
    let down = state.withLock { s -> Bool in s.tokenReviews += 1; return s.down }
    if down { throw Unreachable() }
    return (users[token], false)
  }

  func reviewAccess(_ user: ReviewedUser, verb: String, path: String) async throws -> Bool {
    let (down, allowed) = state.withLock { s -> (Bool, Bool) in
      s.accessReviews += 1
      return (s.down, s.allowed.contains(user.username) && verb == "get" && path == "/metrics")
    }
    if down { throw Unreachable() }
    return allowed
  }
}

let prometheus = ReviewedUser(username: "system:serviceaccount:monitoring:prometheus", groups: ["system:authenticated"])
let intruder = ReviewedUser(username: "system:serviceaccount:default:intruder", groups: ["system:authenticated"])

func fakeReviewer() -> FakeReviewer {
  FakeReviewer(users: ["prom-token": prometheus, "intruder-token": intruder], allowed: [prometheus.username])
}

@Suite("metrics authorization (TokenReview, then SubjectAccessReview)")
struct MetricsAuthorizerTests {
  @Test("a token bound to metrics-reader is allowed; one without the binding is forbidden; none or an unknown one is unauthenticated")
  func decisions() async {
    let reviewer = fakeReviewer()
    let authorizer = MetricsAuthorizer(reviewer: reviewer, clock: ManualClock())
    #expect(await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") == .allowed(user: prometheus.username))
    #expect(await authorizer.decide(authorization: "Bearer intruder-token", verb: "get", path: "/metrics") == .forbidden(user: intruder.username))
    #expect(await authorizer.decide(authorization: "Bearer forged", verb: "get", path: "/metrics") == .unauthenticated)
    #expect(await authorizer.decide(authorization: nil, verb: "get", path: "/metrics") == .unauthenticated)
    // A forged token never gets as far as a SubjectAccessReview.
    #expect(reviewer.accessReviews == 2)
  }

  @Test("only `Bearer TOKEN` carries a token: other schemes and empty tokens never reach the API server",
        arguments: [("Bearer abc", "abc"), ("bearer abc", "abc"), ("BEARER  abc", "abc"), ("Basic dXNlcjpwdw==", nil),
                    ("Bearer", nil), ("Bearer ", nil), ("Bearer a b", nil), ("", nil)] as [(String, String?)])
  func bearerToken(header: String, token: String?) async {
    #expect(MetricsAuthorizer.bearerToken(header) == token)
    let reviewer = fakeReviewer()
    if token == nil {
      #expect(await MetricsAuthorizer(reviewer: reviewer, clock: ManualClock()).decide(authorization: header, verb: "get", path: "/metrics")
              == .unauthenticated)
      #expect(reviewer.tokenReviews == 0)
    }
  }

  @Test("answers are cached as controller-runtime's filter caches them: a token for 1 minute, allowed for 5, denied for 30 seconds")
  func cacheExpiry() async {
    let reviewer = fakeReviewer()
    let clock = ManualClock()
    let authorizer = MetricsAuthorizer(reviewer: reviewer, clock: clock)
    for _ in 0..<3 { _ = await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") }
    #expect((reviewer.tokenReviews, reviewer.accessReviews) == (1, 1))

    clock.advance(by: .seconds(59))
    _ = await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics")
    #expect((reviewer.tokenReviews, reviewer.accessReviews) == (1, 1))
    clock.advance(by: .seconds(2))   // 61 s: the token is reviewed again, the allowed answer still holds
    _ = await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics")
    #expect((reviewer.tokenReviews, reviewer.accessReviews) == (2, 1))

    // The binding is removed: the cached "allowed" still serves until its 5 minutes are over.
    reviewer.allow(prometheus.username, false)
    clock.advance(by: .seconds(200))   // 261 s
    #expect(await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") == .allowed(user: prometheus.username))
    clock.advance(by: .seconds(40))    // 301 s
    #expect(await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") == .forbidden(user: prometheus.username))
    #expect(reviewer.accessReviews == 2)

    // Denied is remembered for 30 seconds only: the binding restored is honoured after that.
    reviewer.allow(prometheus.username, true)
    clock.advance(by: .seconds(29))
    #expect(await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") == .forbidden(user: prometheus.username))
    clock.advance(by: .seconds(2))
    #expect(await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") == .allowed(user: prometheus.username))
    #expect(reviewer.accessReviews == 3)
  }

  @Test("a rejected token is remembered for a minute too, so a scraper with a stale token does not hammer the API server")
  func rejectedTokenCached() async {
    let reviewer = fakeReviewer()
    let clock = ManualClock()
    let authorizer = MetricsAuthorizer(reviewer: reviewer, clock: clock)
    for _ in 0..<5 { #expect(await authorizer.decide(authorization: "Bearer stale", verb: "get", path: "/metrics") == .unauthenticated) }
    #expect(reviewer.tokenReviews == 1)
    clock.advance(by: .seconds(61))
    _ = await authorizer.decide(authorization: "Bearer stale", verb: "get", path: "/metrics")
    #expect(reviewer.tokenReviews == 2)
  }

  @Test("when the API server cannot be asked the scrape fails with the reason, and the failure is not cached")
  func failuresNotCached() async {
    let reviewer = fakeReviewer()
    let authorizer = MetricsAuthorizer(reviewer: reviewer, clock: ManualClock())
    reviewer.setDown(true)
    guard case .failed(let summary, let reason) = await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") else {
      Issue.record("expected a failure"); return
    }
    #expect(summary == "Authentication failed" && reason.contains("connection refused"))
    reviewer.setDown(false)
    #expect(await authorizer.decide(authorization: "Bearer prom-token", verb: "get", path: "/metrics") == .allowed(user: prometheus.username))
    #expect(reviewer.tokenReviews == 2)
  }

  @Test("the caches stay within their capacity however many tokens scrape")
  func boundedCache() async {
    let users = Dictionary(uniqueKeysWithValues: (0..<50).map { ("t\($0)", ReviewedUser(username: "u\($0)")) })
    let reviewer = FakeReviewer(users: users, allowed: [])
    let clock = ManualClock()
    let authorizer = MetricsAuthorizer(reviewer: reviewer, clock: clock, capacity: 8)
    for i in 0..<50 {
      _ = await authorizer.decide(authorization: "Bearer t\(i)", verb: "get", path: "/metrics")
      clock.advance(by: .milliseconds(500))   // within every TTL: the oldest entry goes first
    }
    // The last token is still cached; the first was pushed out and is reviewed again.
    _ = await authorizer.decide(authorization: "Bearer t49", verb: "get", path: "/metrics")
    #expect(reviewer.tokenReviews == 50)
    _ = await authorizer.decide(authorization: "Bearer t0", verb: "get", path: "/metrics")
    #expect(reviewer.tokenReviews == 51)
  }

  @Test("the SubjectAccessReview names the user, uid, groups and extra, and asks about the non-resource path")
  func subjectAccessReviewBody() {
    let user = ReviewedUser(username: "alice", uid: "u-1", groups: ["g"], extra: ["k": ["v"]])
    let review = KubeAccessReviewer.subjectAccessReview(user, verb: "get", path: "/metrics")
    #expect(review["kind"] == "SubjectAccessReview")
    #expect(review["spec"] == ["user": "alice", "groups": ["g"], "nonResourceAttributes": ["path": "/metrics", "verb": "get"],
                               "uid": "u-1", "extra": ["k": ["v"]]])
    let answer: JSONValue = ["status": ["authenticated": true, "user": ["username": "alice", "uid": "u-1", "groups": ["g"], "extra": ["k": ["v"]]]]]
    #expect(KubeAccessReviewer.user(fromTokenReview: answer).user == user)
    let refused: JSONValue = ["status": ["authenticated": false, "error": "token expired"]]
    #expect(KubeAccessReviewer.user(fromTokenReview: refused).user == nil && KubeAccessReviewer.user(fromTokenReview: refused).isError)
  }
}
