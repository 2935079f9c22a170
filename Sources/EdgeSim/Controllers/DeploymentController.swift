import Foundation
import KubeCore
import Logging

/// Rolls Deployments out through ReplicaSets (pkg/controller/deployment: sync.go, rolling.go,
/// recreate.go, progress.go).
///
/// The ReplicaSet of the current template is `<deployment>-<pod-template-hash>`; its pods and
/// selector carry the `pod-template-hash` label. RollingUpdate scales the new ReplicaSet up within
/// `maxSurge` and old ones down while `maxUnavailable` allows (both 25% by default; surge rounds
/// up, unavailability down); Recreate scales old ReplicaSets to zero and waits for their pods to
/// go before creating new ones. Old ReplicaSets beyond `revisionHistoryLimit` are deleted.
struct DeploymentController: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let logger: Logger
  let events: EventRecorder


  static let revisionAnnotation = "deployment.kubernetes.io/revision"

  func reconcile(_ key: ObjectKey) async -> Duration? {
    guard let d = api.get(Keys.deployments, namespace: key.namespace, name: key.name), !d.isDeleting else { return nil }
    var all = api.owned(Keys.replicaSets, by: d.uid, kind: "Deployment")
      .filter { !$0.isDeleting }
      .sorted { ($0.creationTimestamp, $0.name) < ($1.creationTimestamp, $1.name) }
    let template = d[path: ["spec", "template"]] ?? [:]
    let hash = PodTemplate.hash(template)
    let desired = d[path: ["spec", "replicas"]]?.intValue ?? 1
    let paused = d[path: ["spec", "paused"]]?.boolValue ?? false
    var newRS = all.first { $0.labels["pod-template-hash"] == hash }
    var createdNew = false
    let maxRevision = all.compactMap { Int($0.annotations[Self.revisionAnnotation] ?? "") }.max() ?? 0
    let strategy = d[path: ["spec", "strategy", "type"]]?.stringValue ?? "RollingUpdate"
    let maxSurge = strategy == "RollingUpdate"
      ? PodTemplate.scaled(d[path: ["spec", "strategy", "rollingUpdate", "maxSurge"]], total: desired, roundUp: true, default: 1) : 0
    var maxUnavailable = strategy == "RollingUpdate"
      ? PodTemplate.scaled(d[path: ["spec", "strategy", "rollingUpdate", "maxUnavailable"]], total: desired, roundUp: false, default: 0) : 0
    if maxSurge == 0 && maxUnavailable == 0 { maxUnavailable = 1 }   // deploymentutil.ResolveFenceposts
    maxUnavailable = min(maxUnavailable, desired)

    if !paused {
      func old() -> [JSONValue] { all.filter { $0.uid != newRS?.uid } }
      func replicas(_ rs: JSONValue) -> Int { rs[path: ["spec", "replicas"]]?.intValue ?? 0 }
      func available(_ rs: JSONValue) -> Int { rs[path: ["status", "availableReplicas"]]?.intValue ?? 0 }
      func scale(_ rs: JSONValue, to n: Int) {
        guard replicas(rs) != n || rs.annotations["deployment.kubernetes.io/desired-replicas"] != String(desired) else { return }
        let patch: JSONValue = ["metadata": ["annotations": ["deployment.kubernetes.io/desired-replicas": .string(String(desired)),
                                                              "deployment.kubernetes.io/max-replicas": .string(String(desired + maxSurge))]],
                                "spec": ["replicas": JSONValue(n)]]
        guard let updated = try? api.mergePatch(Paths.replicaSet(key.namespace, rs.name), patch) else { return }
        if let i = all.firstIndex(where: { $0.uid == rs.uid }) { all[i] = updated }
        if newRS?.uid == rs.uid { newRS = updated }
        if replicas(rs) != n {
          events.record(d, kind: "Deployment", apiVersion: "apps/v1", reason: "ScalingReplicaSet",
                        message: "Scaled \(n > replicas(rs) ? "up" : "down") replica set \(rs.name) from \(replicas(rs)) to \(n)")
        }
      }
      // recreate.go oldPodsRunning: pods of old ReplicaSets that have not finished, terminating ones included.
      let oldUIDs = Set(old().map(\.uid))
      let oldActive = strategy == "Recreate"
        ? oldUIDs.reduce(0) { n, uid in n + api.owned(Keys.pods, by: uid, kind: "ReplicaSet").filter { !$0.isTerminal }.count }
        : 0
      if newRS == nil && (strategy != "Recreate" || (old().allSatisfy { replicas($0) == 0 } && oldActive == 0)) {
        // New ReplicaSet (sync.go getNewReplicaSet): starts at its first allowed size.
        var initial = desired
        if strategy == "RollingUpdate" {
          let total = all.reduce(0) { $0 + replicas($1) }
          initial = all.isEmpty ? desired : max(0, min(desired, desired + maxSurge - total))
        }
        var labels = template[path: ["metadata", "labels"]] ?? [:]
        labels["pod-template-hash"] = .string(hash)
        var rsTemplate = template
        rsTemplate[path: ["metadata", "labels"]] = labels
        var selector = d[path: ["spec", "selector"]] ?? [:]
        selector[path: ["matchLabels", "pod-template-hash"]] = .string(hash)
        let rs: JSONValue = [
          "apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": ["name": .string("\(d.name)-\(hash)"), "namespace": .string(key.namespace), "labels": labels,
                       "annotations": [Self.revisionAnnotation: .string(String(maxRevision + 1)),
                                       "deployment.kubernetes.io/desired-replicas": .string(String(desired)),
                                       "deployment.kubernetes.io/max-replicas": .string(String(desired + maxSurge))],
                       "ownerReferences": [d.controllerReference(apiVersion: "apps/v1", kind: "Deployment")]],
          "spec": ["replicas": JSONValue(initial), "minReadySeconds": d[path: ["spec", "minReadySeconds"]] ?? 0,
                   "selector": selector, "template": rsTemplate],
        ]
        do {
          let created = try api.create(Paths.replicaSets(key.namespace), rs)
          newRS = created
          all.append(created)
          createdNew = true
          events.record(d, kind: "Deployment", apiVersion: "apps/v1", reason: "ScalingReplicaSet",
                        message: "Scaled up replica set \(created.name) from 0 to \(initial)")
        } catch {
          logger.warning("ReplicaSet creation failed", metadata: ["kube.name": "\(key.name)", "error": "\(error)"])
          return runtime.scaled(5)
        }
      } else if let rs = newRS, Int(rs.annotations[Self.revisionAnnotation] ?? "") ?? 0 < maxRevision {
        // An old template came back: its ReplicaSet gets the next revision (sync.go).
        if let updated = try? api.mergePatch(Paths.replicaSet(key.namespace, rs.name),
                                             ["metadata": ["annotations": [Self.revisionAnnotation: .string(String(maxRevision + 1))]]]) {
          newRS = updated
          if let i = all.firstIndex(where: { $0.uid == rs.uid }) { all[i] = updated }
        }
      }
      if strategy == "Recreate" {
        for rs in old() where replicas(rs) > 0 { scale(rs, to: 0) }
        if let rs = newRS, old().allSatisfy({ replicas($0) == 0 }), oldActive == 0 { scale(rs, to: desired) }
      } else if let rs = newRS {
        // rolling.go reconcileNewReplicaSet.
        let total = all.reduce(0) { $0 + replicas($1) }
        if replicas(rs) > desired { scale(rs, to: desired) }
        else if total < desired + maxSurge, replicas(rs) < desired {
          scale(rs, to: replicas(rs) + min(desired + maxSurge - total, desired - replicas(rs)))
        }
        // rolling.go reconcileOldReplicaSets.
        let current = newRS ?? rs
        let allPods = all.reduce(0) { $0 + replicas($1) }
        let minAvailable = desired - maxUnavailable
        let newUnavailable = replicas(current) - available(current)
        let maxScaledDown = allPods - minAvailable - newUnavailable
        if maxScaledDown > 0 && old().contains(where: { replicas($0) > 0 }) {
          var cleaned = 0
          for o in old() where replicas(o) > 0 && replicas(o) != available(o) && cleaned < maxScaledDown {
            let n = min(maxScaledDown - cleaned, replicas(o) - available(o))
            scale(o, to: replicas(o) - n)
            cleaned += n
          }
          let availableAll = all.reduce(0) { $0 + available($1) }
          if availableAll > minAvailable {
            let budget = availableAll - minAvailable
            var done = 0
            for o in old() where replicas(o) > 0 && done < budget {
              let n = min(replicas(o), budget - done)
              scale(o, to: replicas(o) - n)
              done += n
            }
          }
        }
      }
      // sync.go cleanupDeployment: keep revisionHistoryLimit old, empty ReplicaSets.
      let limit = d[path: ["spec", "revisionHistoryLimit"]]?.intValue ?? 10
      let empty = old().filter { replicas($0) == 0 && ($0[path: ["status", "replicas"]]?.intValue ?? 0) == 0 }
      if empty.count > limit { for rs in empty.prefix(empty.count - limit) { _ = try? api.delete(Paths.replicaSet(key.namespace, rs.name)) } }
    }
    return updateStatus(d, all: all, newRS: newRS, createdNew: createdNew, desired: desired, maxUnavailable: maxUnavailable)
  }

  /// sync.go calculateStatus and progress.go syncRolloutStatus.
  private func updateStatus(_ d: JSONValue, all: [JSONValue], newRS: JSONValue?, createdNew: Bool, desired: Int, maxUnavailable: Int) -> Duration? {
    func sum(_ field: String) -> Int { all.reduce(0) { $0 + ($1[path: ["status", field]]?.intValue ?? 0) } }
    let specTotal = all.reduce(0) { $0 + ($1[path: ["spec", "replicas"]]?.intValue ?? 0) }
    var status = d["status"] ?? [:]
    let available = sum("availableReplicas")
    let updated = newRS?[path: ["status", "replicas"]]?.intValue ?? 0
    status["observedGeneration"] = JSONValue(d.generation)
    status["replicas"] = JSONValue(sum("replicas"))
    status["updatedReplicas"] = JSONValue(updated)
    status["readyReplicas"] = JSONValue(sum("readyReplicas"))
    status["availableReplicas"] = JSONValue(available)
    status["unavailableReplicas"] = JSONValue(max(0, specTotal - available))
    for field in ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"] where status[field]?.intValue == 0 {
      status[field] = nil   // omitempty, as upstream serialises them
    }
    let now = rfc3339(Date())
    var conditions = status["conditions"]?.arrayValue ?? []
    let stamp: JSONObject = ["lastUpdateTime": .string(now)]
    if available >= desired - maxUnavailable {
      setCondition(&conditions, type: "Available", status: "True", reason: "MinimumReplicasAvailable", message: "Deployment has minimum availability.", now: now, extra: stamp)
    } else {
      setCondition(&conditions, type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", now: now, extra: stamp)
    }
    var requeue: Duration?
    let rsName = newRS?.name ?? d.name
    let complete = updated == desired && sum("replicas") == desired && available == desired && newRS != nil
    if d[path: ["spec", "paused"]]?.boolValue == true {
      setCondition(&conditions, type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused", now: now, extra: stamp)
    } else if complete {
      setCondition(&conditions, type: "Progressing", status: "True", reason: "NewReplicaSetAvailable", message: "ReplicaSet \"\(rsName)\" has successfully progressed.", now: now, extra: stamp)
    } else if createdNew {
      setCondition(&conditions, type: "Progressing", status: "True", reason: "NewReplicaSetCreated", message: "Created new replica set \"\(rsName)\"", now: now, extra: stamp)
    } else {
      let changed = ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"].contains { status[$0] != d[path: ["status", $0]] }
      let current = conditions.first { $0["type"]?.stringValue == "Progressing" }
      // Not scaled: the deadline bounds real progress (API writes, scheduling), which the speed factor does not speed up.
      let deadline = Double(d[path: ["spec", "progressDeadlineSeconds"]]?.intValue ?? 600)
      let last = parseRFC3339(current?["lastUpdateTime"]?.stringValue) ?? Date()
      if changed || current == nil {
        setCondition(&conditions, type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "ReplicaSet \"\(rsName)\" is progressing.", now: now, extra: stamp)
        requeue = .milliseconds(Int(deadline * 1000) + 10)
      } else if current?["reason"]?.stringValue != "ProgressDeadlineExceeded" {
        let left = deadline - Date().timeIntervalSince(last)
        if left <= 0 {
          setCondition(&conditions, type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "ReplicaSet \"\(rsName)\" has timed out progressing.", now: now, extra: stamp)
        } else {
          requeue = .milliseconds(Int(left * 1000) + 10)
        }
      }
    }
    conditions.sort { ($0["type"]?.stringValue ?? "") < ($1["type"]?.stringValue ?? "") }
    status["conditions"] = .array(conditions)
    var patch: JSONValue = [:]
    if status != d["status"] { patch["status"] = status }
    if let revision = newRS?.annotations[Self.revisionAnnotation], d.annotations[Self.revisionAnnotation] != revision {
      _ = try? api.mergePatch(Paths.deployment(d.namespace, d.name), ["metadata": ["annotations": [Self.revisionAnnotation: .string(revision)]]])
    }
    if patch["status"] != nil { _ = try? api.mergePatch(Paths.deployment(d.namespace, d.name) + "/status", patch) }
    return requeue
  }
}
