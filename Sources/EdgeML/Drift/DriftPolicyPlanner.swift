import ControllerRuntime
import DriftStatistics
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// Observed DriftPolicy, its EdgeModel, owned Jobs and baseline, the data gathered for this pass
/// and the clock → the report ConfigMap, retraining Jobs and Rollouts, the status, Events and when
/// to look again. Pure: no I/O, no clock of its own (docs/drift-policy.md).
///
/// *Guarantees*: a Job's name is the policy's name and the trigger's sequence number; the number
/// is the highest of the status' `retrainCount` and of the owned Jobs' trigger labels, plus one.
/// A controller killed after creating Job N but before writing the status finds Job N in its cache,
/// records it, and measures `cooldown` from its trigger time: exactly one Job per trigger.
public enum DriftPolicyPlanner {
  /// Defaults of the CRD (crds/driftpolicies.edgeml.io.yaml), used when a field is absent.
  public enum Defaults {
    public static let interval = "10m", window = "1h", minSamples = 500, share = 0.5
    public static let cooldown = "6h", maxConcurrent = 1, historyLimit = 5
  }

  /// Labels and annotations of what the controller creates for a policy.
  public enum Labels {
    public static let policy = "edgeml.io/drift-policy"
    public static let trigger = "edgeml.io/retrain-trigger"
    public static let triggerTime = "edgeml.io/trigger-time"
    public static let baselineKey = "reference.json"
    /// On the baseline ConfigMap: the model version whose traffic it holds (or is collecting).
    public static let baselineVersion = "edgeml.io/model-version"
    /// On the baseline ConfigMap: the Unix second its window starts (absent: the policy's creation).
    public static let baselineSince = "edgeml.io/baseline-since"
    public static let reportKey = "report.json"
  }

  /// Where a retraining Job finds the report (`<policy>-drift-report`, key `report.json`).
  public static let reportMountPath = "/etc/edgeml/drift"

  /// The parsed schedule and limits of a policy.
  public struct Settings: Sendable, Equatable {
    public var interval: Int64, window: Int64, minSamples: Int, share: Double
    public var correction: PValueCorrection?
    public var cooldown: Int64, maxConcurrent: Int, historyLimit: Int
    /// Seconds of the baseline window, when the reference is a baseline.
    public var baselineWindow: Int64?
  }

  /// Reads the policy's durations and limits.
  /// - Throws: `DriftInputError` `InvalidSpec` for a duration that does not parse or is not positive,
  ///   or `source.prometheus.buckets` that are not a numerical feature's ascending bounds.
  public static func settings(_ spec: DriftPolicySpec) throws(DriftInputError) -> Settings {
    func seconds(_ text: String, _ field: String, minimum: Int64 = 1) throws(DriftInputError) -> Int64 {
      guard let d = try? GoDuration(parsing: text) else { throw DriftInputError("InvalidSpec", "\(field): \"\(text)\" is not a duration") }
      let s = d.nanoseconds / 1_000_000_000
      guard s >= minimum else { throw DriftInputError("InvalidSpec", "\(field): \(text) is shorter than \(minimum)s") }
      return s
    }
    let r = spec.retraining
    if let buckets = spec.source.prometheus?.buckets { try PrometheusBuckets.validate(buckets, features: spec.features) }
    var baseline: Int64?
    if let b = spec.reference.baseline { baseline = try seconds(b.window, "reference.baseline.window") }
    return Settings(interval: try seconds(spec.schedule?.interval ?? Defaults.interval, "schedule.interval"),
                    window: try seconds(spec.schedule?.window ?? Defaults.window, "schedule.window"),
                    minSamples: max(1, spec.schedule?.minSamples ?? Defaults.minSamples),
                    share: spec.datasetDrift?.share ?? Defaults.share,
                    correction: DriftEvaluator.correction(spec.correction),
                    cooldown: try seconds(r.cooldown ?? Defaults.cooldown, "retraining.cooldown", minimum: 0),
                    maxConcurrent: max(1, r.maxConcurrent ?? Defaults.maxConcurrent),
                    historyLimit: max(1, r.historyLimit ?? Defaults.historyLimit),
                    baselineWindow: baseline)
  }

  /// What this pass does about evaluation.
  public enum Step: Sendable, Equatable {
    /// Nothing is due before this Unix second.
    case wait(until: Int64)
    /// Test the window [since, until).
    case evaluate(since: Int64, until: Int64)
    /// Keep the window [since, until) as the baseline reference.
    case captureBaseline(since: Int64, until: Int64)
  }

  /// Whether an evaluation (or the baseline capture) is due at `now` (Unix seconds).
  ///
  /// The first evaluation runs at once; then one per `interval` from the last attempt. After an
  /// attempt that could not be carried out (agents, reference), the next waits 10 s · 2^(n-1) for
  /// the n-th failure in a row, never longer than `interval`: a broken agent is retried soon, and
  /// never in a loop. A baseline is the window [start, start + baseline.window), captured once
  /// it has passed; `start` is `baselineSince` (a baseline restarted for a new model version) or
  /// the policy's creation.
  public static func step(_ policy: DriftPolicy, settings: Settings, hasBaseline: Bool, baselineSince: Int64? = nil, now: Int64) -> Step {
    let status = policy.status
    let last = status?.lastAttemptTime.flatMap { try? Timestamp(rfc3339: $0) }?.secondsSinceEpoch
    let failures = status?.attemptFailures ?? 0
    let wait = failures > 0 ? min(settings.interval, 10 << Int64(min(failures - 1, 20))) : settings.interval
    if let last, now < last + wait { return .wait(until: last + wait) }
    if let window = settings.baselineWindow, !hasBaseline {
      let start = baselineSince ?? policy.metadata.creationTimestamp?.secondsSinceEpoch ?? now
      if now < start + window { return .wait(until: start + window) }
      return .captureBaseline(since: start, until: start + window)
    }
    return .evaluate(since: now - settings.window, until: now)
  }

  /// A finished Job's output, read from its pod's termination message.
  public enum JobOutput: Sendable, Equatable {
    case model(CandidateModel)
    /// No readable model: what was found instead.
    case none(String)
  }

  /// What was gathered for an evaluation this pass.
  public struct Gathered: Sendable {
    public var step: Step
    /// The agents' summaries merged, or why there are none.
    public var current: Result<[String: FeatureSummary], DriftInputError>
    /// Pods whose agents answered.
    public var pods: Int
    /// `pod: error` for each agent that did not answer.
    public var unanswered: [String]
    /// The reference (nil when capturing the baseline).
    public var reference: Result<[String: FeatureSummary], DriftInputError>?
    public init(step: Step, current: Result<[String: FeatureSummary], DriftInputError>, pods: Int, unanswered: [String] = [],
                reference: Result<[String: FeatureSummary], DriftInputError>?) {
      self.step = step
      self.current = current
      self.pods = pods
      self.unanswered = unanswered
      self.reference = reference
    }
  }

  public struct Input: Sendable {
    public var policy: DriftPolicy
    public var model: EdgeModel?
    /// The Jobs the policy owns (cache).
    public var jobs: [JSONValue]
    /// Whether the baseline ConfigMap holds a captured baseline.
    public var hasBaseline: Bool
    /// The baseline ConfigMap's model version and window start (its annotations), if any.
    public var baselineVersion: String?
    public var baselineSince: Int64?
    /// The version the EdgeModel serves (`status.currentVersion`, else `spec.model.version`).
    public var servedVersion: String?
    /// The model a promoted Rollout made the EdgeModel serve, when that is not `spec.model`
    /// (the retraining Jobs' lineage and the report name it).
    public var servedModel: CandidateModel?
    /// Whether a Rollout of the model is still moving traffic (neither Promoted nor Aborted).
    public var rolloutInProgress: Bool
    /// nil: nothing was evaluated this pass (not due).
    public var gathered: Gathered?
    /// Outputs of finished Jobs, by name (those the status has not recorded yet).
    public var jobOutputs: [String: JobOutput]
    public var now: Timestamp
    public init(policy: DriftPolicy, model: EdgeModel?, jobs: [JSONValue] = [], hasBaseline: Bool = false, baselineVersion: String? = nil,
                baselineSince: Int64? = nil, servedModel: CandidateModel? = nil, rolloutInProgress: Bool = false, gathered: Gathered? = nil,
                jobOutputs: [String: JobOutput] = [:], now: Timestamp) {
      self.servedModel = servedModel
      self.rolloutInProgress = rolloutInProgress
      self.policy = policy
      self.model = model
      self.jobs = jobs
      self.hasBaseline = hasBaseline
      self.baselineVersion = baselineVersion
      self.baselineSince = baselineSince
      self.servedVersion = model.flatMap { $0.status?.currentVersion ?? $0.spec.model.version }
      self.gathered = gathered
      self.jobOutputs = jobOutputs
      self.now = now
    }
  }

  public struct Plan: Sendable {
    public var objects: [DesiredObject] = []
    public var status: DriftPolicyStatus
    public var events: [PlannedEvent] = []
    public var requeueAfter: Duration?
    /// Finished Jobs beyond `historyLimit`, to delete.
    public var deleteJobs: [String] = []
    /// The features of a decision made this pass (for the metrics).
    public var results: [FeatureResult]?
  }

  static let jobs = GroupVersionResource(group: "batch", version: "v1", resource: "jobs", namespaced: true)

  public static func plan(_ input: Input) -> Plan {
    var b = Builder(input: input)
    b.run()
    return b.finish()
  }

  /// The Job name for trigger `n` (at most 63 characters: the `job-name` label carries it).
  public static func jobName(policy: String, trigger: Int) -> String {
    let suffix = "-retrain-\(trigger)"
    return String(policy.prefix(63 - suffix.count)) + suffix
  }

  public static func reportName(policy: String) -> String { String(policy.prefix(253 - 13)) + "-drift-report" }
  public static func baselineName(policy: String) -> String { String(policy.prefix(253 - 9)) + "-baseline" }

  /// Whether a Job finished, and how (`Complete`/`SuccessCriteriaMet` or `Failed` condition True).
  public static func jobPhase(_ job: JSONValue) -> String {
    for c in job[path: ["status", "conditions"]]?.arrayValue ?? [] where c["status"]?.stringValue == "True" {
      switch c["type"]?.stringValue {
      case "Complete", "SuccessCriteriaMet": return "Succeeded"
      case "Failed", "FailureTarget": return "Failed"
      default: continue
      }
    }
    return "Running"
  }

  /// Reads a retraining container's termination message (docs/drift-policy.md §Retraining):
  /// `{"uri": "https://…/model.onnx", "digest": "sha256:…", "version": "4"}`, or an MLflow model
  /// version `{"name": "detector", "version": "4"}` (→ `mlflow://detector/4`).
  public static func parseJobOutput(_ message: String) -> JobOutput {
    let trimmed = String(message.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    guard !trimmed.isEmpty else { return .none("the Job's pod wrote no termination message") }
    guard let json = try? JSONValue(parsing: trimmed), json.objectValue != nil else {
      return .none("the termination message is not a JSON object: \(String(trimmed.prefix(200)))")
    }
    let version = json["version"]?.stringValue ?? json["version"]?.int64Value.map { String($0) }
    if let uri = json["uri"]?.stringValue, !uri.isEmpty {
      let digest = json["digest"]?.stringValue
      if let digest, !isDigest(digest) { return .none("digest \"\(digest)\" is not sha256: and 64 hex digits") }
      if digest == nil, !uri.hasPrefix("mlflow://") { return .none("model \(uri) has no digest") }
      var m = CandidateModel(uri: uri, digest: digest, version: version)
      m.version = version
      return .model(m)
    }
    if let name = json["name"]?.stringValue, !name.isEmpty, let version {
      return .model(CandidateModel(uri: "mlflow://\(name)/\(version)", digest: nil, version: version))
    }
    return .none("the termination message names no model (\"uri\" + \"digest\", or MLflow \"name\" + \"version\")")
  }

  static func isDigest(_ s: String) -> Bool {
    guard s.hasPrefix("sha256:") else { return false }
    let hex = s.dropFirst(7)
    return hex.count == 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
  }
}

extension DriftPolicyPlanner {
  struct Builder {
    let input: Input
    var status: DriftPolicyStatus
    var conditions: [StatusCondition]
    var events: [PlannedEvent] = []
    var objects: [DesiredObject] = []
    var deleteJobs: [String] = []
    var requeue: Duration?
    var results: [FeatureResult]?
    let name: String
    let namespace: String
    let nowSeconds: Int64

    init(input: Input) {
      self.input = input
      status = input.policy.status ?? DriftPolicyStatus()
      conditions = status.conditions ?? []
      name = input.policy.metadata.name ?? ""
      namespace = input.policy.metadata.namespace ?? "default"
      nowSeconds = input.now.secondsSinceEpoch
    }

    mutating func run() {
      status.observedGeneration = input.policy.metadata.generation.map { Int($0) }
      let settings: Settings
      do { settings = try DriftPolicyPlanner.settings(input.policy.spec) } catch {
        unknown(error.reason, error.message, warn: true)
        return
      }
      recordJobs(settings)
      if let federated = input.policy.spec.retraining.federated { objects += flowerDeployment(federated) }
      guard input.model != nil else {
        unknown("ModelNotFound", "EdgeModel \(input.policy.spec.modelRef.name) does not exist in \(namespace)", warn: false)
        requeueAt(settings.interval)
        return
      }
      if settings.baselineWindow != nil, let served = input.servedVersion, let kept = input.baselineVersion, kept != served {
        return restartBaseline(served: served, was: kept, settings: settings)
      }
      let step = DriftPolicyPlanner.step(input.policy, settings: settings, hasBaseline: input.hasBaseline, baselineSince: input.baselineSince,
                                         now: nowSeconds)
      guard let gathered = input.gathered, gathered.step == step else {
        if case .wait(let until) = step { requeueAt(max(1, until - nowSeconds)) }
        if Condition.find("Drifted", in: conditions) == nil {
          set("Drifted", "Unknown", settings.baselineWindow != nil && !input.hasBaseline ? "BaselineCollecting" : "NotEvaluated",
              settings.baselineWindow != nil && !input.hasBaseline ? "collecting the baseline window" : "no evaluation yet")
        }
        return
      }
      status.lastAttemptTime = input.now.rfc3339
      for line in gathered.unanswered.prefix(1) {
        event("Warning", "AgentUnreachable", "\(gathered.unanswered.count) drift agent(s) did not answer, e.g. \(line)")
      }
      let current: [String: FeatureSummary]
      switch gathered.current {
      case .failure(let e): return failed(e, settings)
      case .success(let c): current = c
      }
      switch step {
      case .captureBaseline(let since, let until):
        captureBaseline(current, since: since, until: until, settings: settings)
      case .evaluate(let since, let until):
        let reference: [String: FeatureSummary]
        switch gathered.reference {
        case .failure(let e)?: return failed(e, settings)
        case nil: return failed(DriftInputError("ReferenceUnreadable", "no reference was read"), settings)
        case .success(let r)?: reference = r
        }
        evaluate(reference: reference, current: current, since: since, until: until, pods: gathered.pods, settings: settings)
      case .wait: break
      }
    }

    // MARK: evaluation

    mutating func failed(_ error: DriftInputError, _ settings: Settings) {
      let n = (status.attemptFailures ?? 0) + 1
      status.attemptFailures = n
      unknown(error.reason, error.message, warn: true)
      requeueAt(min(settings.interval, 10 << Int64(min(n - 1, 20))))
    }

    /// The model serves another version than the baseline's (a retrained model promoted, or any
    /// update): its traffic is judged against what clients send it from now on, not against the
    /// old version's. The ConfigMap is emptied and marked with the version and the new window's
    /// start, so a restarted controller collects the same window.
    mutating func restartBaseline(served: String, was: String, settings: Settings) {
      let window = settings.baselineWindow ?? settings.interval
      guard input.model?.status?.phase == .ready, !input.rolloutInProgress else {
        // Pods of both versions come and go: wait until the new version alone serves.
        let message = "version \(served) is served (the baseline was version \(was)'s): its baseline starts once the model is Ready and no Rollout moves it"
        set("Drifted", "Unknown", "BaselineCollecting", message)
        return requeueAt(min(settings.interval, 10))
      }
      let since = nextAgentWindow()
      objects.append(DesiredObject(.configMaps, baselineConfigMap(data: [:], since: since)))
      status.attemptFailures = nil
      let message = "version \(served) is served (the baseline was version \(was)'s): collecting a new baseline from "
        + "\(Timestamp(secondsSinceEpoch: since).rfc3339) for \(window)s"
      event("Normal", "BaselineRestarted", message)
      set("Drifted", "Unknown", "BaselineCollecting", message)
      requeueAt(since + window - nowSeconds)
    }

    /// The start of the agents' next window (now, if a window starts now): a baseline from there
    /// merges no data of the windows before it.
    func nextAgentWindow() -> Int64 {
      let w = DriftAgentSidecar.windowSeconds(input.policy.spec)
      return nowSeconds % w == 0 ? nowSeconds : (nowSeconds / w + 1) * w
    }

    func baselineConfigMap(data: JSONObject, since: Int64) -> JSONValue {
      var annotations: JSONObject = [Labels.baselineSince: .string(String(since))]
      if let v = input.servedVersion { annotations[Labels.baselineVersion] = .string(v) }
      return [
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": ["name": .string(DriftPolicyPlanner.baselineName(policy: name)), "namespace": .string(namespace),
                     "labels": labels(), "annotations": .object(annotations), "ownerReferences": [ownerReference()]],
        "data": .object(data),
      ]
    }

    mutating func captureBaseline(_ current: [String: FeatureSummary], since: Int64, until: Int64, settings: Settings) {
      let features = input.policy.spec.features
      let smallest = features.map { current[$0.name]?.count ?? 0 }.min() ?? 0
      if let missing = features.first(where: { current[$0.name] == nil }) {
        return failed(DriftInputError("FeatureMissing", "no agent reported feature \(missing.name) in the baseline window"), settings)
      }
      if smallest < settings.minSamples {
        // Too little traffic in the baseline window (the agents were starting, the model was
        // idle): a baseline must hold minSamples, so a new window starts now.
        let window = settings.baselineWindow ?? settings.interval
        let next = nextAgentWindow()
        let message = "the baseline window held \(smallest) samples, fewer than minSamples \(settings.minSamples): "
          + "a new window starts \(Timestamp(secondsSinceEpoch: next).rfc3339) for \(window)s"
        objects.append(DesiredObject(.configMaps, baselineConfigMap(data: [:], since: next)))
        status.attemptFailures = nil
        if Condition.find("Drifted", in: conditions)?.reason != "BaselineCollecting" { event("Normal", "InsufficientSamples", message) }
        set("Drifted", "Unknown", "BaselineCollecting", message)
        return requeueAt(next + window - nowSeconds)
      }
      let report = DriftData.report(current, source: name, start: since, end: until)
      let text = ModelCoding.encode(report).serializedString()
      objects.append(DesiredObject(.configMaps, baselineConfigMap(data: [Labels.baselineKey: .string(text)], since: since)))
      status.attemptFailures = nil
      set("Drifted", "Unknown", "BaselineCaptured", "baseline of \(smallest) samples kept in \(DriftPolicyPlanner.baselineName(policy: name)); evaluations start next interval")
      event("Normal", "BaselineCaptured", "baseline window \(Timestamp(secondsSinceEpoch: since).rfc3339) to \(Timestamp(secondsSinceEpoch: until).rfc3339) kept (\(smallest) samples)")
      requeueAt(settings.interval)
    }

    mutating func evaluate(reference: [String: FeatureSummary], current: [String: FeatureSummary], since: Int64, until: Int64, pods: Int,
                           settings: Settings) {
      let outcome: DriftEvaluator.Outcome
      do {
        outcome = try DriftEvaluator.evaluate(features: input.policy.spec.features, reference: reference, current: current,
                                              minSamples: settings.minSamples, correction: settings.correction, share: settings.share)
      } catch {
        return failed(error, settings)
      }
      status.attemptFailures = nil
      requeueAt(settings.interval)
      switch outcome {
      case .insufficient(let samples, let minimum, let feature):
        let message = "\(samples) samples of \(feature) in the window, fewer than minSamples \(minimum): no decision"
        if Condition.find("Drifted", in: conditions)?.reason != "InsufficientSamples" { event("Normal", "InsufficientSamples", message) }
        set("Drifted", "Unknown", "InsufficientSamples", message)
      case .decided(let features, let samples, let share, let datasetDrift):
        var e = DriftEvaluation()
        e.time = input.now.rfc3339
        e.windowStart = Timestamp(secondsSinceEpoch: since).rfc3339
        e.windowEnd = Timestamp(secondsSinceEpoch: until).rfc3339
        e.pods = pods
        e.samples = samples
        e.driftShare = share
        e.datasetDrift = datasetDrift
        e.features = features
        status.lastEvaluation = e
        results = features
        let drifted = features.filter { $0.drifted == true }.compactMap(\.name)
        let summary = "\(drifted.count) of \(features.count) features drifted (share \(format(share)), threshold \(format(settings.share)))"
          + (drifted.isEmpty ? "" : ": " + drifted.joined(separator: ", "))
        let was = Condition.find("Drifted", in: conditions)?.status
        if datasetDrift {
          if was != "True" { event("Warning", "DriftDetected", summary) }
          set("Drifted", "True", "DatasetDrift", summary)
        } else {
          if was == "True" { event("Normal", "DriftResolved", summary) }
          set("Drifted", "False", "NoDatasetDrift", summary)
        }
        objects.append(DesiredObject(.configMaps, reportConfigMap(e)))
        if datasetDrift { trigger(settings, summary: summary) }
      }
    }

    // MARK: retraining

    /// Brings `status.retrainJobs` up to date with the owned Jobs: adopts a Job the status does not
    /// know yet (created just before a crash), reads finished Jobs' outputs, promotes or hands
    /// over their models, and deletes finished Jobs beyond `historyLimit`.
    mutating func recordJobs(_ settings: Settings) {
      var records = Dictionary((status.retrainJobs ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
      let owned = input.jobs.compactMap { job -> (name: String, trigger: Int, job: JSONValue)? in
        guard let n = job[path: ["metadata", "labels", Labels.trigger]]?.stringValue.flatMap({ Int($0) }),
              let jobName = job[path: ["metadata", "name"]]?.stringValue else { return nil }
        return (jobName, n, job)
      }.sorted { $0.trigger < $1.trigger }
      for (jobName, n, job) in owned {
        var record = records[jobName] ?? RetrainJobRecord(name: jobName, trigger: n,
                                                           triggeredAt: job[path: ["metadata", "annotations", Labels.triggerTime]]?.stringValue,
                                                           phase: "Running")
        if n > (status.retrainCount ?? 0) {
          // Created by a controller that did not live to write the status: adopted, not repeated.
          status.retrainCount = n
          status.lastRetrainJob = jobName
          status.lastTriggerTime = record.triggeredAt ?? status.lastTriggerTime
        }
        if record.phase == "Running" {
          switch DriftPolicyPlanner.jobPhase(job) {
          case "Failed":
            record.phase = "Failed"
            record.message = "the Job failed"
            retrainFailed(&record, reason: "RetrainingFailed", message: "retraining Job \(jobName) failed; the serving model is unchanged")
          case "Succeeded":
            switch input.jobOutputs[jobName] {
            case .model(let m)?: succeeded(&record, model: m)
            case .none(let why)?:
              record.phase = "NoModel"
              record.message = why
              retrainFailed(&record, reason: "NoModelOutput", message: "retraining Job \(jobName) succeeded but produced no model: \(why)")
            case nil:
              requeueAt(10)   // its pod is being read; look again soon
            }
          default: break
          }
        }
        records[jobName] = record
      }
      // Records of Jobs gone (deleted by a person) are dropped; the count stays.
      let present = Set(owned.map(\.name))
      var kept = records.values.filter { present.contains($0.name) }.sorted { $0.trigger < $1.trigger }
      let finished = kept.filter { $0.phase != "Running" }
      if finished.count > settings.historyLimit {
        let old = Set(finished.prefix(finished.count - settings.historyLimit).map(\.name))
        deleteJobs = kept.filter { old.contains($0.name) }.map(\.name)
        kept.removeAll { old.contains($0.name) }
      }
      status.retrainJobs = kept.isEmpty ? nil : kept
    }

    mutating func succeeded(_ record: inout RetrainJobRecord, model: CandidateModel) {
      record.phase = "Succeeded"
      record.model = model
      status.retrainFailures = nil
      let version = model.version.map { " version \($0)" } ?? ""
      if let template = input.policy.spec.retraining.promote?.rollout {
        let rolloutName = record.name
        record.rollout = rolloutName
        objects.append(DesiredObject(Rollout.resource, rollout(rolloutName, template: template, model: model)))
        record.message = "model \(model.uri)\(version) handed to Rollout \(rolloutName)"
        set("RetrainingTriggered", "False", "RolloutCreated", "Job \(record.name) produced \(model.uri)\(version); Rollout \(rolloutName) rolls it out")
        event("Normal", "RolloutCreated", "Job \(record.name) produced \(model.uri)\(version); Rollout \(rolloutName) created")
      } else {
        status.awaitingPromotion = model
        record.message = "model \(model.uri)\(version) awaits a person (no promote.rollout)"
        set("RetrainingTriggered", "False", "AwaitingPromotion", "Job \(record.name) produced \(model.uri)\(version); roll it out by hand")
        event("Normal", "RetrainedModelReady", "Job \(record.name) produced \(model.uri)\(version); no promote.rollout: roll it out by hand")
      }
    }

    mutating func retrainFailed(_ record: inout RetrainJobRecord, reason: String, message: String) {
      status.retrainFailures = (status.retrainFailures ?? 0) + 1
      set("RetrainingTriggered", "False", reason, message)
      event("Warning", reason, message)
    }

    /// The wait after the newest trigger before another: `cooldown`, and after n failed retrainings
    /// in a row at least 5 min · 2^(n-1), at most a day (a Job that keeps failing is not re-run every interval).
    func waitAfterTrigger(_ settings: Settings) -> Int64 {
      let failures = status.retrainFailures ?? 0
      guard failures > 0 else { return settings.cooldown }
      return max(settings.cooldown, min(86_400, 300 << Int64(min(failures - 1, 20))))
    }

    mutating func trigger(_ settings: Settings, summary: String) {
      let template: JSONValue
      if let federated = input.policy.spec.retraining.federated {
        do { template = federatedRunTemplate(federated, runConfig: try DriftPolicyPlanner.runConfig(federated)) } catch {
          set("RetrainingTriggered", "False", error.reason, "drift detected, but no run was submitted: \(error.message)")
          return
        }
      } else if let jobTemplate = input.policy.spec.retraining.jobTemplate {
        template = jobTemplate
      } else {
        return
      }
      let active = (status.retrainJobs ?? []).filter { $0.phase == "Running" }
      if active.count >= settings.maxConcurrent {
        set("RetrainingTriggered", "True", "MaxConcurrent",
            "drift persists; \(active.count) retraining Job(s) running (maxConcurrent \(settings.maxConcurrent)): none added")
        return
      }
      if let last = status.lastTriggerTime.flatMap({ try? Timestamp(rfc3339: $0) })?.secondsSinceEpoch {
        let until = last + waitAfterTrigger(settings)
        if nowSeconds < until {
          let reason = (status.retrainFailures ?? 0) > 0 ? "RetrainingBackoff" : "CooldownActive"
          if Condition.find("RetrainingTriggered", in: conditions)?.reason != reason {
            event("Normal", reason, "drift detected; next retraining not before \(Timestamp(secondsSinceEpoch: until).rfc3339)")
          }
          set("RetrainingTriggered", "False", reason, "drift detected; next retraining not before \(Timestamp(secondsSinceEpoch: until).rfc3339)")
          return
        }
      }
      let n = (status.retrainCount ?? 0) + 1
      let jobName = DriftPolicyPlanner.jobName(policy: name, trigger: n)
      objects.append(DesiredObject(DriftPolicyPlanner.jobs, job(jobName, trigger: n, template: template)))
      status.retrainCount = n
      status.lastRetrainJob = jobName
      status.lastTriggerTime = input.now.rfc3339
      status.awaitingPromotion = nil
      var records = status.retrainJobs ?? []
      records.append(RetrainJobRecord(name: jobName, trigger: n, triggeredAt: input.now.rfc3339, phase: "Running"))
      status.retrainJobs = records
      set("RetrainingTriggered", "True", "JobCreated", "Job \(jobName) created: \(summary)")
      event("Normal", "RetrainingTriggered", "Job \(jobName) created: \(summary)")
    }

    // MARK: objects

    func labels() -> JSONValue {
      [.init(EdgeModelPlanner.Labels.managedBy): .string(EdgeModelPlanner.Labels.managedByValue), .init(Labels.policy): .string(name),
       .init(EdgeModelPlanner.Labels.model): .string(input.policy.spec.modelRef.name)]
    }

    func ownerReference() -> JSONValue {
      ["apiVersion": .string(EdgeMLAPI.apiVersion), "kind": "DriftPolicy", "name": .string(name),
       "uid": .string(input.policy.metadata.uid ?? ""), "controller": true, "blockOwnerDeletion": true]
    }

    /// The model served now: a promoted Rollout's candidate, else the EdgeModel's `spec.model`.
    func served() -> (uri: String, digest: String, version: String)? {
      if let m = input.servedModel { return (m.uri, m.digest ?? "", m.version ?? "") }
      return input.model.map { ($0.spec.model.uri, $0.spec.model.digest ?? "", $0.spec.model.version ?? "") }
    }

    func reportConfigMap(_ e: DriftEvaluation) -> JSONValue {
      let model = served()
      var report = ModelCoding.encode(e)
      report["policy"] = .string(name)
      report["namespace"] = .string(namespace)
      report["model"] = ["name": .string(input.policy.spec.modelRef.name), "uri": model.map { .string($0.uri) } ?? .null,
                         "version": model.map { .string($0.version) } ?? .null]
      return [
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": ["name": .string(DriftPolicyPlanner.reportName(policy: name)), "namespace": .string(namespace),
                     "labels": labels(), "ownerReferences": [ownerReference()]],
        "data": [.init(Labels.reportKey): .string(report.serializedString())],
      ]
    }

    /// The Job of trigger `n`: the policy's `jobTemplate`, its containers given the model's lineage
    /// in their environment and the report mounted at `reportMountPath`.
    func job(_ jobName: String, trigger n: Int, template: JSONValue) -> JSONValue {
      let model = served()
      let lineage: [(String, String)] = [
        ("EDGEML_MODEL_NAME", input.policy.spec.modelRef.name), ("EDGEML_MODEL_VERSION", model?.version ?? ""),
        ("EDGEML_MODEL_URI", model?.uri ?? ""), ("EDGEML_MODEL_DIGEST", model?.digest ?? ""),
        ("EDGEML_DRIFT_POLICY", name), ("EDGEML_RETRAIN_TRIGGER", String(n)), ("EDGEML_TRIGGER_TIME", input.now.rfc3339),
        ("EDGEML_DRIFT_REPORT", "\(DriftPolicyPlanner.reportMountPath)/\(Labels.reportKey)"),
      ]
      var spec = template["spec"] ?? [:]
      var podSpec = spec[path: ["template", "spec"]] ?? [:]
      let containers = (podSpec["containers"]?.arrayValue ?? []).map { c -> JSONValue in
        var c = c
        let own = Set(lineage.map(\.0))
        var env = (c["env"]?.arrayValue ?? []).filter { !own.contains($0["name"]?.stringValue ?? "") }
        env += lineage.map { (key, value) -> JSONValue in ["name": .string(key), "value": .string(value)] }
        c["env"] = .array(env)
        var mounts = (c["volumeMounts"]?.arrayValue ?? []).filter { $0["name"]?.stringValue != "edgeml-drift-report" }
        mounts.append(["name": "edgeml-drift-report", "mountPath": .string(DriftPolicyPlanner.reportMountPath), "readOnly": true])
        c["volumeMounts"] = .array(mounts)
        return c
      }
      podSpec["containers"] = .array(containers)
      var volumes = (podSpec["volumes"]?.arrayValue ?? []).filter { $0["name"]?.stringValue != "edgeml-drift-report" }
      volumes.append(["name": "edgeml-drift-report", "configMap": ["name": .string(DriftPolicyPlanner.reportName(policy: name))]])
      podSpec["volumes"] = .array(volumes)
      if podSpec["restartPolicy"] == nil { podSpec["restartPolicy"] = "Never" }
      spec[path: ["template", "spec"]] = podSpec
      var podLabels = spec[path: ["template", "metadata", "labels"]]?.objectValue ?? JSONObject()
      for (k, v) in labels().objectValue ?? JSONObject() { podLabels[k] = v }
      spec[path: ["template", "metadata", "labels"]] = .object(podLabels)
      var jobLabels = template[path: ["metadata", "labels"]]?.objectValue ?? JSONObject()
      for (k, v) in labels().objectValue ?? JSONObject() { jobLabels[k] = v }
      jobLabels[Labels.trigger] = .string(String(n))
      var annotations = template[path: ["metadata", "annotations"]]?.objectValue ?? JSONObject()
      annotations[Labels.triggerTime] = .string(input.now.rfc3339)
      return [
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": ["name": .string(jobName), "namespace": .string(namespace), "labels": .object(jobLabels),
                     "annotations": .object(annotations), "ownerReferences": [ownerReference()]],
        "spec": spec,
      ]
    }

    /// A Rollout of the retrained model: `promote.rollout`'s fields, the policy's model, the new version.
    func rollout(_ rolloutName: String, template: JSONValue, model: CandidateModel) -> JSONValue {
      var spec = template
      spec["modelRef"] = ["name": .string(input.policy.spec.modelRef.name)]
      var candidate: JSONObject = ["uri": .string(model.uri)]
      if let d = model.digest { candidate["digest"] = .string(d) }
      if let v = model.version { candidate["version"] = .string(v) }
      spec["candidate"] = ["model": .object(candidate)]
      return [
        "apiVersion": .string(EdgeMLAPI.apiVersion), "kind": "Rollout",
        "metadata": ["name": .string(rolloutName), "namespace": .string(namespace), "labels": labels(),
                     "ownerReferences": [ownerReference()]],
        "spec": spec,
      ]
    }

    // MARK: status

    mutating func unknown(_ reason: String, _ message: String, warn: Bool) {
      let previous = Condition.find("Drifted", in: conditions)
      if warn { event("Warning", reason, message) } else if previous?.reason != reason { event("Normal", reason, message) }
      set("Drifted", "Unknown", reason, message)
    }

    mutating func set(_ type: String, _ value: String, _ reason: String, _ message: String) {
      Condition.set(StatusCondition(type: type, status: value, observedGeneration: input.policy.metadata.generation, reason: reason,
                                    message: message), in: &conditions, now: input.now)
    }

    mutating func event(_ type: String, _ reason: String, _ note: String) {
      events.append(PlannedEvent(type: type, reason: reason, note: note, action: "Evaluate"))
    }

    mutating func requeueAt(_ seconds: Int64) {
      let d = Duration.seconds(max(1, seconds))
      requeue = min(requeue ?? d, d)
    }

    func format(_ x: Double) -> String {
      let r = (x * 100).rounded() / 100
      return String(r)
    }

    mutating func finish() -> Plan {
      if Condition.find("RetrainingTriggered", in: conditions) == nil {
        set("RetrainingTriggered", "False", "NoRetraining", "no retraining triggered yet")
      }
      status.conditions = conditions
      status.message = Condition.find("Drifted", in: conditions)?.message
      return Plan(objects: objects, status: status, events: events, requeueAfter: requeue, deleteJobs: deleteJobs, results: results)
    }
  }
}
