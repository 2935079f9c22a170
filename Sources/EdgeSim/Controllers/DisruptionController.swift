import Foundation
import KubeCore
import Logging

/// Keeps each PodDisruptionBudget's status current, as kube-controller-manager's disruption
/// controller does (pkg/controller/disruption/disruption.go); the API server's eviction handler
/// reads that status to admit or refuse an eviction.
///
/// For each budget (`trySync`): the pods of its namespace its selector matches; `expectedPods` and
/// `desiredHealthy` from `getExpectedPodCount` (with `maxUnavailable` or a percentage
/// `minAvailable`, the sum of the scales of the pods' controllers, `getExpectedScale`; with an
/// integer `minAvailable`, the number of pods); `currentHealthy` the Ready pods neither being
/// deleted nor recorded in `disruptedPods` within the deletion timeout (`countHealthyPods`,
/// `buildDisruptedPodMap`); `disruptionsAllowed = currentHealthy - desiredHealthy`, 0 when negative
/// or when no pods are expected, and the `DisruptionAllowed` condition (`updatePdbStatus`,
/// component-helpers `UpdateDisruptionAllowedCondition`). A budget that cannot be worked out gets
/// `disruptionsAllowed: 0` and `DisruptionAllowed=False` with reason `SyncFailed` (`failSafe`).
struct DisruptionController: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let logger: Logger

  /// How long an approved eviction keeps its pod out of `currentHealthy` while the pod is not yet
  /// being deleted (`DeletionTimeout`, 2 minutes), scaled — but not below 2 s, because the API
  /// server records the approval to the second.
  var deletionTimeoutSeconds: Double { max(120 * runtime.speed, 2) }

  struct SyncError: Error, CustomStringConvertible { var description: String }

  /// Reconciles one budget; returns when to look again (an approved eviction's timeout).
  func reconcile(_ key: ObjectKey) async -> Duration? {
    guard let budget = api.get(Keys.disruptionBudgets, namespace: key.namespace, name: key.name) else { return nil }
    let now = Date()
    var status: JSONValue
    var recheck: Double?
    do {
      (status, recheck) = try desiredStatus(budget, now: now)
    } catch {
      // failSafe: no evictions until the budget can be worked out again.
      status = budget["status"] ?? [:]
      status["disruptionsAllowed"] = 0
      var conditions = status["conditions"]?.arrayValue ?? []
      setCondition(&conditions, type: "DisruptionAllowed", status: "False", reason: "SyncFailed", message: "\(error)", now: rfc3339(now),
                   extra: ["observedGeneration": status["observedGeneration"] ?? 0])
      status["conditions"] = .array(conditions)
    }
    if status != budget["status"] {
      var updated = budget
      updated["status"] = status
      // UpdateStatus (writePdbStatus): a PUT, so a conflict with an eviction that changed the
      // budget meanwhile fails and the budget is worked out again.
      do { try api.send("PUT", Paths.disruptionBudget(key.namespace, key.name) + "/status", updated) } catch {
        return runtime.scaled(0.1)
      }
    }
    return recheck.map { .milliseconds(Int($0 * 1000) + 5) }
  }

  /// The status `updatePdbStatus` would write, and the seconds until an approved eviction expires.
  func desiredStatus(_ budget: JSONValue, now: Date) throws -> (JSONValue, Double?) {
    let pods = try matchingPods(budget)
    let (expected, desired) = try expectedPodCount(budget, pods: pods)
    // buildDisruptedPodMap: keep approvals of pods not yet being deleted, until the timeout.
    let recorded = budget[path: ["status", "disruptedPods"]]?.objectValue ?? JSONObject()
    var disrupted = JSONObject()
    var recheck: Double?
    for pod in pods where !pod.isDeleting {
      guard let value = recorded[pod.name], let approved = parseRFC3339(value.stringValue) else { continue }
      let left = approved.addingTimeInterval(deletionTimeoutSeconds).timeIntervalSince(now)
      if left > 0 {
        disrupted[pod.name] = value
        recheck = min(recheck ?? left, left)
      }
    }
    // countHealthyPods.
    let healthy = pods.filter { !$0.isDeleting && disrupted[$0.name] == nil && $0.isPodReady }.count
    let allowed = expected <= 0 ? 0 : max(0, healthy - desired)
    var status = budget["status"] ?? [:]
    status["currentHealthy"] = JSONValue(healthy)
    status["desiredHealthy"] = JSONValue(desired)
    status["expectedPods"] = JSONValue(expected)
    status["disruptionsAllowed"] = JSONValue(allowed)
    status["disruptedPods"] = disrupted.isEmpty ? nil : .object(disrupted)
    status["observedGeneration"] = JSONValue(budget.generation)
    var conditions = status["conditions"]?.arrayValue ?? []
    setCondition(&conditions, type: "DisruptionAllowed", status: allowed > 0 ? "True" : "False",
                 reason: allowed > 0 ? "SufficientPods" : "InsufficientPods", message: "", now: rfc3339(now),
                 extra: ["observedGeneration": JSONValue(budget.generation)])
    status["conditions"] = .array(conditions)
    return (status, recheck)
  }

  /// `getPodsForPdb`: the namespace's pods the selector matches (a missing selector matches none,
  /// an empty one all).
  func matchingPods(_ budget: JSONValue) throws -> [JSONValue] {
    let selector: LabelSelector
    do { selector = try SelectorMemo.shared.selector(budget[path: ["spec", "selector"]] ?? .null) } catch {
      throw SyncError(description: "\(error)")
    }
    return api.list(Keys.pods, namespace: budget.namespace, selector: selector)
  }

  /// `getExpectedPodCount`: (expectedPods, desiredHealthy).
  func expectedPodCount(_ budget: JSONValue, pods: [JSONValue]) throws -> (Int, Int) {
    if let maxUnavailable = budget[path: ["spec", "maxUnavailable"]] {
      let expected = try expectedScale(pods)
      let unavailable = try DisruptionController.scaledValue(maxUnavailable, total: expected)
      return (expected, max(0, expected - unavailable))
    }
    if let minAvailable = budget[path: ["spec", "minAvailable"]] {
      if let count = minAvailable.intValue { return (pods.count, count) }
      let expected = try expectedScale(pods)
      return (expected, try DisruptionController.scaledValue(minAvailable, total: expected))
    }
    return (0, 0)
  }

  /// `getExpectedScale`: the summed `spec.replicas` of the pods' controllers, each counted once.
  /// Pods without a controller are left out (upstream reports them in an `UnmanagedPods` event);
  /// a controller that has no scale (a Job, a DaemonSet) is an error.
  func expectedScale(_ pods: [JSONValue]) throws -> Int {
    var scales: [String: Int] = [:]          // controller uid → spec.replicas
    var resolved: Set<String> = []           // pod owner uids already looked up
    for pod in pods {
      guard let owner = (pod[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []).first(where: { $0["controller"]?.boolValue == true }),
            let kind = owner["kind"]?.stringValue, let name = owner["name"]?.stringValue else { continue }
      let uid = owner["uid"]?.stringValue ?? ""
      guard resolved.insert(uid).inserted else { continue }
      guard let (controllerUID, scale) = controllerScale(kind: kind, name: name, uid: uid, namespace: pod.namespace) else {
        throw SyncError(description: "found no controllers for pod \"\(pod.name)\"")
      }
      scales[controllerUID] = scale
    }
    return scales.values.reduce(0, +)
  }

  /// The finders: a ReplicaSet owned by a Deployment counts as that Deployment; a ReplicaSet,
  /// StatefulSet or ReplicationController of its own as itself.
  private func controllerScale(kind: String, name: String, uid: String, namespace: String) -> (String, Int)? {
    let key: String
    switch kind {
    case "ReplicaSet": key = Keys.replicaSets
    case "StatefulSet": key = "apps/statefulsets"
    case "ReplicationController": key = "/replicationcontrollers"
    default: return nil
    }
    guard let controller = api.get(key, namespace: namespace, name: name), controller.uid == uid else { return nil }
    if kind == "ReplicaSet", let deploymentName = controller.controllerName(kind: "Deployment") {
      guard let deployment = api.get(Keys.deployments, namespace: namespace, name: deploymentName) else { return nil }
      return (deployment.uid, deployment[path: ["spec", "replicas"]]?.intValue ?? 1)
    }
    return (uid, controller[path: ["spec", "replicas"]]?.intValue ?? 1)
  }

  /// `intstr.GetScaledValueFromIntOrPercent(value, total, roundUp: true)`.
  static func scaledValue(_ value: JSONValue, total: Int) throws -> Int {
    if let n = value.intValue { return n }
    guard let text = value.stringValue, text.hasSuffix("%"), let percent = Int(text.dropLast()) else {
      throw SyncError(description: "invalid value for IntOrString: invalid type: string is not a percentage")
    }
    return (percent * total + 99) / 100
  }
}
