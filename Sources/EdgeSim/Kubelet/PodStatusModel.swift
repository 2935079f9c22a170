import Foundation
import KubeCore
import Synchronization

/// The status a kubelet keeps for one pod and writes to `pods/<name>/status`.
///
/// Shared by the pod's container tasks (behind a mutex); every change is written with a JSON merge
/// patch of the whole `status` (lists are replaced, so stale container entries cannot linger).
final class PodStatusModel: Sendable {
  struct Container: Sendable {
    var name: String
    var image: String
    var state: JSONValue = ["waiting": ["reason": "PodInitializing"]]
    var lastState: JSONValue = [:]
    var ready = false
    var started = false
    var restartCount = 0
    var containerID: String?

    var json: JSONValue {
      var o: JSONValue = ["name": .string(name), "state": state, "lastState": lastState, "ready": .bool(ready),
                          "restartCount": JSONValue(restartCount), "image": .string(image),
                          "imageID": .string(PodStatusModel.imageID(image)), "started": .bool(started)]
      if let containerID { o["containerID"] = .string(containerID) }
      return o
    }
    var isTerminated: Bool { state["terminated"] != nil }
    var exitCode: Int? { state[path: ["terminated", "exitCode"]]?.intValue }
  }

  struct State: Sendable {
    var phase = "Pending"
    var initContainers: [Container]
    var containers: [Container]
    var conditions: [JSONValue]
    var startTime: String
    var podIP: String
    var hostIP: String
    var sandboxReady = false
    var initialized: Bool
  }

  let state: Mutex<State>
  private let api: ClusterAPI
  private let pod: ObjectKey

  init(pod: JSONValue, api: ClusterAPI, hostIP: String, podIP: String) {
    func containers(_ field: String) -> [Container] {
      (pod[path: ["spec", field]]?.arrayValue ?? []).map {
        Container(name: $0["name"]?.stringValue ?? "", image: $0["image"]?.stringValue ?? "")
      }
    }
    let inits = containers("initContainers")
    var mains = containers("containers")
    if inits.isEmpty { for i in mains.indices { mains[i].state = ["waiting": ["reason": "ContainerCreating"]] } }
    let conditions = pod[path: ["status", "conditions"]]?.arrayValue ?? []
    state = Mutex(State(initContainers: inits, containers: mains, conditions: conditions, startTime: rfc3339(Date()),
                        podIP: podIP, hostIP: hostIP, initialized: inits.isEmpty))
    self.api = api
    self.pod = ObjectKey(pod)
  }

  /// Applies a change and writes the status.
  func update(_ change: (inout State) -> Void) {
    let status = state.withLock { s -> JSONValue in
      change(&s)
      return PodStatusModel.render(&s)
    }
    _ = try? api.mergePatch(Paths.pod(pod.namespace, pod.name) + "/status", ["status": status])
  }

  var snapshot: State { state.withLock { $0 } }

  /// The status object, with conditions recomputed as the kubelet does (pkg/kubelet/status/generate.go).
  static func render(_ s: inout State) -> JSONValue {
    let now = rfc3339(Date())
    setCondition(&s.conditions, type: "PodReadyToStartContainers", status: s.sandboxReady ? "True" : "False", now: now, extra: ["lastProbeTime": nil])
    let pendingInits = s.initContainers.filter { !($0.isTerminated && $0.exitCode == 0) }.map(\.name)
    if s.initialized || pendingInits.isEmpty {
      setCondition(&s.conditions, type: "Initialized", status: "True", now: now, extra: ["lastProbeTime": nil])
    } else {
      setCondition(&s.conditions, type: "Initialized", status: "False", reason: "ContainersNotInitialized",
                   message: "containers with incomplete status: [\(pendingInits.joined(separator: " "))]", now: now, extra: ["lastProbeTime": nil])
    }
    let unready = s.containers.filter { !$0.ready }.map(\.name)
    let terminal = s.phase == "Succeeded" || s.phase == "Failed"
    for type in ["Ready", "ContainersReady"] {
      if unready.isEmpty && !terminal {
        setCondition(&s.conditions, type: type, status: "True", now: now, extra: ["lastProbeTime": nil])
      } else if terminal {
        setCondition(&s.conditions, type: type, status: "False", reason: "PodCompleted", now: now, extra: ["lastProbeTime": nil])
      } else {
        setCondition(&s.conditions, type: type, status: "False", reason: "ContainersNotReady",
                     message: "containers with unready status: [\(unready.joined(separator: " "))]", now: now, extra: ["lastProbeTime": nil])
      }
    }
    setCondition(&s.conditions, type: "PodScheduled", status: "True", now: now, extra: ["lastProbeTime": nil])
    let order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    s.conditions.sort { (order.firstIndex(of: $0["type"]?.stringValue ?? "") ?? 99) < (order.firstIndex(of: $1["type"]?.stringValue ?? "") ?? 99) }
    var status: JSONValue = ["phase": .string(s.phase), "conditions": .array(s.conditions), "hostIP": .string(s.hostIP),
                             "hostIPs": [["ip": .string(s.hostIP)]], "startTime": .string(s.startTime),
                             "containerStatuses": .array(s.containers.map(\.json))]
    if !s.podIP.isEmpty { status["podIP"] = .string(s.podIP); status["podIPs"] = [["ip": .string(s.podIP)]] }
    if !s.initContainers.isEmpty { status["initContainerStatuses"] = .array(s.initContainers.map(\.json)) }
    return status
  }

  static func newContainerID() -> String {
    "containerd://" + (0..<4).map { _ in hex16(UInt64.random(in: 0...UInt64.max)) }.joined()
  }

  /// Sixteen lowercase hex digits (what `%016llx` prints), without Foundation's format parser.
  static func hex16(_ value: UInt64) -> String { String(value, radix: 16).leftPadded(to: 16) }

  /// A stable, made-up image digest (FNV-1a of the image reference).
  static func imageID(_ image: String) -> String {
    var hex = ""
    for seed in UInt64(0)..<4 {
      var h: UInt64 = 0xcbf29ce484222325 &+ seed
      for b in image.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
      hex += hex16(h)
    }
    let repository = image.split(separator: "@").first.map { String($0.split(separator: ":").first ?? $0) } ?? image
    return "\(repository)@sha256:\(hex)"
  }
}
