#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ControllerRuntime
import Crypto
import DriftStatistics
import KubeClient
import KubeCore

/// The DriftPolicy controller's reconciler: gathers what `DriftPolicyPlanner` needs — the policy's
/// EdgeModel and owned Jobs from the caches, and, when an evaluation is due, the agents' summaries
/// (scraped from every Ready serving pod), the reference, and finished Jobs' termination messages —
/// and returns the planner's decision as a plan. All decisions are the planner's.
///
/// *Order of writes*: the report ConfigMap, then a new Job, then the status (the applier's order).
/// A controller killed between the Job and the status finds the Job in its cache on restart and
/// adopts it (`DriftPolicyPlanner`): one Job per trigger.
public struct DriftPolicyReconciler: ObjectReconciler {
  public static let resource = DriftPolicy.resource
  public static let jobs = GroupVersionResource(group: "batch", version: "v1", resource: "jobs", namespaced: true)
  /// The drift agent's port (the sidecar contract, docs/drift-agent.md).
  public static let agentPort = 9470

  /// Reads one agent's summaries of [since, until) (`GET /v1/summaries`).
  public typealias Scrape = @Sendable (_ podIP: String, _ since: Int64, _ until: Int64) async -> Result<DriftSummaryReport, DriftInputError>
  /// Runs one instant query (`source.prometheus`) at a Unix second: the answer's series.
  public typealias Query = @Sendable (_ address: String, _ query: String, _ time: Int64) async -> Result<[PrometheusSample], DriftInputError>
  /// Fetches a reference by URI (`reference.uri`); the digest is checked by the caller.
  public typealias Fetch = @Sendable (_ uri: String) async -> Result<[UInt8], DriftInputError>
  /// Publishes a decision's per-feature results as metrics.
  public typealias Publish = @Sendable (_ namespace: String, _ policy: String, _ results: [FeatureResult]) -> Void

  let scrape: Scrape
  let query: Query
  let fetch: Fetch
  let publish: Publish
  let references = ReferenceCache()
  /// Agents scraped at once (`DriftIO.scrapeConcurrency` unless given).
  let scrapeConcurrency: Int

  public init(scrape: Scrape? = nil, query: Query? = nil, fetch: Fetch? = nil, publish: Publish? = nil,
              scrapeConcurrency: Int = DriftIO.scrapeConcurrency) {
    self.scrapeConcurrency = max(1, scrapeConcurrency)
    self.scrape = scrape ?? DriftIO.scrape(port: Self.agentPort)
    self.query = query ?? DriftIO.prometheus
    self.fetch = fetch ?? DriftIO.fetch
    self.publish = publish ?? DriftIO.publishGauges
  }

  public func decode(_ json: JSONValue) throws -> DriftPolicy { try DriftPolicy(json: json) }

  /// The policy was deleted: its p-value, statistic and drift series go.
  public func forget(_ request: ReconcileRequest) async {
    ObjectMetrics.shared.forget(ResourceMetrics.key("DriftPolicy", request))
  }

  public func plan(_ policy: DriftPolicy, json: JSONValue, context: ReconcileContext) async throws -> ReconcilePlan {
    let namespace = policy.metadata.namespace ?? "default"
    let name = policy.metadata.name ?? ""
    let modelName = policy.spec.modelRef.name
    let model = await context.caches.store(EdgeModel.resource)?.get("\(namespace)/\(modelName)").flatMap { try? Decoded.model($0) }
    let jobs = await context.caches.store(Self.jobs)?.byIndex("owner", policy.metadata.uid ?? "") ?? []
    let baselineJSON = await context.caches.store(.configMaps)?.get("\(namespace)/\(DriftPolicyPlanner.baselineName(policy: name))")
    let rollouts = await context.caches.store(RolloutReconciler.resource)?.byIndex("model", "\(namespace)/\(modelName)") ?? []
    let now = context.clock.timestamp
    var input = Self.input(policy, model: model, jobs: jobs, baseline: baselineJSON, rollouts: rollouts, now: now)

    let baselineStale = input.baselineVersion != nil && input.baselineVersion != input.servedVersion
    if let settings = try? DriftPolicyPlanner.settings(policy.spec), model != nil,
       !(settings.baselineWindow != nil && baselineStale) {
      let step = DriftPolicyPlanner.step(policy, settings: settings, hasBaseline: input.hasBaseline, baselineSince: input.baselineSince,
                                         now: now.secondsSinceEpoch)
      switch step {
      case .wait: break
      case .captureBaseline(let since, let until):
        input.gathered = await gather(step, since: since, until: until, policy: policy, reference: nil, context: context)
      case .evaluate(let since, let until):
        let reference = await readReference(policy, baseline: baselineJSON, context: context)
        if case .failure(let error) = reference {
          // Nothing to compare with: no agent (or Prometheus) is asked while the reference cannot be
          // read; the failure is what the condition says, and the pass is retried with backoff.
          input.gathered = .init(step: step, current: .failure(error), pods: 0, reference: reference)
        } else {
          input.gathered = await gather(step, since: since, until: until, policy: policy, reference: reference, context: context)
        }
      }
    }
    // Finished Jobs the status has not recorded: their pods' termination messages.
    for jobName in Self.unrecordedSucceededJobs(policy, jobs: jobs) {
      if let output = await DriftIO.jobOutput(jobName, namespace: namespace, client: context.client) { input.jobOutputs[jobName] = output }
    }
    let plan = DriftPolicyPlanner.plan(input)
    for jobName in plan.deleteJobs {
      do {
        _ = try await context.client.delete(Self.jobs, namespace: namespace, name: jobName, propagationPolicy: "Background")
      } catch let e as KubeAPIError where e.isNotFound {}
    }
    if let results = plan.results { publish(namespace, name, results) }
    return ReconcilePlan(objects: plan.objects, status: ModelCoding.encode(plan.status),
                         events: plan.events, requeueAfter: plan.requeueAfter)
  }

  /// The planner's input for `policy` from what the controller observes, before anything is
  /// gathered: its EdgeModel, the Jobs it owns, its baseline ConfigMap and the Rollouts of its
  /// model (a promoted one's candidate is what the model serves while its spec.model stays,
  /// docs/rollouts.md).
  public static func input(_ policy: DriftPolicy, model: EdgeModel?, jobs: [JSONValue], baseline: JSONValue?, rollouts: [JSONValue],
                           now: Timestamp) -> DriftPolicyPlanner.Input {
    // A baseline ConfigMap without its key is one collecting a new window (a new model version).
    let hasBaseline = baseline?[path: ["data", DriftPolicyPlanner.Labels.baselineKey]] != nil
    let baselineVersion = baseline?[path: ["metadata", "annotations", DriftPolicyPlanner.Labels.baselineVersion]]?.stringValue
    let baselineSince = baseline?[path: ["metadata", "annotations", DriftPolicyPlanner.Labels.baselineSince]]?.stringValue.flatMap { Int64($0) }
    var servedModel: CandidateModel?
    let rolloutInProgress = rollouts.contains { !["Promoted", "Aborted"].contains($0[path: ["status", "phase"]]?.stringValue ?? "") }
    if let model, let current = model.status?.currentVersion, current != model.spec.model.version {
      for r in rollouts
      where r[path: ["status", "phase"]] == "Promoted" && r[path: ["spec", "candidate", "model", "version"]]?.stringValue == current {
        if let uri = r[path: ["spec", "candidate", "model", "uri"]]?.stringValue {
          servedModel = CandidateModel(uri: uri, digest: r[path: ["spec", "candidate", "model", "digest"]]?.stringValue, version: current)
        }
      }
    }
    return DriftPolicyPlanner.Input(policy: policy, model: model, jobs: jobs, hasBaseline: hasBaseline, baselineVersion: baselineVersion,
                                    baselineSince: baselineSince, servedModel: servedModel, rolloutInProgress: rolloutInProgress, now: now)
  }

  /// The owned Jobs that succeeded and whose outcome the status has not recorded yet: their
  /// pods' termination messages are read for the planner.
  public static func unrecordedSucceededJobs(_ policy: DriftPolicy, jobs: [JSONValue]) -> [String] {
    let recorded = Dictionary((policy.status?.retrainJobs ?? []).map { ($0.name, $0.phase) }, uniquingKeysWith: { a, _ in a })
    return jobs.compactMap { job in
      guard DriftPolicyPlanner.jobPhase(job) == "Succeeded", let jobName = job[path: ["metadata", "name"]]?.stringValue,
            (recorded[jobName] ?? "Running") == "Running" else { return nil }
      return jobName
    }
  }

  /// Scrapes every Ready serving pod's agent, `scrapeConcurrency` at a time, merging each answer as
  /// it arrives; or, with `source.prometheus`, asks Prometheus (`gatherFromPrometheus`).
  func gather(_ step: DriftPolicyPlanner.Step, since: Int64, until: Int64, policy: DriftPolicy,
              reference: Result<[String: FeatureSummary], DriftInputError>?, context: ReconcileContext) async -> DriftPolicyPlanner.Gathered {
    let namespace = policy.metadata.namespace ?? "default"
    if let source = policy.spec.source.prometheus {
      return await gatherFromPrometheus(source, step: step, since: since, until: until, policy: policy, reference: reference)
    }
    let pods = await RolloutRouting.servingPods(namespace: namespace, model: policy.spec.modelRef.name, context: context)
      .filter { EdgeModelPlanner.isReady($0) && $0[path: ["metadata", "deletionTimestamp"]] == nil }
      .compactMap { pod -> (name: String, ip: String)? in
        guard let ip = pod[path: ["status", "podIP"]]?.stringValue, !ip.isEmpty else { return nil }
        return (pod[path: ["metadata", "name"]]?.stringValue ?? ip, ip)
      }
    guard !pods.isEmpty else {
      return .init(step: step, current: .failure(DriftInputError("AgentUnreachable", "no Ready serving pod of \(policy.spec.modelRef.name) to scrape")),
                   pods: 0, reference: reference)
    }
    // Each answer is merged as it arrives, with at most `scrapeConcurrency` in flight: memory is
    // one merged set of summaries plus the answers in flight, whatever the number of pods.
    let scrape = self.scrape
    var merge = SummaryMerge(features: policy.spec.features)
    var mergeError: DriftInputError?
    var unanswered: [String] = []
    await DriftIO.forEachAnswer(pods, concurrency: scrapeConcurrency, scrape: { pod in await scrape(pod.ip, since, until) }) { pod, answer in
      switch answer {
      case .success(let report):
        do throws(DriftInputError) { try merge.add(report) } catch {
          mergeError = error
          return false   // the evaluation fails with this error: no need to scrape the rest
        }
      case .failure(let e):
        unanswered.append("\(pod.name): \(e.message)")
      }
      return true
    }
    unanswered.sort()
    if let mergeError {
      return .init(step: step, current: .failure(mergeError), pods: merge.reports, unanswered: unanswered, reference: reference)
    }
    guard merge.reports > 0 else {
      return .init(step: step, current: .failure(DriftInputError("AgentUnreachable", "none of \(pods.count) drift agent(s) answered: "
                                                                   + unanswered.prefix(3).joined(separator: "; "))),
                   pods: 0, unanswered: [], reference: reference)
    }
    return .init(step: step, current: .success(merge.summaries), pods: merge.reports, unanswered: unanswered, reference: reference)
  }

  /// Reads the window's per-bucket counts from Prometheus: the query evaluated at `until` with
  /// `$window` = until − since, once, or once per feature when it names `$feature`
  /// (`PrometheusBuckets`). `pods` is the number of distinct `pod` labels among the series (0 when
  /// the query sums them away).
  func gatherFromPrometheus(_ source: PrometheusDriftSource, step: DriftPolicyPlanner.Step, since: Int64, until: Int64, policy: DriftPolicy,
                            reference: Result<[String: FeatureSummary], DriftInputError>?) async -> DriftPolicyPlanner.Gathered {
    let namespace = policy.metadata.namespace ?? "default"
    let features = policy.spec.features
    func expand(_ feature: String?) -> String {
      PrometheusBuckets.expand(source.query, windowSeconds: until - since, feature: feature, namespace: namespace, model: policy.spec.modelRef.name)
    }
    var pods = Set<String>()
    // A baseline window before the agents were first scraped has no series: that is a window of
    // 0 observations (so a new one starts), as the agents themselves report it, not an error.
    var capturing = false
    if case .captureBaseline = step { capturing = true }
    do throws(DriftInputError) {
      var summaries: [String: FeatureSummary] = [:]
      if PrometheusBuckets.isPerFeature(source.query) {
        for feature in features {
          let q = expand(feature.name)
          let samples = try await query(source.address, q, until).get()
          for s in samples { if let pod = s.labels["pod"] { pods.insert(pod) } }
          if capturing && samples.isEmpty {
            summaries[feature.name] = PrometheusBuckets.empty(feature)
          } else {
            summaries[feature.name] = try PrometheusBuckets.summary(samples, feature: feature, query: q)
          }
        }
      } else {
        let q = expand(nil)
        let samples = try await query(source.address, q, until).get()
        for s in samples { if let pod = s.labels["pod"] { pods.insert(pod) } }
        if capturing && samples.isEmpty {
          for feature in features { summaries[feature.name] = PrometheusBuckets.empty(feature) }
        } else {
          summaries = try PrometheusBuckets.summaries(samples, features: features, query: q)
        }
      }
      return .init(step: step, current: .success(summaries), pods: pods.count, reference: reference)
    } catch {
      return .init(step: step, current: .failure(error), pods: 0, reference: reference)
    }
  }

  /// The reference the policy names, parsed: a ConfigMap key (read live: not the operator's own
  /// object, so not cached), a URI whose sha256 must match `digest` (kept in memory by URI and
  /// digest), or the captured baseline.
  func readReference(_ policy: DriftPolicy, baseline: JSONValue?, context: ReconcileContext) async -> Result<[String: FeatureSummary], DriftInputError> {
    let features = policy.spec.features
    let namespace = policy.metadata.namespace ?? "default"
    do {
      let r = policy.spec.reference
      if let ref = r.configMapRef {
        let cm: JSONValue
        do { cm = try await context.client.get(.configMaps, namespace: namespace, name: ref.name) } catch let e as KubeAPIError where e.isNotFound {
          throw DriftInputError("ReferenceUnreadable", "ConfigMap \(ref.name) (reference) does not exist")
        } catch {
          throw DriftInputError("ReferenceUnreadable", "ConfigMap \(ref.name) (reference) could not be read: \(error)")
        }
        let origin = "ConfigMap \(ref.name) key \(ref.key)"
        if let text = cm[path: ["data", ref.key]]?.stringValue {
          return .success(try DriftData.reference(Array(text.utf8), features: features, origin: origin))
        }
        if let encoded = cm[path: ["binaryData", ref.key]]?.stringValue {
          guard let data = Data(base64Encoded: encoded) else { throw DriftInputError("ReferenceUnreadable", "\(origin): binaryData is not base64") }
          return .success(try DriftData.reference(Array(data), features: features, origin: origin))
        }
        throw DriftInputError("ReferenceUnreadable", "ConfigMap \(ref.name) has no key \(ref.key)")
      }
      if let uri = r.uri {
        let digest = r.digest ?? ""
        if let hit = await references.get(uri: uri, digest: digest, features: features) { return .success(hit) }
        let bytes: [UInt8]
        switch await fetch(uri) {
        case .failure(let e): throw e
        case .success(let b): bytes = b
        }
        let actual = "sha256:" + SHA256.hash(data: bytes).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        guard actual == digest else {
          throw DriftInputError("ReferenceUnreadable", "reference \(uri): digest \(actual) does not match the policy's \(digest)")
        }
        let parsed = try DriftData.reference(bytes, features: features, origin: "reference \(uri)")
        await references.put(uri: uri, digest: digest, features: features, parsed)
        return .success(parsed)
      }
      if r.baseline != nil {
        guard let text = baseline?[path: ["data", DriftPolicyPlanner.Labels.baselineKey]]?.stringValue else {
          throw DriftInputError("ReferenceUnreadable", "the baseline ConfigMap \(DriftPolicyPlanner.baselineName(policy: policy.metadata.name ?? "")) has no \(DriftPolicyPlanner.Labels.baselineKey)")
        }
        return .success(try DriftData.reference(Array(text.utf8), features: features, origin: "the baseline"))
      }
      throw DriftInputError("ReferenceUnreadable", "the policy names no reference")
    } catch let e as DriftInputError {
      return .failure(e)
    } catch {
      return .failure(DriftInputError("ReferenceUnreadable", "\(error)"))
    }
  }
}

/// References fetched by URI, parsed, by URI, digest and feature list (a digest pins the bytes, so
/// an entry never goes stale). At most 32 kept.
actor ReferenceCache {
  private var entries: [String: [String: FeatureSummary]] = [:]

  private func key(_ uri: String, _ digest: String, _ features: [DriftFeature]) -> String {
    "\(uri)|\(digest)|" + features.map { "\($0.name):\($0.type.rawValue)" }.joined(separator: ",")
  }

  func get(uri: String, digest: String, features: [DriftFeature]) -> [String: FeatureSummary]? { entries[key(uri, digest, features)] }

  func put(uri: String, digest: String, features: [DriftFeature], _ value: [String: FeatureSummary]) {
    if entries.count >= 32 { entries = [:] }
    entries[key(uri, digest, features)] = value
  }
}

/// The DriftPolicy controller's network reads and metrics: the agents' summaries, references by
/// URI, Jobs' termination messages, and the drift gauges.
public enum DriftIO {
  /// The most bytes one agent's answer may have (1,000 features of full sketches fit in ~10 MiB).
  static let maximumSummaryBytes = 16 << 20

  /// How long one agent may take to answer before it counts as unreachable (`scrape`'s default).
  public static let scrapeTimeout: Duration = .seconds(10)

  /// `GET http://IP:port/v1/summaries?since=&until=` on one agent, over the operator's shared transport,
  /// given up after `timeout` (a silent agent holds one of the evaluation's scrape slots that long).
  public static func scrape(port: Int, timeout: Duration = scrapeTimeout) -> DriftPolicyReconciler.Scrape {
    { ip, since, until in
      guard let transport = RolloutRouting.sharedTransport else {
        return .failure(DriftInputError("AgentUnreachable", "no HTTP transport could be set up in this operator"))
      }
      let host = ip.contains(":") ? "[\(ip)]" : ip
      // Messages name the agent without the window's query, so a failure repeated on every try
      // joins one Event series instead of writing a new Event each time.
      let agent = "http://\(host):\(port)/v1/summaries"
      let url = agent + "?since=\(since)&until=\(until)"
      let response: HTTPResponse
      do { response = try await transport.send(HTTPRequest(method: "GET", url: url, timeout: timeout)) } catch {
        return .failure(DriftInputError("AgentUnreachable", "\(agent): \(error)"))
      }
      guard response.status == 200 else {
        return .failure(DriftInputError("AgentUnreachable", "\(agent) answered \(response.status)"))
      }
      guard response.body.count <= maximumSummaryBytes else {
        return .failure(DriftInputError("SummaryInvalid", "\(agent): \(response.body.count) bytes, more than \(maximumSummaryBytes)"))
      }
      do {
        return .success(try DriftSummaryReport(json: try JSONValue(parsing: response.body)))
      } catch let error as DriftInputError {
        return .failure(DriftInputError(error.reason, "\(url): \(error.message)"))
      } catch {
        return .failure(DriftInputError("SummaryInvalid", "\(agent): not a drift summary report: \(error)"))
      }
    }
  }

  /// The most bytes of a Prometheus answer read (1,000 features of 20 buckets per pod are far below).
  static let maximumQueryBytes = 16 << 20

  /// `GET <address>/api/v1/query?query=…&time=…` (prometheus.io/docs/prometheus/latest/querying/api/,
  /// "Instant queries") over the operator's shared transport, 10 s at most. No answer, or a page
  /// that is not Prometheus' JSON (a proxy's 502), is `SourceUnreachable`; a refused query, or an
  /// answer that is not an instant vector, is `QueryFailed` naming the query.
  public static let prometheus: DriftPolicyReconciler.Query = { address, query, time in
    guard let transport = RolloutRouting.sharedTransport else {
      return .failure(DriftInputError("SourceUnreachable", "no HTTP transport could be set up in this operator"))
    }
    // Prometheus stops the query itself a second before the request's own limit (its `timeout` parameter).
    let url = PrometheusProvider.queryURL(address: address, query: query, time: Timestamp(secondsSinceEpoch: time)) + "&timeout=9s"
    let response: HTTPResponse
    do {
      response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: [("Accept", "application/json")], timeout: .seconds(10)))
    } catch let error as TransportError {
      return .failure(DriftInputError("SourceUnreachable", "Prometheus at \(address) did not answer: \(PrometheusProvider.describe(error))"))
    } catch {
      return .failure(DriftInputError("SourceUnreachable", "Prometheus at \(address) did not answer: \(error)"))
    }
    guard response.body.count <= maximumQueryBytes else {
      return .failure(DriftInputError("QueryFailed", "the query \(query): \(response.body.count) bytes of answer, more than \(maximumQueryBytes)"))
    }
    switch PrometheusResponse.decodeVector(status: response.status, body: response.body) {
    case .success(let samples): return .success(samples)
    case .failure(let e) where !e.answered: return .failure(DriftInputError("SourceUnreachable", "Prometheus at \(address): \(e.message)"))
    case .failure(let e): return .failure(DriftInputError("QueryFailed", "the query \(query): \(e.message)"))
    }
  }

  /// Fetches `http(s)://` references (at most `DriftData.maximumReferenceBytes`).
  public static let fetch: DriftPolicyReconciler.Fetch = { uri in
    guard uri.hasPrefix("https://") || uri.hasPrefix("http://") else {
      return .failure(DriftInputError("ReferenceUnreadable", "reference \(uri): only http:// and https:// references can be fetched"))
    }
    guard let transport = RolloutRouting.sharedTransport else {
      return .failure(DriftInputError("ReferenceUnreadable", "no HTTP transport could be set up in this operator"))
    }
    do {
      let response = try await transport.send(HTTPRequest(method: "GET", url: uri, timeout: .seconds(30)))
      guard response.status == 200 else { return .failure(DriftInputError("ReferenceUnreadable", "reference \(uri) answered \(response.status)")) }
      return .success(response.body)
    } catch {
      return .failure(DriftInputError("ReferenceUnreadable", "reference \(uri): \(error)"))
    }
  }

  /// The finished Job's output from its pods' termination messages (the newest pod that has one);
  /// nil when its pods could not be listed now (looked at again on the next pass).
  public static func jobOutput(_ jobName: String, namespace: String, client: KubeClient) async -> DriftPolicyPlanner.JobOutput? {
    guard let pods = try? await client.list(.pods, namespace: namespace, labelSelector: "job-name=\(jobName)").items else { return nil }
    let sorted = pods.sorted {
      ($0[path: ["metadata", "creationTimestamp"]]?.stringValue ?? "") > ($1[path: ["metadata", "creationTimestamp"]]?.stringValue ?? "")
    }
    for pod in sorted where pod[path: ["status", "phase"]]?.stringValue == "Succeeded" {
      for status in pod[path: ["status", "containerStatuses"]]?.arrayValue ?? [] {
        if let message = status[path: ["state", "terminated", "message"]]?.stringValue, !message.isEmpty {
          return DriftPolicyPlanner.parseJobOutput(message)
        }
      }
    }
    return .none(sorted.isEmpty ? "no pod of the Job is left to read its termination message from"
                                : "the Job's pods wrote no termination message")
  }

  /// `edgeml_drift_p_value`, `edgeml_drift_statistic` and `edgeml_drift_detected` (0/1) per feature,
  /// labelled namespace, policy and feature, through the process's metrics backend (the operator's
  /// /metrics). A test without p-value (a distance) sets no p-value gauge.
  /// Each evaluation replaces the policy's series (a feature removed from the spec loses its own),
  /// and `DriftPolicyReconciler.forget` removes them with the policy.
  public static let publishGauges: DriftPolicyReconciler.Publish = { namespace, policy, results in
    ObjectMetrics.shared.setGauges(ResourceMetrics.key("DriftPolicy", ReconcileRequest(namespace: namespace, name: policy)),
                                   ResourceMetrics.drift(namespace: namespace, policy: policy, results: results))
  }
}
