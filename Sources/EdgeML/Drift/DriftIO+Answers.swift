extension DriftIO {
  /// How many agents the controller scrapes at once (`DriftPolicyReconciler`'s default).
  ///
  /// Each answer in flight is a whole report (about 1.7 MB of JSON for 1,000 features, and its
  /// parsed form), so this bounds an evaluation's memory; a slow or silent agent holds one slot
  /// for at most the scrape's 10 s timeout while the others go on.
  public static let scrapeConcurrency = 8

  /// Calls `scrape` for every target with at most `concurrency` calls in flight, and `receive` with
  /// each answer as it arrives, one at a time on the caller's task.
  ///
  /// A new call starts as soon as an answer has been received, so at any moment the caller holds
  /// the answers in flight (at most `concurrency`) and whatever `receive` kept — the merged
  /// summaries — never every target's answer at once. When `receive` returns false no further
  /// call starts; the calls already in flight are received and then the function returns.
  ///
  /// - Complexity: `targets.count` calls of `scrape`; at most ⌈targets / concurrency⌉ timeouts
  ///   in a row when every target is silent.
  public static func forEachAnswer<Target: Sendable, Answer: Sendable>(
    _ targets: [Target], concurrency: Int, scrape: @escaping @Sendable (Target) async -> Answer,
    receive: (Target, Answer) -> Bool
  ) async {
    await withTaskGroup(of: (Target, Answer).self) { group in
      var pending = targets.makeIterator()
      for _ in 0..<max(1, concurrency) {
        guard let target = pending.next() else { break }
        group.addTask { (target, await scrape(target)) }
      }
      var starting = true
      while let received = await group.next() {
        let (target, answer) = received
        starting = receive(target, answer) && starting
        if starting, let next = pending.next() { group.addTask { (next, await scrape(next)) } }
      }
    }
  }
}
