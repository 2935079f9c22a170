import Foundation
import KubeCore

/// Pods (pkg/registry/core/pod/strategy.go). The ServiceAccount, DefaultTolerationSeconds and
/// Priority admission plugins add their part afterwards (`AdmissionChain`).
struct PodStrategy: ResourceStrategy {
  var returnsDeletedObject: Bool { true }

  func prepareForCreate(_ pod: inout JSONValue, server: APIServer) throws {
    if var spec = pod["spec"] { BuiltinDefaults.podSpec(&spec, isPod: true); pod["spec"] = spec }
    // PrepareForCreate: a new pod is Pending, with its QoS class.
    pod["status"] = ["phase": "Pending", "qosClass": .string(BuiltinDefaults.qosClass(pod["spec"] ?? [:]))]
  }

  func prepareForUpdate(_ pod: inout JSONValue, old: JSONValue, server: APIServer) throws {
    if var spec = pod["spec"] { BuiltinDefaults.podSpec(&spec, isPod: true); pod["spec"] = spec }
  }

  func validate(_ pod: JSONValue) -> [FieldError] {
    Validation.containers(pod[path: ["spec", "containers"]], path: "spec.containers")
  }

  func validateUpdate(_ pod: JSONValue, old: JSONValue) -> [FieldError] { validate(pod) }

  /// A pod on a node is deleted gracefully: deletionTimestamp = now + grace period, and the kubelet
  /// removes the object (DELETE with gracePeriodSeconds=0) once its containers have stopped
  /// (k8s.io/apiserver pkg/registry/rest/delete.go BeforeDelete; a shorter grace period may replace
  /// a longer one).
  func gracefulDeletion(of pod: JSONValue, requestedGracePeriod: Int?, server: APIServer) -> GracefulDeletion {
    let grace = Self.deletionGracePeriod(pod, requested: requestedGracePeriod)
    guard grace > 0 else { return .none }
    if let current = pod[path: ["metadata", "deletionGracePeriodSeconds"]]?.intValue,
       pod[path: ["metadata", "deletionTimestamp"]] != nil, current <= grace {
      return .unchanged
    }
    return .after(seconds: grace)
  }

  /// The grace period a pod's DELETE gets (pkg/registry/core/pod/strategy.go `CheckGracefulDelete`):
  /// the request's, else `spec.terminationGracePeriodSeconds`, else 30; 0 for a pod never bound to
  /// a node or already Succeeded/Failed, since no kubelet has anything to stop.
  static func deletionGracePeriod(_ pod: JSONValue, requested: Int?) -> Int {
    if (pod[path: ["spec", "nodeName"]]?.stringValue ?? "").isEmpty { return 0 }
    if let phase = pod[path: ["status", "phase"]]?.stringValue, phase == "Succeeded" || phase == "Failed" { return 0 }
    return max(0, requested ?? pod[path: ["spec", "terminationGracePeriodSeconds"]]?.intValue ?? 30)
  }

  /// The STATUS column (`printPod` in k8s.io/kubernetes pkg/printers/internalversion/printers.go):
  /// the phase or `status.reason`, then the first init container not done (`Init:1/2`,
  /// `Init:CrashLoopBackOff`, `Init:Error`, `Init:ExitCode:1`), else the containers' waiting or
  /// terminated reasons, last container first (`ContainerCreating`, `CrashLoopBackOff`,
  /// `Completed`, `Error`, `Signal:9`), with `Completed` shown as Running (or NotReady) while
  /// another container runs; `Terminating` for a pod being deleted that has not finished.
  static func printedStatus(_ pod: JSONValue) -> String {
    let phase = pod[path: ["status", "phase"]]?.stringValue ?? "Pending"
    var reason = pod[path: ["status", "reason"]]?.stringValue ?? phase
    let conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
    if conditions.contains(where: { $0["type"] == "PodScheduled" && $0["reason"] == "SchedulingGated" }) { reason = "SchedulingGated" }
    func terminatedReason(_ t: JSONValue, prefix: String) -> String {
      if let r = t["reason"]?.stringValue, !r.isEmpty { return prefix + r }
      if let signal = t["signal"]?.intValue, signal != 0 { return "\(prefix)Signal:\(signal)" }
      return "\(prefix)ExitCode:\(t["exitCode"]?.intValue ?? 0)"
    }
    let initCount = pod[path: ["spec", "initContainers"]]?.arrayValue?.count ?? 0
    var initializing = false
    for (i, c) in (pod[path: ["status", "initContainerStatuses"]]?.arrayValue ?? []).enumerated() {
      let terminated = c[path: ["state", "terminated"]], waiting = c[path: ["state", "waiting", "reason"]]?.stringValue ?? ""
      if let terminated, terminated["exitCode"]?.intValue == 0 { continue }
      initializing = true
      if let terminated {
        reason = terminatedReason(terminated, prefix: "Init:")
      } else if !waiting.isEmpty, waiting != "PodInitializing" {
        reason = "Init:" + waiting
      } else {
        reason = "Init:\(i)/\(initCount)"
      }
      break
    }
    let initialized = conditions.contains { $0["type"] == "Initialized" && $0["status"] == "True" }
    if !initializing || initialized {
      var hasRunning = false
      for c in (pod[path: ["status", "containerStatuses"]]?.arrayValue ?? []).reversed() {
        if let waiting = c[path: ["state", "waiting", "reason"]]?.stringValue, !waiting.isEmpty {
          reason = waiting
        } else if let terminated = c[path: ["state", "terminated"]] {
          reason = terminatedReason(terminated, prefix: "")
        } else if c["ready"]?.boolValue == true, c[path: ["state", "running"]] != nil {
          hasRunning = true
        }
      }
      if reason == "Completed", hasRunning {
        reason = conditions.contains { $0["type"] == "Ready" && $0["status"] == "True" } ? "Running" : "NotReady"
      }
    }
    if pod[path: ["metadata", "deletionTimestamp"]] != nil {
      if pod[path: ["status", "reason"]]?.stringValue == "NodeLost" { return "Unknown" }
      if phase != "Succeeded" && phase != "Failed" { return "Terminating" }
    }
    return reason
  }

  /// printers.go `podColumnDefinitions` / `printPod`.
  var tableColumns: [TableConverter.Column]? {
    typealias Column = TableConverter.Column
    return [TableConverter.nameColumn,
            Column(name: "Ready", type: "string", description: "The aggregate readiness state of this pod for accepting traffic.") { o, _ in
              let statuses = o[path: ["status", "containerStatuses"]]?.arrayValue ?? []
              let total = o[path: ["spec", "containers"]]?.arrayValue?.count ?? statuses.count
              let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
              return .string("\(ready)/\(total)")
            },
            Column(name: "Status", type: "string", description: "The aggregate status of the containers in this pod.") { o, _ in
              .string(Self.printedStatus(o))
            },
            Column(name: "Restarts", type: "string", description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.") { o, _ in
              let statuses = o[path: ["status", "containerStatuses"]]?.arrayValue ?? []
              return .string(String(statuses.reduce(0) { $0 + ($1["restartCount"]?.intValue ?? 0) }))
            },
            TableConverter.ageColumn,
            Column(name: "IP", type: "string", description: "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", priority: 1) { o, _ in
              .string(o[path: ["status", "podIP"]]?.stringValue ?? "<none>")
            },
            Column(name: "Node", type: "string", description: "NodeName is a request to schedule this pod onto a specific node.", priority: 1) { o, _ in
              .string(o[path: ["spec", "nodeName"]]?.stringValue ?? "<none>")
            },
            Column(name: "Nominated Node", type: "string", description: "nominatedNodeName is set only when this pod preempts other pods on the node.", priority: 1) { o, _ in
              .string(o[path: ["status", "nominatedNodeName"]]?.stringValue ?? "<none>")
            },
            Column(name: "Readiness Gates", type: "string", description: "If specified, all readiness gates will be evaluated for pod readiness.", priority: 1) { o, _ in
              let gates = o[path: ["spec", "readinessGates"]]?.arrayValue ?? []
              return .string(gates.isEmpty ? "<none>" : "\(gates.count)")
            }]
  }
}

/// PodTemplates: the pod spec's defaults under `template`.
struct PodTemplateStrategy: ResourceStrategy {
  func prepareForCreate(_ object: inout JSONValue, server: APIServer) throws { BuiltinDefaults.template(&object, path: ["template", "spec"]) }
  func prepareForUpdate(_ object: inout JSONValue, old: JSONValue, server: APIServer) throws { BuiltinDefaults.template(&object, path: ["template", "spec"]) }
}
