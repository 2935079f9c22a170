import KubeCore

/// One measurement of one metric, as `Rollout.status.analysisRuns` keeps it.
public struct AnalysisRecord: Codable, Sendable, Equatable {
  public enum Phase: String, Codable, Sendable {
    /// The success condition held.
    case successful = "Successful"
    /// The success condition did not hold (or the failure condition did).
    case failed = "Failed"
    /// No decision from this measurement: the query returned no data, say.
    case inconclusive = "Inconclusive"
    /// The measurement could not be taken (the provider did not answer).
    case error = "Error"
  }

  public var metric: String
  /// The step the measurement was taken for.
  public var step: Int?
  public var phase: Phase
  public var value: String?
  public var message: String?
  /// RFC 3339.
  public var at: String

  public init(metric: String, step: Int? = nil, phase: Phase, value: String? = nil, message: String? = nil, at: String) {
    self.metric = metric
    self.step = step
    self.phase = phase
    self.value = value
    self.message = message
    self.at = at
  }

  public var json: JSONValue { ModelCoding.encode(self) }

  /// Measurements kept in status: the newest, at most this many (a status stays small however
  /// long a rollout runs; Events and metrics keep the history).
  public static let historyLimit = 20
  /// Errors in a row after which a metric is inconclusive (Argo Rollouts' `consecutiveErrorLimit`
  /// defaults to 4 errors; we stop at 3 measurements that could not be taken).
  public static let consecutiveErrorLimit = 3

  static func bounded(_ runs: [JSONValue]) -> [JSONValue] {
    Array(runs.suffix(historyLimit))
  }

  /// The verdict of each metric of the rollout's current analysis step, from its measurements at
  /// this step: `count` measurements (default 1) at `analysis.interval`; more than `failureLimit`
  /// failures (default 0) fail it at once; an inconclusive measurement, or errors in a row, make
  /// it inconclusive (Argo Rollouts' AnalysisRun semantics, docs "Analysis" → failureLimit,
  /// inconclusiveLimit, count).
  public static func verdicts(for rollout: Rollout, now: Timestamp) -> [String: RolloutPlanner.MetricVerdict] {
    guard let steps = rollout.spec.strategy.canary?.steps, let step = rollout.status?.currentStep, step < steps.count,
          let analysis = steps[step].analysis else { return [:] }
    let all = (rollout.spec.analysis?.metrics ?? [])
    let names = analysis.metrics?.isEmpty == false ? analysis.metrics! : all.map(\.name)
    let records = (rollout.status?.analysisRuns ?? []).compactMap { try? ModelCoding.decode(AnalysisRecord.self, from: $0) }
      .filter { $0.step == step }
    let interval = (try? GoDuration(parsing: rollout.spec.analysis?.interval ?? "1m")).map { Duration.nanoseconds($0.nanoseconds) } ?? .seconds(60)
    var out: [String: RolloutPlanner.MetricVerdict] = [:]
    for name in names {
      guard let metric = all.first(where: { $0.name == name }) else { continue }
      let mine = records.filter { $0.metric == name }
      out[name] = verdict(mine, count: 1, failureLimit: metric.failureLimit ?? 0, interval: interval, now: now)
    }
    return out
  }

  static func verdict(_ records: [AnalysisRecord], count: Int, failureLimit: Int, interval: Duration, now: Timestamp)
    -> RolloutPlanner.MetricVerdict
  {
    let failed = records.filter { $0.phase == .failed }
    if failed.count > failureLimit {
      return .failed(failed.last?.message ?? "the success condition did not hold")
    }
    if let inconclusive = records.last(where: { $0.phase == .inconclusive }) {
      return .inconclusive(inconclusive.message ?? "no decision from the measurement")
    }
    let errorsInARow = records.reversed().prefix { $0.phase == .error }
    if errorsInARow.count >= consecutiveErrorLimit {
      return .inconclusive("\(errorsInARow.count) measurements in a row could not be taken: \(errorsInARow.first?.message ?? "")")
    }
    let measured = records.filter { $0.phase != .error }.count
    if measured >= count { return .successful }
    guard let last = records.last, let at = try? Timestamp(rfc3339: last.at) else { return .running(after: .zero) }
    let due = at.secondsSinceEpoch + Int64(interval.components.seconds)
    return .running(after: .seconds(max(0, due - now.secondsSinceEpoch)))
  }
}
