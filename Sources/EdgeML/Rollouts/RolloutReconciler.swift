import ControllerRuntime
import KubeClient
import KubeCore

/// The Rollout controller's reconciler: gathers the planner's input from the caches (the Rollout,
/// its EdgeModel, the other Rollouts of that model), takes the measurements an analysis step asks
/// for, moves the router to the planned weight, and returns the status as a plan.
///
/// *Order of writes*: traffic first, then status. A controller killed between the two finds the
/// old status, plans the same weight again and writes it again (routers are idempotent), so a
/// step is never skipped and weights never jump.
public struct RolloutReconciler: ObjectReconciler {
  public static let resource = Rollout.resource

  /// Measures one metric of the current analysis step now (`index`: the measurement's number,
  /// which names a Job); the result goes to `status.analysisRuns`.
  public typealias Measure = @Sendable (_ metric: AnalysisMetric, _ rollout: Rollout, _ model: EdgeModel?, _ index: Int, ReconcileContext) async -> Measurement
  /// Sets the candidate's weight on the rollout's router (`finished`: gives the router back).
  public typealias Route = @Sendable (_ rollout: Rollout, _ model: EdgeModel?, _ weight: Int, _ finished: Bool, ReconcileContext) async throws -> Void

  /// Reads the success and failure counters of the A/B metric from each serving pod, by track.
  public typealias Count = @Sendable (_ rollout: Rollout, _ model: EdgeModel?, ReconcileContext) async -> [String: [String: PodCounts]]

  let measure: Measure
  let route: Route
  let count: Count

  public init(measure: @escaping Measure, route: @escaping Route, count: @escaping Count) {
    self.measure = measure
    self.route = route
    self.count = count
  }

  public func decode(_ json: JSONValue) throws -> Rollout { try Decoded.rollout(json) }

  public func plan(_ rollout: Rollout, json: JSONValue, context: ReconcileContext) async throws -> ReconcilePlan {
    let namespace = rollout.metadata.namespace ?? "default"
    let modelKey = "\(namespace)/\(rollout.spec.modelRef.name)"
    let model = await context.caches.store(EdgeModel.resource)?.get(modelKey).flatMap { try? Decoded.model($0) }
    let siblings = await context.caches.store(Self.resource)?.byIndex("model", modelKey).compactMap { try? Decoded.rollout($0) } ?? []
    let now = context.clock.timestamp

    var current = rollout
    var input = Self.input(rollout, model: model, siblings: siblings, now: now)
    var plan = RolloutPlanner.plan(input)
    // An analysis step that wants a measurement gets it now, and the step is planned again with it.
    if plan.measure == [RolloutPlanner.abTestMeasurement] {
      input.abCounts = await count(rollout, model, context)
      plan = RolloutPlanner.plan(input)
    } else if !plan.measure.isEmpty {
      current.status = plan.status
      var results = RolloutAnalysis.results(of: current)
      let metrics = RolloutAnalysis.metrics(of: current)
      for metric in metrics where plan.measure.contains(metric.name) {
        var result = results[metric.name] ?? MetricResult(name: metric.name)
        let measurement = await measure(metric, current, model, result.nextMeasurementIndex, context)
        result.record(measurement)
        if let counter = ResourceMetrics.analysis(namespace: namespace, rollout: context.request.name,
                                                  model: rollout.spec.modelRef.name, measurement: measurement) {
          let key = ResourceMetrics.key("Rollout", context.request)
          for zero in ResourceMetrics.analysisResults(namespace: namespace, rollout: context.request.name,
                                                      model: rollout.spec.modelRef.name, metric: metric.name) {
            ObjectMetrics.shared.increment(key, zero, by: 0)
          }
          ObjectMetrics.shared.increment(key, counter)
        }
        let assessment = assessMetric(metric, result: result)
        result.phase = assessment.phase
        result.message = assessment.reason
        results[metric.name] = result
      }
      current.status?.analysisRuns = RolloutAnalysis.encode(results, order: metrics)
      // The request (if any) was consumed by the first pass and is in `lastRequest` already.
      current.status?.request = nil
      input.rollout = current
      input.analysis = RolloutAnalysis.verdicts(for: current, now: now)
      plan = RolloutPlanner.plan(input)
    }
    // Traffic first, then status. A router is asked on every pass while the rollout runs (it
    // writes only when its object differs: a user's `kubectl apply` that reverted a weight is put
    // right), and once more when the rollout finishes, to give the router back.
    let finished = Self.finishes(plan)
    if Self.asksRouter(plan, rollout: rollout, model: model) {
      do {
        try await route(current, model, plan.routerWeight, finished, context)
      } catch let error as TrafficRouterError {
        // What to fix goes to the status and an Event; the weight stays where the router has it.
        input.rollout = rollout
        input.routerError = error.description
        plan = RolloutPlanner.plan(input)
      }
    }
    ObjectMetrics.shared.setGauges(ResourceMetrics.key("Rollout", context.request),
                                   ResourceMetrics.rollout(namespace: namespace, name: context.request.name,
                                                           model: rollout.spec.modelRef.name, status: plan.status))
    return ReconcilePlan(status: ModelCoding.encode(plan.status),
                         events: plan.events.map { PlannedEvent(type: $0.type, reason: $0.reason, note: $0.note, action: "Rollout") },
                         requeueAfter: plan.requeueAfter)
  }

  /// The planner's input for `rollout` from what the controller observes: its EdgeModel, the
  /// Rollouts of the same model (`siblings`, itself among them or not) and the time. Another
  /// active Rollout that started first makes this one wait (`competing`).
  public static func input(_ rollout: Rollout, model: EdgeModel?, siblings: [Rollout], now: Timestamp) -> RolloutPlanner.Input {
    let me = RolloutTracks.order(rollout)
    let competing = siblings.filter { $0.metadata.name != rollout.metadata.name && RolloutPlanner.isActive($0) && RolloutTracks.order($0) < me }
      .map { $0.metadata.name ?? "" }.min()
    return RolloutPlanner.Input(rollout: rollout, model: model, competing: competing,
                                analysis: RolloutAnalysis.verdicts(for: rollout, now: now), now: now)
  }

  /// Whether the router is asked to carry `plan`'s weight: on every pass while the rollout runs,
  /// once more when it finishes (to give the router back), never for a degraded one or without
  /// its model.
  public static func asksRouter(_ plan: RolloutPlanner.Plan, rollout: Rollout, model: EdgeModel?) -> Bool {
    let wasFinished = rollout.status?.phase == .promoted || rollout.status?.phase == .aborted
    return model != nil && !(finishes(plan) && wasFinished) && plan.status.phase != .degraded
  }

  /// Whether `plan` ends the rollout (promoted or aborted): the router is then given back (`reset`).
  public static func finishes(_ plan: RolloutPlanner.Plan) -> Bool {
    plan.status.phase == .promoted || plan.status.phase == .aborted
  }

  /// The rollout was deleted: its series go.
  public func forget(_ request: ReconcileRequest) async {
    ObjectMetrics.shared.forget(ResourceMetrics.key("Rollout", request))
  }
}
