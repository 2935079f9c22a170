import Crypto
import KubeCore

/// Observed Rollout, its EdgeModel, analysis verdicts and the time → the Rollout's next status,
/// the weight its router should carry, and the Events the change deserves. Pure: the same input
/// gives the same plan, so a controller killed at any moment resumes from the status alone.
///
/// *Progress lives in status.* `currentStep`, `stepStartedAt`, the weights, the pause and the abort
/// are all the planner needs besides the spec: nothing is remembered in memory between reconciles.
///
/// *The EdgeModel does the scaling.* The EdgeModel controller reads the Rollout (its candidate and
/// `scaleWeight`) and runs the candidate's workloads beside the stable ones; it reports them in
/// `EdgeModel.status.candidate`, which is what gates each step here: a `setWeight` step is done
/// only when the candidate pods planned for its weight are Ready (their engines built), and only
/// then does the router carry the weight. So no traffic moves to a candidate whose engine is not
/// built (docs/rollouts.md).
public enum RolloutPlanner {
  public struct Input: Sendable {
    public var rollout: Rollout
    /// The EdgeModel `spec.modelRef` names, nil when there is none.
    public var model: EdgeModel?
    /// Another Rollout of the same model that started first and is not finished, if any.
    public var competing: String?
    /// The verdict of each metric of the current analysis step (by metric name), worked out by the
    /// controller from `status.analysisRuns` and any measurement it just took.
    public var analysis: [String: MetricVerdict]
    public var now: Timestamp
    /// The router could not carry the planned weight: why (the object is missing, say).
    public var routerError: String?
    /// An A/B look the controller just took (the plan asked for `abTestMeasurement`): each pod's
    /// counters, by track (`stable`, `candidate`).
    public var abCounts: [String: [String: PodCounts]]?
    public init(rollout: Rollout, model: EdgeModel?, competing: String? = nil, analysis: [String: MetricVerdict] = [:], now: Timestamp) {
      self.rollout = rollout
      self.model = model
      self.competing = competing
      self.analysis = analysis
      self.now = now
    }
  }

  /// What an analysis step knows of one metric.
  public enum MetricVerdict: Sendable, Equatable {
    /// More measurements are due; the next one after `after`.
    case running(after: Duration)
    case successful
    case failed(String)
    case inconclusive(String)
  }

  public struct Plan: Sendable, Equatable {
    public var status: RolloutStatus
    /// The candidate weight the router should carry now (the stable side gets the rest).
    public var routerWeight: Int
    public var events: [Event]
    /// When to look again though nothing changed: a timed pause's end, the next measurement.
    public var requeueAfter: Duration?
    /// Metrics of the current analysis step to measure now (their verdict was `running(after: .zero)`).
    public var measure: [String]
  }

  /// What `Plan.measure` holds when an A/B look is due.
  public static let abTestMeasurement = "abTest"

  public struct Event: Sendable, Equatable {
    public var type: String
    public var reason: String
    public var note: String
  }

  // MARK: the contract with the EdgeModel controller

  /// The hash of what the rollout moves to and how: a change of either starts it over.
  public static func candidateHash(_ spec: RolloutSpec) -> String {
    let json = ModelCoding.encode(HashedSpec(candidate: spec.candidate, strategy: spec.strategy))
    return "sha256:" + String(lowerHex: SHA256.hash(data: json.serialized()).prefix(8))
  }

  private struct HashedSpec: Encodable {
    var candidate: RolloutCandidate
    var strategy: RolloutStrategy
  }

  /// The candidate weight the EdgeModel should scale the candidate for: the weight of the
  /// `setWeight` step in progress or last done. Scaling runs ahead of the router: the replicas for
  /// a step exist (and become Ready) before the router carries its weight.
  public static func scaleWeight(_ rollout: Rollout) -> Int {
    if let variants = rollout.spec.strategy.abTest?.variants { return variants.count == 2 ? variants[1].weight : 0 }
    guard let steps = rollout.spec.strategy.canary?.steps else { return 0 }
    let current = rollout.status?.currentStep ?? 0
    var weight = 0
    for (i, step) in steps.enumerated() where i <= current {
      if let w = step.setWeight { weight = w }
    }
    return weight
  }

  /// The identity of a model artifact: what a promotion replaced, and what must change in the
  /// EdgeModel's spec for the spec to win over the promoted candidate again.
  public static func modelHash(_ source: ModelSource) -> String {
    let identity: JSONValue = ["uri": .string(source.uri), "digest": source.digest.map { .string($0) } ?? .null,
                               "version": source.version.map { .string($0) } ?? .null]
    return "sha256:" + String(lowerHex: SHA256.hash(data: identity.serialized()).prefix(8))
  }

  /// The candidate as an EdgeModel model source: its URI, digest and version over the rest of the
  /// stable source (format, encryption, signature, size limit), which the candidate inherits.
  public static func candidateSource(_ rollout: Rollout, over stable: ModelSource) -> ModelSource {
    var source = stable
    source.uri = rollout.spec.candidate.model.uri
    source.digest = rollout.spec.candidate.model.digest
    source.version = rollout.spec.candidate.model.version
    return source
  }

  /// Whether the rollout still needs candidate workloads: it started and has not finished.
  public static func isActive(_ rollout: Rollout) -> Bool {
    switch rollout.status?.phase {
    case .promoted?, .aborted?: return false
    default: return rollout.status?.candidateHash == candidateHash(rollout.spec)
    }
  }

  // MARK: the plan

  public static func plan(_ input: Input) -> Plan {
    var p = Planning(input: input)
    p.run()
    return p.finish()
  }

  /// One planning pass: a value that walks the state machine and collects what it decided.
  struct Planning {
    let input: Input
    let spec: RolloutSpec
    let now: String
    var status: RolloutStatus
    var events: [Event] = []
    var requeue: Duration?
    var measure: [String] = []
    var conditions: [StatusCondition] = []

    init(input: Input) {
      self.input = input
      self.spec = input.rollout.spec
      self.now = input.now.rfc3339
      self.status = input.rollout.status ?? RolloutStatus()
      status.observedGeneration = Int(input.rollout.metadata.generation ?? 0)
      // Progress messages are worked out again on every pass; a pause or an outcome keeps its own.
      if status.phase == .progressing { status.message = nil }
    }

    var steps: [CanaryStep] { spec.strategy.canary?.steps ?? [] }
    /// Canary steps, or fleet waves: what `currentStep` counts.
    var stageCount: Int { spec.strategy.fleet != nil ? waves.count : steps.count }
    var step: Int { status.currentStep ?? 0 }

    mutating func run() {
      let hash = candidateHash(spec)
      if status.candidateHash != hash {
        // First sight, or the candidate or strategy changed: start over from the first step.
        if status.candidateHash != nil { event("Normal", "Restarted", "the candidate or strategy changed: starting over at step 0") }
        status = RolloutStatus()
        status.observedGeneration = Int(input.rollout.metadata.generation ?? 0)
        status.candidateHash = hash
        // An A/B test has no steps: no `currentStep`, so `kubectl get rollouts` shows an empty STEP, not 0.
        status.currentStep = spec.strategy.abTest == nil ? 0 : nil
        status.stepStartedAt = now
        status.stableWeight = 100
        status.candidateWeight = 0
        status.phase = .progressing
        status.request = input.rollout.status?.request
        status.lastRequest = input.rollout.status?.lastRequest
      }
      guard let model = input.model else {
        degrade("ModelNotFound", "EdgeModel \(spec.modelRef.name) not found in this namespace: create it, or fix spec.modelRef")
        return
      }
      let daemonSet = model.spec.placement?.mode == .daemonSet
      if spec.strategy.fleet != nil, !daemonSet {
        degrade("UnsupportedPlacement", "a fleet rollout moves one serving pod per node: EdgeModel \(spec.modelRef.name) must run in DaemonSet mode (placement.mode: DaemonSet); use canary or abTest for a Deployment")
        return
      }
      if spec.strategy.fleet == nil, daemonSet {
        degrade("UnsupportedPlacement", "a canary or an A/B test needs an EdgeModel in Deployment mode; EdgeModel \(spec.modelRef.name) runs as a DaemonSet: use strategy.fleet")
        return
      }
      if let other = input.competing, status.phase != .promoted, status.phase != .aborted {
        pause("Conflict", "Rollout \(other) is already rolling out EdgeModel \(spec.modelRef.name): this one waits until it finishes")
        return
      }
      if status.pause?.reason == "Conflict" || status.pause?.reason == "RouterFailed" { unpause() }
      if let error = input.routerError, status.phase != .promoted, status.phase != .aborted {
        // Tried again on a timer: the router's object is not watched.
        pause("RouterFailed", "the traffic router failed: \(error)")
        requeueAt(.seconds(30))
        return
      }
      handleRequest()
      guard status.phase != .promoted, status.phase != .aborted else { return }
      if status.pause?.reason == "Manual" { return }
      if let why = candidate(model)?.message {
        // The candidate's model cannot be built yet (no digest to check it against): nothing moves,
        // and the EdgeModel's status change wakes this again once it is pinned.
        waiting("CandidateNotPinned", "waiting for the candidate's model to be pinned: \(why)")
        return
      }
      if spec.strategy.fleet != nil {
        // A failed node is the fleet's own verdict (it names the node): see runFleet.
        runFleet(model)
        return
      }
      if let failure = candidateFailure(model) {
        pause("CandidateFailed", failure)
        return
      }
      if status.pause?.reason == "CandidateFailed" { unpause() }
      if spec.strategy.abTest != nil {
        runABTest(model)
      } else {
        advance(model)
      }
    }

    // MARK: manual gates

    mutating func handleRequest() {
      guard let request = status.request else { return }
      status.request = nil
      let outcome: String
      let finished = status.phase == .promoted || status.phase == .aborted
      switch request.action {
      case .abort where finished, .pause where finished, .promote where finished:
        outcome = "ignored: the rollout already finished (\(status.phase?.rawValue ?? ""))"
      case .abort:
        abort("AbortRequested", "aborted by \(request.requestedBy ?? "a user") with kubectl edgeml abort")
        outcome = "Accepted"
      case .retry:
        if status.phase == .aborted {
          status.abort = nil
          status.phase = .progressing
          status.currentStep = spec.strategy.abTest == nil ? 0 : nil
          status.stepStartedAt = now
          status.analysisRuns = nil
          event("Normal", "Retried", "retrying from step 0")
          outcome = "Accepted"
        } else {
          outcome = "ignored: only an aborted rollout can be retried"
        }
      case .pause:
        pause("Manual", "paused by \(request.requestedBy ?? "a user"): kubectl edgeml resume continues")
        outcome = "Accepted"
      case .resume:
        if status.phase == .paused, let reason = status.pause?.reason,
           ["Manual", "PauseStep", "AnalysisInconclusive", "AnalysisFailed", "NodeFailed"].contains(reason) {
          if reason == "PauseStep" || reason.hasPrefix("Analysis") { next() } else { unpause() }
          outcome = "Accepted"
        } else {
          outcome = "ignored: nothing to resume (the rollout is \(status.phase?.rawValue ?? "not started")\(status.pause.map { ", paused: \($0.reason)" } ?? ""))"
        }
      case .promote:
        if request.full == true {
          unpause()
          status.currentStep = stageCount
          status.stepStartedAt = now
          event("Normal", "PromoteRequested", "every remaining step skipped by \(request.requestedBy ?? "a user")")
        } else {
          // Skip the step in progress (a pause, an analysis, or the wait for a weight).
          next()
          event("Normal", "StepSkipped", "step \(step - 1) skipped by \(request.requestedBy ?? "a user")")
        }
        outcome = "Accepted"
      }
      status.lastRequest = HandledRequest(action: request.action, full: request.full, requestedAt: request.requestedAt,
                                          requestedBy: request.requestedBy, handledAt: now, outcome: outcome)
    }

    // MARK: steps

    /// Walks the steps from the current one as far as their conditions allow.
    mutating func advance(_ model: EdgeModel) {
      // Every step is visited at most once per pass, so a pass always ends.
      for _ in 0...steps.count {
        guard status.phase == .progressing || status.pause?.reason == "PauseStep" else { return }
        if step >= steps.count {
          promote(model)
          return
        }
        let s = steps[step]
        if let weight = s.setWeight {
          guard candidateReady(model, weight: weight) else {
            waiting("CandidateScaling", "step \(step): waiting for the candidate's pods for weight \(weight)% to be Ready (engines built)")
            return
          }
          if status.candidateWeight != weight {
            event("Normal", "WeightSet", "step \(step): candidate weight \(status.candidateWeight ?? 0)% → \(weight)%")
          }
          status.candidateWeight = weight
          status.stableWeight = 100 - weight
          next()
        } else if let pause = s.pause {
          guard let text = pause.duration, let d = try? GoDuration(parsing: text) else {
            if status.pause?.reason != "PauseStep" {
              self.pause("PauseStep", "step \(step): paused until kubectl edgeml resume (or promote)")
            }
            return
          }
          let started = (try? Timestamp(rfc3339: status.stepStartedAt ?? now)) ?? input.now
          let end = Timestamp(secondsSinceEpoch: started.secondsSinceEpoch + Int64((d.nanoseconds + 999_999_999) / 1_000_000_000))
          if input.now < end {
            if status.pause?.reason != "PauseStep" {
              self.pause("PauseStep", "step \(step): paused for \(text), until \(end.rfc3339)")
              status.pause?.until = end.rfc3339
            }
            requeueAt(.seconds(end.secondsSinceEpoch - input.now.secondsSinceEpoch))
            return
          }
          next()
        } else if let analysis = s.analysis {
          guard analyse(analysis) else { return }
          next()
        } else {
          next()
        }
      }
    }

    /// The metrics of an analysis step: true when all succeeded.
    mutating func analyse(_ step: AnalysisStep) -> Bool {
      let defined = (spec.analysis?.metrics ?? []).map(\.name)
      let names = (step.metrics?.isEmpty == false ? step.metrics! : defined)
      if let unknown = names.first(where: { !defined.contains($0) }) {
        pause("AnalysisInvalid", "step \(self.step): metric \(unknown) is not defined in spec.analysis.metrics")
        return false
      }
      if names.isEmpty {
        pause("AnalysisInvalid", "step \(self.step): an analysis step needs spec.analysis.metrics")
        return false
      }
      var next: Duration?
      var running: [String] = []
      for name in names {
        switch input.analysis[name] ?? .running(after: .zero) {
        case .successful: continue
        case .failed(let why):
          if spec.abortOnFailure ?? true {
            abort("AnalysisFailed", "step \(self.step): metric \(name) failed: \(why)")
          } else {
            pause("AnalysisFailed", "step \(self.step): metric \(name) failed: \(why); kubectl edgeml resume continues, abort rolls back")
          }
          return false
        case .inconclusive(let why):
          // Never promoted on missing data: a person decides.
          pause("AnalysisInconclusive", "step \(self.step): metric \(name) is inconclusive: \(why); kubectl edgeml resume continues, abort rolls back")
          return false
        case .running(let after):
          running.append(name)
          if after <= .zero { measure.append(name) }
          next = min(next ?? after, after)
        }
      }
      if running.isEmpty { return true }
      waiting("Analysing", "step \(self.step): analysing \(running.joined(separator: ", "))")
      let interval = (try? GoDuration(parsing: spec.analysis?.interval ?? "1m")).map { Duration.nanoseconds($0.nanoseconds) } ?? .seconds(60)
      requeueAt((next ?? .zero) > .zero ? next! : interval)
      return false
    }

    mutating func promote(_ model: EdgeModel) {
      if status.promotedAt == nil {
        // The EdgeModel now serves the candidate from its stable workloads; the router keeps the
        // split until they are Ready on it.
        status.promotedAt = now
        status.promotedOver = modelHash(model.spec.model)
        event("Normal", "Promoting", "every step done: the stable workloads move to the candidate (version \(spec.candidate.model.version ?? "?"))")
      }
      guard stableServesCandidate(model) else {
        waiting("Promoting", "waiting for the stable workloads to be Ready on the candidate")
        return
      }
      status.phase = .promoted
      status.pause = nil
      status.candidateWeight = 0
      status.stableWeight = 100
      status.message = "promoted version \(spec.candidate.model.version ?? "?"): EdgeModel \(spec.modelRef.name) serves it until its spec.model changes (set spec.model to the candidate in git)"
      event("Normal", "Promoted", status.message ?? "")
    }

    // MARK: what the EdgeModel says

    /// The EdgeModel's candidate report, when it describes this rollout's candidate.
    func candidate(_ model: EdgeModel) -> CandidateStatus? {
      guard let c = model.status?.candidate, c.rollout == input.rollout.metadata.name, c.hash == status.candidateHash else { return nil }
      return c
    }

    func candidateReady(_ model: EdgeModel, weight: Int) -> Bool {
      if weight == 0 { return true }
      guard let c = candidate(model), c.weight == weight else { return false }
      let engines = c.engines ?? []
      return (c.readyReplicas ?? 0) >= max(1, c.replicas ?? 0) && !engines.isEmpty && engines.allSatisfy { $0.state == .built }
    }

    func candidateFailure(_ model: EdgeModel) -> String? {
      guard let c = candidate(model) else { return nil }
      guard let failed = c.engines?.first(where: { $0.state == .failed }) else { return nil }
      return "the candidate's engine failed to build for \(failed.nodeGroup?.module ?? "a node group"): \(failed.message ?? "no message"); fix spec.candidate (the rollout starts over), or kubectl edgeml abort"
    }

    func stableServesCandidate(_ model: EdgeModel) -> Bool {
      guard let s = model.status, s.observedGeneration == Int(model.metadata.generation ?? 0) else { return false }
      return s.candidate?.rollout == input.rollout.metadata.name && s.candidate?.hash == status.candidateHash
        && s.candidate?.stableServesCandidate == true
    }

    // MARK: state changes

    mutating func next() {
      status.currentStep = step + 1
      status.stepStartedAt = now
      status.analysisRuns = nil
      if status.pause?.reason != "Manual" { unpause() }
    }

    /// Pauses for `reason`; an Event only when the reason is new (no Event per reconcile).
    mutating func pause(_ reason: String, _ message: String) {
      let changed = status.pause?.reason != reason || status.phase != .paused
      status.phase = .paused
      if changed { status.pause = RolloutPause(reason: reason, since: now) }
      status.message = message
      if changed, reason != "PauseStep" { event(reason == "Manual" ? "Normal" : "Warning", reason == "Manual" ? "Paused" : reason, message) }
    }

    mutating func unpause() {
      status.pause = nil
      status.phase = .progressing
    }

    mutating func abort(_ reason: String, _ message: String) {
      status.phase = .aborted
      status.pause = nil
      status.abort = RolloutAbort(reason: reason, message: message, at: now, step: step)
      status.candidateWeight = 0
      status.stableWeight = 100
      status.message = "aborted: \(message); all traffic is back on the stable model"
      event("Warning", "Aborted", message)
    }

    mutating func degrade(_ reason: String, _ message: String) {
      if status.phase != .degraded || status.message != message { event("Warning", reason, message) }
      status.phase = .degraded
      status.message = message
      conditions = [condition("Progressing", "False", reason, message)]
    }

    mutating func waiting(_ reason: String, _ message: String) {
      status.message = message
      conditions.append(condition("Progressing", "True", reason, message))
    }

    mutating func requeueAt(_ d: Duration) {
      requeue = min(requeue ?? d, d)
    }

    mutating func event(_ type: String, _ reason: String, _ note: String) {
      events.append(Event(type: type, reason: reason, note: note))
    }

    func condition(_ type: String, _ status: String, _ reason: String, _ message: String) -> StatusCondition {
      StatusCondition(type: type, status: status, observedGeneration: input.rollout.metadata.generation, reason: reason, message: message)
    }

    // MARK: result

    mutating func finish() -> Plan {
      if conditions.isEmpty {
        switch status.phase {
        case .promoted?: conditions = [condition("Progressing", "False", "Promoted", status.message ?? "")]
        case .aborted?: conditions = [condition("Progressing", "False", "Aborted", status.message ?? "")]
        case .paused?: conditions = [condition("Progressing", "False", status.pause?.reason ?? "Paused", status.message ?? "")]
        default: conditions = [condition("Progressing", "True", "Progressing", status.message ?? "")]
        }
      }
      let completed = status.phase == .promoted || status.phase == .aborted
      conditions.append(condition("Completed", completed ? "True" : "False", status.phase?.rawValue ?? "Progressing",
                                  completed ? (status.message ?? "") : "step \(step) of \(stageCount)"))
      var list = input.rollout.status?.conditions ?? []
      for c in conditions { Condition.set(c, in: &list, now: input.now) }
      status.conditions = list.filter { c in conditions.contains { $0.type == c.type } }
      if status.phase == .progressing, status.pause == nil, status.message == nil { status.message = "step \(step) of \(stageCount)" }
      return Plan(status: status, routerWeight: status.candidateWeight ?? 0, events: events, requeueAfter: requeue, measure: measure)
    }
  }
}
