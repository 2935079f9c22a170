import Foundation
import KubeCore
import Logging

/// Keeps `spec.replicas` active pods for each ReplicaSet (pkg/controller/replicaset/replica_set.go).
///
/// Pods are owned through a controller ownerReference (`blockOwnerDeletion`); terminating and
/// finished pods do not count. Surplus pods are deleted in upstream's order of preference:
/// unscheduled before scheduled, pending before running, not-ready before ready, newer before older
/// (pkg/controller/controller_utils.go `ActivePods.Less`).
struct ReplicaSetController: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let logger: Logger
  let events: EventRecorder
  /// How soon a ReplicaSet whose pods the API server refused is tried again, in simulated seconds
  /// (upstream requeues with the workqueue's exponential backoff, 5 ms doubling to 1000 s).
  static let retryAfterFailedCreate = 10.0

  func reconcile(_ key: ObjectKey) async -> Duration? {
    guard let rs = api.get(Keys.replicaSets, namespace: key.namespace, name: key.name), !rs.isDeleting else { return nil }
    let pods = api.owned(Keys.pods, by: rs.uid, kind: "ReplicaSet")
    let active = pods.filter(\.isActivePod)
    let desired = rs[path: ["spec", "replicas"]]?.intValue ?? 1
    let diff = active.count - desired
    var created = 0
    var failure: String?
    if diff < 0 {
      let owner = rs.controllerReference(apiVersion: "apps/v1", kind: "ReplicaSet")
      let template = rs[path: ["spec", "template"]] ?? [:]
      for _ in 0..<min(-diff, 500) {
        do {
          try api.create(Paths.pods(key.namespace), PodTemplate.pod(from: template, generateName: "\(rs.name)-", owner: owner))
          created += 1
        } catch {
          // Upstream's FailedCreate Event and ReplicaFailure condition (replica_set.go manageReplicas,
          // replica_set_utils.go calculateStatus): "Error creating: <the API server's message>".
          let message: String
          if case .api(_, _, _, let status) = error { message = status["message"]?.stringValue ?? "\(error)" } else { message = "\(error)" }
          failure = message
          logger.warning("Pod creation failed", metadata: ["kube.name": "\(key.name)", "error": "\(error)"])
          events.record(rs, kind: "ReplicaSet", apiVersion: "apps/v1", type: "Warning", reason: "FailedCreate", message: "Error creating: \(message)")
          break
        }
      }
    } else if diff > 0 {
      for pod in active.sorted(by: ReplicaSetController.deletesFirst).prefix(diff) {
        _ = try? api.delete(Paths.pod(key.namespace, pod.name))
      }
    }
    // Status from what is there now (pkg/controller/replicaset/replica_set_utils.go calculateStatus).
    let now = api.owned(Keys.pods, by: rs.uid, kind: "ReplicaSet").filter(\.isActivePod)
    let minReady = rs[path: ["spec", "minReadySeconds"]]?.intValue ?? 0
    let templateLabels = JSONValue.stringMap(rs[path: ["spec", "template", "metadata", "labels"]])
    let ready = now.filter(\.isPodReady)
    let (available, recheck) = ReplicaSetController.available(ready, minReadySeconds: minReady, runtime: runtime)
    var status = rs["status"] ?? [:]
    status["replicas"] = JSONValue(now.count)
    status["fullyLabeledReplicas"] = JSONValue(now.filter { p in templateLabels.allSatisfy { p.labels[$0.key] == $0.value } }.count)
    status["readyReplicas"] = JSONValue(ready.count)
    status["availableReplicas"] = JSONValue(available)
    status["observedGeneration"] = JSONValue(rs.generation)
    var conditions = (status["conditions"]?.arrayValue ?? []).filter { $0["type"]?.stringValue != "ReplicaFailure" }
    if let failure {
      let previous = rs["status"]?["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == "ReplicaFailure" }
      conditions.append(["type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": .string(failure),
                         "lastTransitionTime": previous?["lastTransitionTime"] ?? .string(rfc3339(Date()))])
    }
    // A merge patch removes a field only by sending it as null.
    status["conditions"] = conditions.isEmpty ? (rs["status"]?["conditions"] == nil ? nil : .null) : .array(conditions)
    if status != rs["status"] {
      _ = try? api.mergePatch(Paths.replicaSet(key.namespace, key.name) + "/status", ["status": status])
    }
    if failure != nil { return runtime.scaled(ReplicaSetController.retryAfterFailedCreate) }
    return recheck
  }

  /// Pods available for `minReadySeconds` (scaled), and when to look again for the rest.
  static func available(_ ready: [JSONValue], minReadySeconds: Int, runtime: Runtime) -> (Int, Duration?) {
    guard minReadySeconds > 0 else { return (ready.count, nil) }
    var count = 0
    var soonest: Double?
    let window = Double(minReadySeconds) * runtime.speed
    for p in ready {
      let since = parseRFC3339(p.condition("Ready")?["lastTransitionTime"]?.stringValue) ?? Date()
      let left = window - Date().timeIntervalSince(since)
      if left <= 0 { count += 1 } else { soonest = min(soonest ?? left, left) }
    }
    return (count, soonest.map { .milliseconds(Int($0 * 1000) + 1) })
  }

  static func deletesFirst(_ a: JSONValue, _ b: JSONValue) -> Bool {
    if a.nodeName.isEmpty != b.nodeName.isEmpty { return a.nodeName.isEmpty }
    let rank = ["Pending": 0, "Unknown": 1, "Running": 2]
    let ra = rank[a.phase] ?? 1, rb = rank[b.phase] ?? 1
    if ra != rb { return ra < rb }
    if a.isPodReady != b.isPodReady { return !a.isPodReady }
    return a.creationTimestamp > b.creationTimestamp
  }
}
