import ControllerRuntime
import DriftStatistics
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KubeClient
import KubeCore
import KubeEmulator
import Logging
import Synchronization
import Testing
@testable import EdgeML

/// The DriftPolicy controller against the emulator over HTTPS, on a manual clock: a controller
/// stopped between its retraining Job and its status write, and bad input found on the cluster.
/// The agents' answers come from the test (`Agents`); a silent agent is a real loopback listener
/// that never answers, scraped over HTTP as the operator scrapes.
///
/// Stopping a controller (`stop`, and the first controller of `stoppedBetweenJobAndStatus`) used to
/// hang the suite: a worker cancelled in the middle of a reconcile that writes put its key back, the
/// work queue handed it straight back to the same cancelled worker, and every call the worker made
/// failed at once with `CancellationError` — a loop with no I/O through `plan` and its status encode
/// that never let the manager return. A cancelled worker now takes no key
/// (`WorkQueue.get`; `TypedReconcilerTests.stopDuringAReconcile`).
@Suite(.serialized)
struct DriftPolicyFaultTests {
  typealias Cluster = EdgeModelReconcilerTests.Cluster
  let cluster = EdgeModelReconcilerTests()
  static let policyName = "detector-drift"

  /// What the test's agents answer, by pod IP, and how many scrapes each got.
  final class Agents: Sendable {
    enum Answer: Sendable { case report([String: FeatureSummary]), silent }
    private let state = Mutex<(answers: [String: Answer], scrapes: [String: Int], finished: [String])>(([:], [:], []))
    /// Where silent agents are scraped (a listener that accepts and never answers).
    let silentPort: Int
    let timeout: Duration

    init(silentPort: Int, timeout: Duration = .seconds(1)) {
      self.silentPort = silentPort
      self.timeout = timeout
    }

    func set(_ ip: String, _ answer: Answer) { state.withLock { $0.answers[ip] = answer } }
    func scrapes(_ ip: String) -> Int { state.withLock { $0.scrapes[ip] ?? 0 } }
    var totalScrapes: Int { state.withLock { $0.scrapes.values.reduce(0, +) } }
    /// The IPs whose scrapes have returned, in the order they returned.
    var finished: [String] { state.withLock { $0.finished } }

    /// The reconciler's scrape: a report from the test, or the real HTTP scrape of a silent agent.
    var scrape: DriftPolicyReconciler.Scrape {
      let real = DriftIO.scrape(port: silentPort, timeout: timeout)
      return { [self] ip, since, until in
        let answer = state.withLock { s -> Answer? in
          s.scrapes[ip, default: 0] += 1
          return s.answers[ip]
        }
        let result: Result<DriftSummaryReport, DriftInputError>
        switch answer {
        case .report(let summaries)?: result = .success(DriftData.report(summaries, source: ip, start: since, end: until))
        case .silent?, nil: result = await real(ip, since, until)
        }
        state.withLock { $0.finished.append(ip) }
        return result
      }
    }
  }

  /// A TCP listener on `ip` that completes connections (the kernel's backlog) and never reads or
  /// answers: an agent that hangs.
  final class SilentListener {
    let fd: Int32
    let port: Int
    init(ip: String = "127.0.0.1") throws {
      let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      try #require(socketFD >= 0)
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr(ip)
      address.sin_port = 0
      var length = socklen_t(MemoryLayout<sockaddr_in>.size)
      let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && getsockname(socketFD, $0, &length) == 0 }
      }
      guard bound && listen(socketFD, 64) == 0 else {
        close(socketFD)
        throw CancellationError()
      }
      fd = socketFD
      port = Int(UInt16(bigEndian: address.sin_port))
    }
    deinit { close(fd) }
  }

  // MARK: the cluster

  static func referenceJSON(_ summaries: [String: FeatureSummary]) -> String {
    ModelCoding.encode(DriftData.report(summaries, source: "reference", start: 0, end: 600)).serializedString()
  }

  static func policy(interval: String = "10m", cooldown: String = "6h", reference: JSONValue? = nil) -> JSONValue {
    [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "DriftPolicy", "metadata": ["name": .string(policyName), "namespace": "default"],
      "spec": [
        "modelRef": ["name": "detector"], "source": ["podMetrics": [:]],
        "reference": reference ?? ["configMapRef": ["name": "ref", "key": "reference.json"]],
        "features": [["name": "brightness", "type": "numerical", "test": "ks"], ["name": "contrast", "type": "numerical", "test": "ks"],
                     ["name": "speed", "type": "numerical", "test": "ks"], ["name": "label", "type": "categorical", "test": "chi2"]],
        "datasetDrift": ["share": 0.5], "correction": "benjamini-hochberg",
        "schedule": ["interval": .string(interval), "window": "10m", "minSamples": 100],
        "retraining": ["cooldown": .string(cooldown), "maxConcurrent": 1, "historyLimit": 5,
                       "jobTemplate": ["spec": ["backoffLimit": 0, "template": ["spec": [
                         "restartPolicy": "Never", "containers": [["name": "train", "image": "registry.example.com/train:1"]]]]]]],
      ],
    ]
  }

  /// The model, its reference ConfigMap and `pods` Ready serving pods at 127.0.0.(2+i).
  func prepare(_ c: Cluster, reference: [String: FeatureSummary]?, pods: Int) async throws -> [String] {
    _ = try await c.client.create(EdgeModel.resource, namespace: "default", cluster.model)
    if let reference {
      _ = try await c.client.create(.configMaps, namespace: "default", [
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "ref", "namespace": "default"],
        "data": ["reference.json": .string(Self.referenceJSON(reference))],
      ])
    }
    var ips: [String] = []
    for i in 0..<pods {
      let name = "detector-\(i)", ip = "127.0.0.\(2 + i)"
      _ = try await c.client.create(.pods, namespace: "default", [
        "apiVersion": "v1", "kind": "Pod",
        "metadata": ["name": .string(name), "namespace": "default",
                     "labels": ["edgeml.io/model": "detector", "app.kubernetes.io/managed-by": "edgeml-operator"]],
        "spec": ["containers": [["name": "serving", "image": "nvcr.io/nvidia/tritonserver:24.08-py3-igpu"]]],
      ])
      _ = try await c.client.patch(.pods, namespace: "default", name: name, ["status": [
        "phase": "Running", "podIP": .string(ip), "conditions": [["type": "Ready", "status": "True"]]]], type: .merge, subresource: "status")
      ips.append(ip)
    }
    return ips
  }

  /// The DriftPolicy controller alone, on `clock`, with a fresh manager (fresh caches).
  func runController(_ c: Cluster, agents: Agents, clock: ManualClock, concurrency: Int = 8) async -> (Task<Void, any Error>, Manager) {
    let reconciler = DriftPolicyReconciler(scrape: agents.scrape, publish: { _, _, _ in }, scrapeConcurrency: concurrency)
    return await cluster.run(c, [OperatorAssembly.driftPolicyController(workers: 2, reconciler: reconciler)], clock: clock)
  }

  /// One test's cluster and agents.
  struct Setup {
    let c: Cluster
    let ips: [String]
    let agents: Agents
    let listener: SilentListener
    /// The EdgeModel as it was before the policy.
    let model: JSONValue
  }

  /// The model, its reference ConfigMap (none when nil), `pods` Ready serving pods whose agents
  /// give `answer(i)` (a silent first pod gets the listener on its IP), and the policy.
  func setUp(pods: Int, reference: [String: FeatureSummary]?, policy: JSONValue = DriftPolicyFaultTests.policy(),
             answer: (Int) throws -> Agents.Answer) async throws -> Setup {
    let c = try await cluster.start()
    let ips = try await prepare(c, reference: reference, pods: pods)
    var answers: [Agents.Answer] = []
    for i in ips.indices { answers.append(try answer(i)) }
    let silentFirst = if case .silent = answers[0] { true } else { false }
    let listener = try SilentListener(ip: silentFirst ? ips[0] : "127.0.0.1")
    let agents = Agents(silentPort: listener.port)
    for (ip, a) in zip(ips, answers) { agents.set(ip, a) }
    let model = try await c.client.get(EdgeModel.resource, namespace: "default", name: "detector")
    _ = try await c.client.create(DriftPolicy.resource, namespace: "default", policy)
    return Setup(c: c, ips: ips, agents: agents, listener: listener, model: model)
  }

  /// Stops the controller (cancels its manager and waits for it to return), then the cluster.
  func stop(_ task: Task<Void, any Error>, _ c: Cluster) async {
    task.cancel()
    _ = await task.result
    await c.stop()
  }

  /// The model's spec and generation are as before the policy: nothing touched what it serves.
  func modelUntouched(_ s: Setup) async throws -> Bool {
    let now = try await s.c.client.get(EdgeModel.resource, namespace: "default", name: "detector")
    return now["spec"] == s.model["spec"] && now[path: ["metadata", "generation"]] == s.model[path: ["metadata", "generation"]]
  }

  func policyStatus(_ c: Cluster) async throws -> JSONValue {
    try await c.client.get(DriftPolicy.resource, namespace: "default", name: Self.policyName)["status"] ?? [:]
  }

  func condition(_ status: JSONValue, _ type: String) -> JSONValue? {
    status["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
  }

  func jobNames(_ c: Cluster) async throws -> [String] {
    try await c.client.list(DriftPolicyReconciler.jobs, namespace: "default").items.compactMap { $0[path: ["metadata", "name"]]?.stringValue }.sorted()
  }

  /// Events about the policy: (type, reason, note).
  func events(_ c: Cluster) async throws -> [(type: String, reason: String, note: String)] {
    try await c.client.list(.events, namespace: "default").items
      .filter { $0[path: ["regarding", "name"]]?.stringValue == Self.policyName }
      .map { ($0["type"]?.stringValue ?? "", $0["reason"]?.stringValue ?? "", $0["note"]?.stringValue ?? "") }
  }

  /// Moves the controller's clock to the policy's next requeue, once it is scheduled.
  func advanceToNextPass(_ manager: Manager, _ clock: ManualClock) async throws {
    let queue = try #require(manager.controller("driftpolicy")).queue
    let request = ReconcileRequest(namespace: "default", name: Self.policyName)
    #expect(try await cluster.eventually { queue.delayedUntil(request) != nil }, "no next pass was scheduled")
    if let due = queue.delayedUntil(request) { clock.advance(by: max(.zero, due - clock.now)) }
  }

  static func drifted(_ seed: UInt64) throws -> [String: FeatureSummary] {
    var rng = SeededRandom(seed: seed)
    return try DriftFixtures.summaries(&rng, n: 300, shift: 0.8, labelBias: 0.3)
  }

  static func quiet(_ seed: UInt64) throws -> [String: FeatureSummary] {
    var rng = SeededRandom(seed: seed)
    return try DriftFixtures.summaries(&rng, n: 300)
  }

  // MARK: crash between the Job and the status

  @Test("a controller stopped after creating the retraining Job and before writing the status leaves one Job, which a fresh controller adopts")
  func stoppedBetweenJobAndStatus() async throws {
    let s = try await setUp(pods: 2, reference: try Self.quiet(1)) { .report(try Self.drifted(10 + UInt64($0))) }
    let (c, ips, agents) = (s.c, s.ips, s.agents)
    // The status write never lands: the first controller's last act is the Job.
    c.emulator.api.faults.configuration.refusals = [RequestRefusal(verb: "PATCH", resource: "driftpolicies", subresource: "status")]

    let first = await runController(c, agents: agents, clock: ManualClock())
    let created = try await cluster.eventually(20) { try await jobNames(c) == ["\(Self.policyName)-retrain-1"] }
    first.0.cancel()
    _ = await first.0.result
    let names = try await jobNames(c)
    #expect(created, "no retraining Job: \(names)")
    #expect(c.emulator.api.faults.servedFaults >= 1)
    let before = try await policyStatus(c)
    #expect(before["lastRetrainJob"] == nil && before["retrainCount"] == nil, "the status was written: \(before)")

    // A new controller, new caches, the API healthy again.
    c.emulator.api.faults.configuration.refusals = []
    let clock = ManualClock()
    let (task, manager) = await runController(c, agents: agents, clock: clock)
    let adopted = try await cluster.eventually(20) {
      let s = try await policyStatus(c)
      return s["lastRetrainJob"] == .string("\(Self.policyName)-retrain-1") && s["retrainCount"] == 1
    }
    let after = try await policyStatus(c)
    #expect(adopted, "\(after)")
    #expect(try await jobNames(c) == ["\(Self.policyName)-retrain-1"])
    let job = try await c.client.get(DriftPolicyReconciler.jobs, namespace: "default", name: "\(Self.policyName)-retrain-1")
    let policyUID = try await c.client.get(DriftPolicy.resource, namespace: "default", name: Self.policyName)[path: ["metadata", "uid"]]
    #expect(job[path: ["metadata", "ownerReferences"]]?.arrayValue?.first?["uid"] == policyUID)

    // The drift goes on: the next evaluations add no Job while that one runs (maxConcurrent 1).
    for _ in 0..<2 {
      let scrapes = agents.totalScrapes
      try await advanceToNextPass(manager, clock)
      let evaluated = try await cluster.eventually(20) {
        let status = try await policyStatus(c)
        return agents.totalScrapes >= scrapes + ips.count && condition(status, "RetrainingTriggered")?["reason"] == "MaxConcurrent"
      }
      let status = try await policyStatus(c)
      #expect(evaluated, "\(status)")
    }
    #expect(try await jobNames(c) == ["\(Self.policyName)-retrain-1"])
    #expect(try await policyStatus(c)["retrainCount"] == 1)
    await stop(task, c)
  }

  // MARK: bad input on the cluster

  @Test("a silent agent holds one scrape slot until its timeout while the others are scraped and merged; an AgentUnreachable Event names it")
  func silentAgentHoldsOneSlot() async throws {
    let s = try await setUp(pods: 4, reference: try Self.quiet(1)) { $0 == 0 ? .silent : .report(try Self.quiet(20 + UInt64($0))) }
    let (c, ips, agents, listener) = (s.c, s.ips, s.agents, s.listener)
    let (task, _) = await runController(c, agents: agents, clock: ManualClock(), concurrency: 2)

    let evaluated = try await cluster.eventually(20) { try await policyStatus(c)["lastEvaluation"]?["pods"] == 3 }
    let status = try await policyStatus(c)
    #expect(evaluated, "\(status)")
    // The three answering agents were scraped, through the second slot, before the silent one gave up.
    #expect(agents.finished.last == ips[0] && Set(agents.finished.dropLast()) == Set(ips.dropFirst()), "\(agents.finished)")
    #expect(ips.allSatisfy { agents.scrapes($0) == 1 })
    let warned = try await cluster.eventually { try await events(c).contains { $0.reason == "AgentUnreachable" } }
    let warning = try await events(c).first { $0.reason == "AgentUnreachable" }
    #expect(warned && warning?.type == "Warning")
    #expect(warning?.note.hasPrefix("1 drift agent(s) did not answer, e.g. detector-0: http://\(ips[0]):\(listener.port)/v1/summaries") == true,
            "\(String(describing: warning))")
    await stop(task, c)
  }

  @Test("when no agent answers the evaluation fails with AgentUnreachable and is tried again after 10 s, 20 s, 40 s — never more often — and the model is untouched")
  func noAgentAnswersBacksOff() async throws {
    let s = try await setUp(pods: 1, reference: try Self.quiet(1)) { _ in .silent }
    let (c, ips, agents, listener) = (s.c, s.ips, s.agents, s.listener)
    let clock = ManualClock()
    let (task, manager) = await runController(c, agents: agents, clock: clock)
    let queue = try #require(manager.controller("driftpolicy")).queue
    let request = ReconcileRequest(namespace: "default", name: Self.policyName)

    var delays: [Duration] = []
    for attempt in 1...4 {
      let failed = try await cluster.eventually(20) {
        try await policyStatus(c)["attemptFailures"] == .number(JSONNumber(attempt)) && queue.delayedUntil(request) != nil
      }
      let status = try await policyStatus(c)
      #expect(failed, "attempt \(attempt): \(status)")
      #expect(agents.scrapes(ips[0]) == attempt)
      if let due = queue.delayedUntil(request) {
        delays.append(due - clock.now)
        clock.advance(by: due - clock.now)
      }
    }
    #expect(delays == [.seconds(10), .seconds(20), .seconds(40), .seconds(80)])
    let status = try await policyStatus(c)
    #expect(condition(status, "Drifted")?["status"] == "Unknown" && condition(status, "Drifted")?["reason"] == "AgentUnreachable")
    let message = condition(status, "Drifted")?["message"]?.stringValue ?? ""
    #expect(message.hasPrefix("none of 1 drift agent(s) answered: detector-0: http://\(ips[0]):\(listener.port)/v1/summaries"), "\(message)")
    let warnings = try await events(c).filter { $0.reason == "AgentUnreachable" }
    #expect(!warnings.isEmpty && warnings.allSatisfy { $0.type == "Warning" })
    #expect(try await jobNames(c).isEmpty)
    #expect(try await modelUntouched(s))
    await stop(task, c)
  }

  @Test("a missing reference, a reference without a feature and a feature no agent reports each say so in the condition and a Warning, and back off until fixed")
  func referenceAndFeatureErrors() async throws {
    let s = try await setUp(pods: 2, reference: nil) { .report(try Self.quiet(30 + UInt64($0)).filter { $0.key != "speed" }) }
    let (c, ips, agents) = (s.c, s.ips, s.agents)
    let clock = ManualClock()
    let (task, manager) = await runController(c, agents: agents, clock: clock)

    func drifted(_ reason: String) async throws -> String? {
      let ok = try await cluster.eventually(20) { condition(try await policyStatus(c), "Drifted")?["reason"]?.stringValue == reason }
      let status = try await policyStatus(c)
      #expect(ok, "waiting for \(reason): \(status)")
      return condition(status, "Drifted")?["message"]?.stringValue
    }
    func warned(_ reason: String) async throws -> String? {
      _ = try await cluster.eventually { try await events(c).contains { $0.reason == reason && $0.type == "Warning" } }
      return try await events(c).first { $0.reason == reason && $0.type == "Warning" }?.note
    }

    // 1. The ConfigMap the policy names does not exist.
    #expect(try await drifted("ReferenceUnreadable") == "ConfigMap ref (reference) does not exist")
    #expect(try await warned("ReferenceUnreadable") == "ConfigMap ref (reference) does not exist")

    // 2. It appears without one of the policy's features.
    var reference = try Self.quiet(1)
    reference["contrast"] = nil
    _ = try await c.client.create(.configMaps, namespace: "default", [
      "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "ref", "namespace": "default"],
      "data": ["reference.json": .string(Self.referenceJSON(reference))],
    ])
    try await advanceToNextPass(manager, clock)
    #expect(try await drifted("ReferenceMismatch") == "ConfigMap ref key reference.json has no feature contrast")
    #expect(try await warned("ReferenceMismatch") == "ConfigMap ref key reference.json has no feature contrast")

    // 3. The reference is whole, but no agent reports `speed`.
    _ = try await c.client.patch(.configMaps, namespace: "default", name: "ref",
                                 ["data": ["reference.json": .string(Self.referenceJSON(try Self.quiet(1)))]], type: .merge)
    try await advanceToNextPass(manager, clock)
    #expect(try await drifted("FeatureMissing") == "no agent reported feature speed in the window")
    #expect(try await warned("FeatureMissing") == "no agent reported feature speed in the window")
    // Three failed attempts: the next is 40 s away, not sooner.
    #expect(try await policyStatus(c)["attemptFailures"] == 3)
    let queue = try #require(manager.controller("driftpolicy")).queue
    #expect(queue.delayedUntil(ReconcileRequest(namespace: "default", name: Self.policyName)) == clock.now + .seconds(40))
    // No retry storm, and no agent asked while the reference could not be read: one scrape per pod,
    // on the third attempt only.
    #expect(ips.allSatisfy { agents.scrapes($0) == 1 }, "\(ips.map { agents.scrapes($0) })")

    // 4. Fixed: the next pass decides, and the failures are forgotten.
    for (i, ip) in ips.enumerated() { agents.set(ip, .report(try Self.quiet(40 + UInt64(i)))) }
    try await advanceToNextPass(manager, clock)
    let decided = try await cluster.eventually(20) { try await policyStatus(c)["lastEvaluation"] != nil }
    #expect(decided)
    #expect(try await policyStatus(c)["attemptFailures"] == nil)
    #expect(try await jobNames(c).isEmpty)
    await stop(task, c)
  }

  @Test("a retraining Job that fails, then one that ends without a model: the condition and a Warning say so, no Rollout is made, the model is untouched, and retraining backs off")
  func failedRetrainingBacksOff() async throws {
    let s = try await setUp(pods: 1, reference: try Self.quiet(1), policy: Self.policy(interval: "1m", cooldown: "1m")) { _ in
      .report(try Self.drifted(50))
    }
    let (c, ips, agents) = (s.c, s.ips, s.agents)
    let clock = ManualClock()
    let (task, manager) = await runController(c, agents: agents, clock: clock)
    let start = clock.now

    func retraining() async throws -> JSONValue? { condition(try await policyStatus(c), "RetrainingTriggered") }
    func finish(_ job: String, failed: Bool) async throws {
      var status: JSONValue = ["startTime": "2027-01-15T08:00:00Z", "completionTime": "2027-01-15T08:00:30Z"]
      if failed {
        status["conditions"] = [["type": "FailureTarget", "status": "True"], ["type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"]]
        status["failed"] = 1
      } else {
        status["conditions"] = [["type": "SuccessCriteriaMet", "status": "True"], ["type": "Complete", "status": "True"]]
        status["succeeded"] = 1
      }
      _ = try await c.client.patch(DriftPolicyReconciler.jobs, namespace: "default", name: job, ["status": status], type: .merge, subresource: "status")
    }

    #expect(try await cluster.eventually(20) { try await jobNames(c) == ["\(Self.policyName)-retrain-1"] })
    try await finish("\(Self.policyName)-retrain-1", failed: true)
    let failedSeen = try await cluster.eventually(20) { try await retraining()?["reason"] == "RetrainingFailed" }
    let failedCondition = try await retraining()
    #expect(failedSeen && failedCondition?["status"] == "False", "\(String(describing: failedCondition))")
    #expect(failedCondition?["message"]?.stringValue == "retraining Job \(Self.policyName)-retrain-1 failed; the serving model is unchanged")
    #expect(try await cluster.eventually { try await events(c).contains { $0.type == "Warning" && $0.reason == "RetrainingFailed" } })

    // The drift goes on, every minute; after one failure the next Job waits 5 min from the first trigger.
    var created: [Duration: [String]] = [:]
    while clock.now - start < .seconds(300) {
      try await advanceToNextPass(manager, clock)
      let passed = try await cluster.eventually(20) { try await policyStatus(c)["lastAttemptTime"] == .string(clock.timestamp.rfc3339) }
      #expect(passed)
      created[clock.now - start] = try await jobNames(c)
    }
    let early = created.filter { $0.key < .seconds(300) }
    #expect(!early.isEmpty && early.values.allSatisfy { $0 == ["\(Self.policyName)-retrain-1"] }, "\(created)")
    #expect(try await cluster.eventually(20) { try await jobNames(c).count == 2 }, "\(created)")
    #expect(try await jobNames(c) == ["\(Self.policyName)-retrain-1", "\(Self.policyName)-retrain-2"])

    // The second ends "Complete" without a model: no pod wrote a termination message.
    try await finish("\(Self.policyName)-retrain-2", failed: false)
    let noModel = try await cluster.eventually(20) { try await retraining()?["reason"] == "NoModelOutput" }
    let noModelCondition = try await retraining()
    #expect(noModel, "\(String(describing: noModelCondition))")
    #expect(noModelCondition?["message"]?.stringValue == "retraining Job \(Self.policyName)-retrain-2 succeeded but produced no model: no pod of the Job is left to read its termination message from")
    #expect(try await cluster.eventually { try await events(c).contains { $0.type == "Warning" && $0.reason == "NoModelOutput" } })
    #expect(try await policyStatus(c)["retrainFailures"] == 2)

    // Nothing was handed on: no Rollout, the model as it was.
    #expect(try await c.client.list(Rollout.resource, namespace: "default").items.isEmpty)
    #expect(try await modelUntouched(s))
    await stop(task, c)
  }
}
