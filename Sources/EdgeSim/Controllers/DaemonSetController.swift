import Foundation
import KubeCore
import Logging

/// Runs one pod of each DaemonSet on every eligible node (pkg/controller/daemon/daemon_controller.go).
///
/// A node is eligible when the template's nodeSelector and required node affinity match it and its
/// NoSchedule/NoExecute taints are tolerated, counting the tolerations the controller adds to every
/// daemon pod (util.go `AddOrUpdateDaemonPodTolerations`: not-ready and unreachable NoExecute,
/// disk/memory/pid-pressure and unschedulable NoSchedule). Pods are pinned with required node
/// affinity `matchFields metadata.name In [node]` and bound by the scheduler, as upstream does.
/// RollingUpdate replaces pods of an old template at most `maxUnavailable` (default 1) at a time;
/// OnDelete leaves them alone.
struct DaemonSetController: Sendable {
  let api: ClusterAPI
  let runtime: Runtime
  let logger: Logger

  static let tolerations: [JSONValue] = [
    ["key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"],
    ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"],
    ["key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"],
    ["key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"],
    ["key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"],
    ["key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"],
  ]

  /// The template's pod spec with the daemon tolerations added.
  static func podSpec(_ ds: JSONValue) -> JSONValue {
    var spec = ds[path: ["spec", "template", "spec"]] ?? [:]
    var tolerations = spec["tolerations"]?.arrayValue ?? []
    for t in DaemonSetController.tolerations where !tolerations.contains(t) { tolerations.append(t) }
    spec["tolerations"] = .array(tolerations)
    return spec
  }

  /// Whether a daemon pod should be started on the node, and whether one already there should
  /// keep running (daemon_controller.go `NodeShouldRunDaemonPod`): both need the selector and
  /// affinity to match; starting also needs every NoSchedule and NoExecute taint tolerated, while
  /// a pod already scheduled keeps running unless a NoExecute taint is not tolerated ("Scheduled
  /// daemon pods should continue running if they tolerate NoExecute taint"). So the daemon pod of
  /// a node that stops reporting (tainted `unreachable` NoSchedule and NoExecute) stays.
  static func shouldRun(_ ds: JSONValue, on node: JSONValue) -> (run: Bool, continueRunning: Bool) {
    let pod: JSONValue = ["spec": podSpec(ds)]
    guard NodeFit.matchesSelectorAndAffinity(pod: pod, node: node) else { return (false, false) }
    let tolerations = pod[path: ["spec", "tolerations"]]?.arrayValue ?? []
    var run = true, keep = true
    for taint in node[path: ["spec", "taints"]]?.arrayValue ?? [] where !NodeFit.tolerates(tolerations, taint: taint) {
      switch taint["effect"]?.stringValue {
      case "NoSchedule"?: run = false
      case "NoExecute"?: run = false; keep = false
      default: break
      }
    }
    return (run, keep)
  }

  /// The node a daemon pod is for: its binding, or the node its affinity pins it to.
  static func targetNode(_ pod: JSONValue) -> String {
    if !pod.nodeName.isEmpty { return pod.nodeName }
    let terms = pod[path: ["spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"]]?.arrayValue ?? []
    for term in terms {
      for f in term["matchFields"]?.arrayValue ?? [] where f["key"]?.stringValue == "metadata.name" {
        if let v = f["values"]?.arrayValue?.first?.stringValue { return v }
      }
    }
    return ""
  }

  func reconcile(_ key: ObjectKey) async -> Duration? {
    guard let ds = api.get(Keys.daemonSets, namespace: key.namespace, name: key.name), !ds.isDeleting else { return nil }
    let hash = PodTemplate.hash(ds[path: ["spec", "template"]] ?? [:])
    let nodes = api.list(Keys.nodes).sorted { $0.name < $1.name }
    var byNode: [String: [JSONValue]] = [:]
    for pod in api.owned(Keys.pods, by: ds.uid, kind: "DaemonSet") where !pod.isDeleting {
      byNode[Self.targetNode(pod), default: []].append(pod)
    }
    let owner = ds.controllerReference(apiVersion: "apps/v1", kind: "DaemonSet")
    let verdicts = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, Self.shouldRun(ds, on: $0)) })
    let eligible = Set(nodes.filter { verdicts[$0.name]?.run == true }.map(\.name))
    func delete(_ pod: JSONValue) { _ = try? api.delete(Paths.pod(key.namespace, pod.name)) }
    for node in nodes {
      let pods = (byNode[node.name] ?? []).sorted { $0.creationTimestamp < $1.creationTimestamp }
      if verdicts[node.name]?.continueRunning != true { pods.forEach(delete); continue }
      if !eligible.contains(node.name) { continue }   // kept where it runs, none started
      // Failed daemon pods are deleted and replaced; surplus ones too, oldest kept.
      for pod in pods where pod.phase == "Failed" { delete(pod) }
      let live = pods.filter { $0.phase != "Failed" }
      live.dropFirst().forEach(delete)
      if live.isEmpty {
        var spec = Self.podSpec(ds)
        spec[path: ["affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution"]] =
          ["nodeSelectorTerms": [["matchFields": [["key": "metadata.name", "operator": "In", "values": [.string(node.name)]]]]]]
        var template = ds[path: ["spec", "template"]] ?? [:]
        template["spec"] = spec
        let pod = PodTemplate.pod(from: template, generateName: "\(ds.name)-", owner: owner,
                                  extraLabels: ["controller-revision-hash": hash, "pod-template-generation": String(ds.generation)])
        do { try api.create(Paths.pods(key.namespace), pod) } catch {
          logger.warning("Daemon pod creation failed", metadata: ["kube.name": "\(key.name)", "error": "\(error)"])
        }
      }
    }
    // Rolling update (update.go rollingUpdate): old pods go while the unavailable budget allows.
    let current = api.owned(Keys.pods, by: ds.uid, kind: "DaemonSet").filter { !$0.isDeleting }
    let onEligible = current.filter { eligible.contains(Self.targetNode($0)) }
    if ds[path: ["spec", "updateStrategy", "type"]]?.stringValue ?? "RollingUpdate" == "RollingUpdate" {
      let maxUnavailable = max(1, PodTemplate.scaled(ds[path: ["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"]],
                                                     total: eligible.count, roundUp: true, default: 1))
      let unavailable = eligible.count - onEligible.filter(\.isPodReady).count
      var budget = maxUnavailable - unavailable
      let old = onEligible.filter { $0.labels["controller-revision-hash"] != hash }
      for pod in old where !pod.isPodReady { delete(pod) }
      for pod in old where pod.isPodReady && budget > 0 { delete(pod); budget -= 1 }
    }
    // Status (daemon_controller.go updateDaemonSetStatus).
    let all = api.owned(Keys.pods, by: ds.uid, kind: "DaemonSet").filter { !$0.isDeleting }
    let scheduled = Set(all.map { Self.targetNode($0) })
    let ready = all.filter { eligible.contains(Self.targetNode($0)) && $0.isPodReady }
    let updated = Set(all.filter { $0.labels["controller-revision-hash"] == hash }.map { Self.targetNode($0) }).intersection(eligible)
    var status = ds["status"] ?? [:]
    status["desiredNumberScheduled"] = JSONValue(eligible.count)
    status["currentNumberScheduled"] = JSONValue(scheduled.intersection(eligible).count)
    status["numberMisscheduled"] = JSONValue(scheduled.subtracting(eligible).count)
    status["numberReady"] = JSONValue(ready.count)
    status["numberAvailable"] = omitZero(ready.count)
    status["updatedNumberScheduled"] = omitZero(updated.count)
    status["numberUnavailable"] = omitZero(eligible.count - ready.count)
    status["observedGeneration"] = JSONValue(ds.generation)
    if status != ds["status"] { _ = try? api.mergePatch(Paths.daemonSet(key.namespace, key.name) + "/status", ["status": status]) }
    return nil
  }
}
