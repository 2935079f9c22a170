import KubeCore

extension APIServer {
  /// Where PodDisruptionBudgets are stored.
  static let disruptionBudgetsKey = "policy/poddisruptionbudgets"
  /// More entries than this in a budget's `status.disruptedPods` means evictions the disruption
  /// controller has not caught up with: further evictions are refused (eviction.go `MaxDisruptedPodSize`).
  static let maxDisruptedPods = 2000

  /// `POST /api/v1/namespaces/NS/pods/NAME/eviction`: deletes a pod unless that would break its
  /// PodDisruptionBudget — what `kubectl drain` calls for every pod of the node.
  ///
  /// Follows pkg/registry/core/pod/storage/eviction.go (`EvictionREST.Create`, `checkAndDecrement`,
  /// `canIgnorePDB`, `getPodDisruptionBudgets`):
  /// * a pod that is Pending, Succeeded, Failed or already being deleted is deleted without looking
  ///   at budgets;
  /// * budgets are those of the pod's namespace whose non-empty selector matches its labels; more
  ///   than one is a 500 the eviction subresource "does not support";
  /// * a pod that is not Ready is deleted without spending the budget when the budget says
  ///   `unhealthyPodEvictionPolicy: AlwaysAllow`, or has enough healthy pods anyway;
  /// * otherwise the budget must be observed (`status.observedGeneration` ≥ `generation`, else 429
  ///   "still being processed") and allow a disruption (else 429 with a `DisruptionBudget` cause);
  ///   `disruptionsAllowed` is decremented and the pod recorded in `status.disruptedPods` before the
  ///   pod is deleted with the Eviction's `deleteOptions`.
  ///
  /// The answer is a `Status` Success with code 201 (the create handler's code). Upstream reads and
  /// writes through its own client with conflict retries; here the check, the budget's update and
  /// the delete are one store transaction, so no retry is needed.
  func evict(_ ctx: RequestContext, podName: String) throws -> APIResponse {
    let (eviction, _) = try decodeBody(ctx)
    let kind = eviction["kind"]?.stringValue ?? ""
    let apiVersion = eviction["apiVersion"]?.stringValue ?? ""
    // EvictionREST.AcceptsGroupVersion: policy/v1 and policy/v1beta1.
    guard kind.isEmpty || kind == "Eviction", ["", "policy/v1", "policy/v1beta1"].contains(apiVersion) else {
      throw APIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (policy/v1)")
    }
    if (eviction[path: ["metadata", "name"]]?.stringValue ?? "") != podName {
      throw APIError.badRequest("name in URL does not match name in Eviction object")
    }
    var options = DeleteOptions(eviction["deleteOptions"] ?? [:])
    // propagateDryRun: the request's dryRun carries over to the Eviction's deleteOptions.
    if ctx.isDryRun { options.dryRun = true }
    try options.validate()
    try store.transaction { state in
      guard let pod = state.get(ctx.resource.storageKey, namespace: ctx.namespace, name: podName) else {
        throw APIError.notFound(ctx.resource.groupResource, name: podName)
      }
      if try admitEviction(&state, pod: pod, options: &options) {
        _ = try deleteLocked(&state, resource: ctx.resource, namespace: ctx.namespace, name: podName, options: options)
      }
    }
    return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: 201)
  }

  /// The budget check of one eviction; true when the pod may be deleted (with `options` as amended).
  private func admitEviction(_ state: inout ObjectStore.State, pod: JSONValue, options: inout DeleteOptions) throws -> Bool {
    let phase = pod[path: ["status", "phase"]]?.stringValue ?? ""
    let isDeleting = pod[path: ["metadata", "deletionTimestamp"]] != nil
    let podRV = pod[path: ["metadata", "resourceVersion"]]?.stringValue
    // canIgnorePDB: the pod disrupts nothing (any more). shouldEnforceResourceVersion: a Pending
    // pod is deleted only at the version looked at, so it cannot have become Ready meanwhile.
    if ["Pending", "Succeeded", "Failed"].contains(phase) || isDeleting {
      if phase == "Pending" && !isDeleting && options.preconditionRV == nil { options.preconditionRV = podRV }
      return true
    }
    let budgets = disruptionBudgets(state, covering: pod)
    if budgets.count > 1 {
      // Returned as a Status whose failure the REST finisher turns into the error (no reason).
      throw APIError(code: 500, reason: "", message: "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
    }
    guard var budget = budgets.first else { return true }
    let name = budget[path: ["metadata", "name"]]?.stringValue ?? ""
    let status = budget["status"] ?? [:]
    let currentHealthy = status["currentHealthy"]?.intValue ?? 0
    let desiredHealthy = status["desiredHealthy"]?.intValue ?? 0
    let isReady = (pod[path: ["status", "conditions"]]?.arrayValue ?? []).contains {
      $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
    }
    if !isReady {
      let alwaysAllow = budget[path: ["spec", "unhealthyPodEvictionPolicy"]]?.stringValue == "AlwaysAllow"
      if alwaysAllow || (currentHealthy >= desiredHealthy && desiredHealthy > 0) {
        if options.preconditionRV == nil { options.preconditionRV = podRV }
        return true
      }
    }
    // checkAndDecrement.
    let generation = budget[path: ["metadata", "generation"]]?.intValue ?? 0
    if (status["observedGeneration"]?.intValue ?? 0) < generation {
      throw APIServer.disruptionBudgetViolation(cause: "The disruption budget \(name) is still being processed by the server.", retryAfter: 10)
    }
    let allowed = status["disruptionsAllowed"]?.intValue ?? 0
    let budgetsResource = GroupResource(group: "policy", resource: "poddisruptionbudget")
    if allowed < 0 {
      throw APIError.forbidden(message: "\(budgetsResource) \"\(name)\" is forbidden: pdb disruptions allowed is negative", resource: budgetsResource, name: name)
    }
    let disrupted = status["disruptedPods"]?.objectValue ?? JSONObject()
    if disrupted.count > APIServer.maxDisruptedPods {
      throw APIError.forbidden(message: "\(budgetsResource) \"\(name)\" is forbidden: DisruptedPods map too big - too many evictions not confirmed by PDB controller",
                               resource: budgetsResource, name: name)
    }
    if allowed == 0 {
      throw APIServer.disruptionBudgetViolation(cause: "The disruption budget \(name) needs \(desiredHealthy) healthy pods and has \(currentHealthy) currently", retryAfter: nil)
    }
    if options.dryRun { return true }
    budget[path: ["status", "disruptionsAllowed"]] = JSONValue(allowed - 1)
    if allowed - 1 == 0 {
      // component-helpers/apps/poddisruptionbudget UpdateDisruptionAllowedCondition.
      var conditions = status["conditions"]?.arrayValue ?? []
      let condition: JSONValue = ["type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": "",
                                  "observedGeneration": status["observedGeneration"] ?? 0, "lastTransitionTime": timestamp()]
      if let i = conditions.firstIndex(where: { $0["type"]?.stringValue == "DisruptionAllowed" }) {
        var updated = condition
        if conditions[i]["status"]?.stringValue == "False" { updated["lastTransitionTime"] = conditions[i]["lastTransitionTime"] }
        conditions[i] = updated
      } else {
        conditions.append(condition)
      }
      budget[path: ["status", "conditions"]] = .array(conditions)
    }
    let podName = pod[path: ["metadata", "name"]]?.stringValue ?? ""
    budget[path: ["status", "disruptedPods", podName]] = timestamp()
    _ = state.put(APIServer.disruptionBudgetsKey, budget, type: .modified)
    return true
  }

  /// The budgets `getPodDisruptionBudgets` finds for a pod: same namespace, a selector that parses,
  /// is not empty ("should match nothing, not everything") and matches the pod's labels.
  func disruptionBudgets(_ state: ObjectStore.State, covering pod: JSONValue) -> [JSONValue] {
    let namespace = pod[path: ["metadata", "namespace"]]?.stringValue ?? ""
    let budgets = state.list(APIServer.disruptionBudgetsKey, namespace: namespace)
    guard !budgets.isEmpty else { return [] }
    var labels: [String: String] = [:]
    for (k, v) in pod[path: ["metadata", "labels"]]?.objectValue ?? JSONObject() { labels[k] = v.stringValue ?? "" }
    return budgets.filter { budget in
      guard let selector = try? LabelSelector(json: budget[path: ["spec", "selector"]] ?? .null),
            !selector.requirements.isEmpty else { return false }
      return selector.matches(labels)
    }
  }

  /// 429 "Cannot evict pod as it would violate the pod's disruption budget." with a
  /// `DisruptionBudget` cause (`errors.NewTooManyRequests` plus `policyv1.DisruptionBudgetCause`).
  static func disruptionBudgetViolation(cause: String, retryAfter: Int?) -> APIError {
    var details = JSONObject()
    details["causes"] = [["reason": "DisruptionBudget", "message": .string(cause)]]
    if let retryAfter { details["retryAfterSeconds"] = JSONValue(retryAfter) }
    var error = APIError(code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                         details: .object(details))
    if let retryAfter { error.headers = [("Retry-After", String(retryAfter))] }
    return error
  }
}
