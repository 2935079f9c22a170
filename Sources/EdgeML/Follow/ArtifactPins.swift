/// The digests of MLflow model versions the operator has read, and the versions it could not read
/// with when to try again: each version's file is downloaded once, not on every reconcile.
///
/// *Guarantees*: a version is read at most once at a time, whatever the number of EdgeModels that
/// want it (callers that ask meanwhile wait for the same answer); a failed read is tried again only
/// after `FollowPlanner.retryDelay` on the controller's clock (10 s, doubling), never sooner; a file
/// found larger than a limit is not read again under that limit.
///
/// *Caveats*: kept in memory. What outlives the process is the status (`status.follow.servingDigest`
/// and `resolvedDigest`; `status.pins` for the versions Rollouts name), which the reconciler
/// consults first: a restarted operator reads a version again only if no status records its
/// digest. Past `limit` entries the memo starts over.
actor ArtifactPins {
  /// What the caller gets.
  enum Outcome: Sendable, Equatable {
    case pinned(String)
    /// Not pinned; the condition's reason and message, and the time until the next read.
    case failed(reason: String, message: String, retryIn: Duration)
  }

  private struct Failure {
    var reason: String
    var message: String
    var failures: Int
    var next: ContinuousClock.Instant
  }

  private var digests: [String: (digest: String, size: Int)] = [:]
  /// Files found larger than a limit, by `NAME/VERSION`: the largest limit each exceeded. A file
  /// does not shrink, so only a larger limit (a changed `sizeLimit`) reads it again.
  private var largerThan: [String: Int] = [:]
  private var failures: [String: Failure] = [:]
  private var reading: [String: [CheckedContinuation<ArtifactPin, Never>]] = [:]
  static let limit = 4096

  /// The digest of version `version` of `name`: remembered, or read now when no read failed within
  /// its backoff. `interval` caps the backoff (as for the alias's looks).
  func pin(name: String, version: String, maxBytes: Int, interval: Duration, registry: any MLflowRegistry,
           now: ContinuousClock.Instant) async -> Outcome {
    let key = name + "/" + version
    if let hit = digests[key] {
      guard hit.size <= maxBytes else {
        return .failed(reason: "ArtifactTooLarge", message: "the model file of version \(version) of \(name) is \(hit.size) bytes, over the limit of \(maxBytes) (spec.model.sizeLimit)",
                       retryIn: interval)
      }
      return .pinned(hit.digest)
    }
    if let exceeded = largerThan[key], maxBytes <= exceeded {
      return .failed(reason: "ArtifactTooLarge", message: "the model file of version \(version) of \(name) is larger than the limit of \(maxBytes) bytes (spec.model.sizeLimit)",
                     retryIn: interval)
    }
    let failureKey = key + "/" + String(maxBytes)
    if let f = failures[failureKey], now < f.next {
      return .failed(reason: f.reason, message: f.message, retryIn: now.duration(to: f.next))
    }
    let answer: ArtifactPin
    if reading[failureKey] != nil {
      answer = await withCheckedContinuation { reading[failureKey, default: []].append($0) }
    } else {
      reading[failureKey] = []
      answer = await registry.artifactDigest(name: name, version: version, maxBytes: maxBytes)
      for waiter in reading.removeValue(forKey: failureKey) ?? [] { waiter.resume(returning: answer) }
    }
    switch answer {
    case .digest(let digest, let size):
      if digests.count >= Self.limit { digests.removeAll() }
      digests[key] = (digest, size)
      failures[failureKey] = nil
      return .pinned(digest)
    case .failed(let reason, let message) where reason == "ArtifactTooLarge":
      if largerThan[key] == nil, largerThan.count >= Self.limit { largerThan.removeAll() }
      largerThan[key] = max(largerThan[key] ?? 0, maxBytes)
      return .failed(reason: reason, message: message, retryIn: interval)
    case .failed(let reason, let message):
      var f = failures[failureKey] ?? Failure(reason: reason, message: message, failures: 0, next: now)
      // A waiter of the same read records nothing more: the read counts once.
      if f.next <= now {
        f.failures += 1
        f.next = now + FollowPlanner.retryDelay(failures: f.failures, interval: interval)
      }
      f.reason = reason
      f.message = message
      if failures[failureKey] == nil, failures.count >= Self.limit { failures.removeAll() }
      failures[failureKey] = f
      return .failed(reason: reason, message: message, retryIn: now.duration(to: f.next))
    }
  }
}
