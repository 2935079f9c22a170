/// When each followed model's alias is looked at next, and how many looks in a row failed.
///
/// Kept in memory only, on purpose: a look that changes nothing writes nothing (a steady cluster
/// sees no API writes, DESIGN.md §5), so its time is not in status. A restarted operator has an
/// empty schedule and looks once at every followed model — one GET each — then keeps the pace.
///
/// *Caveats*: keys of deleted models stay until the schedule reaches `limit` entries and starts over
/// (the price of that is one early look per model).
actor FollowSchedule {
  struct Entry {
    var uri: String
    var next: ContinuousClock.Instant
    var failures: Int
  }

  private var entries: [String: Entry] = [:]
  static let limit = 8192

  /// Whether the model `key` (following `uri`) should be looked at now.
  func isDue(_ key: String, uri: String, now: ContinuousClock.Instant) -> Bool {
    guard let e = entries[key], e.uri == uri else { return true }
    return e.next <= now
  }

  /// Records a look's outcome; returns the delay until the next look.
  @discardableResult
  func record(_ key: String, uri: String, succeeded: Bool, interval: Duration, now: ContinuousClock.Instant) -> Duration {
    var e = entries[key].flatMap { $0.uri == uri ? $0 : nil } ?? Entry(uri: uri, next: now, failures: 0)
    e.failures = succeeded ? 0 : e.failures + 1
    let delay = succeeded ? interval : FollowPlanner.retryDelay(failures: e.failures, interval: interval)
    e.next = now + delay
    if entries[key] == nil, entries.count >= Self.limit { entries.removeAll() }
    entries[key] = e
    return delay
  }

  /// The time left until the next look at `key` (zero when due), nil when it was never looked at.
  func remaining(_ key: String, now: ContinuousClock.Instant) -> Duration? {
    entries[key].map { max(.zero, now.duration(to: $0.next)) }
  }
}
