import KubeCore
import Synchronization

/// Defaults kube-apiserver sets on built-in objects (the generated `SetObjectDefaults_*` of
/// k8s.io/kubernetes/pkg/apis/*/v1/defaults.go) that several resources share; each resource's
/// `ResourceStrategy` applies them. Values were checked against the recorded real-server
/// responses in shared/reference/wire.
enum BuiltinDefaults {
  static func setIfAbsent(_ object: inout JSONValue, _ path: [String], _ value: JSONValue) {
    if object[path: path] == nil { object[path: path] = value }
  }

  static func template(_ object: inout JSONValue, path: [String] = ["spec", "template", "spec"]) {
    if var spec = object[path: path] {
      podSpec(&spec, isPod: false)
      object[path: path] = spec
    }
  }

  /// PodSpec defaults (pkg/apis/core/v1/defaults.go SetDefaults_PodSpec, SetDefaults_Container).
  static func podSpec(_ spec: inout JSONValue, isPod: Bool) {
    for field in ["initContainers", "containers"] {
      guard var list = spec[field]?.arrayValue else { continue }
      for i in list.indices { container(&list[i]) }
      spec[field] = .array(list)
    }
    setIfAbsent(&spec, ["restartPolicy"], "Always")
    setIfAbsent(&spec, ["terminationGracePeriodSeconds"], 30)
    setIfAbsent(&spec, ["dnsPolicy"], "ClusterFirst")
    setIfAbsent(&spec, ["securityContext"], [:])
    setIfAbsent(&spec, ["schedulerName"], "default-scheduler")
    // SetDefaults_PodSpec; the admission plugins add the service account, tolerations and priority.
    if isPod { setIfAbsent(&spec, ["enableServiceLinks"], true) }
  }

  static func container(_ c: inout JSONValue) {
    setIfAbsent(&c, ["resources"], [:])
    setIfAbsent(&c, ["terminationMessagePath"], "/dev/termination-log")
    setIfAbsent(&c, ["terminationMessagePolicy"], "File")
    if c["imagePullPolicy"] == nil {
      // Always for :latest or no tag, else IfNotPresent (SetDefaults_Container).
      let image = c["image"]?.stringValue ?? ""
      let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
      let hasDigest = image.contains("@")
      let tag = lastComponent.split(separator: ":", maxSplits: 1).dropFirst().first.map(String.init)
      c["imagePullPolicy"] = (!hasDigest && (tag == nil || tag == "latest")) ? "Always" : "IfNotPresent"
    }
    if var ports = c["ports"]?.arrayValue {
      for i in ports.indices { setIfAbsent(&ports[i], ["protocol"], "TCP") }
      c["ports"] = .array(ports)
    }
  }

  static func qosClass(_ spec: JSONValue) -> String {
    let containers = (spec["containers"]?.arrayValue ?? []) + (spec["initContainers"]?.arrayValue ?? [])
    var anyRequest = false
    var guaranteed = !containers.isEmpty
    for c in containers {
      let requests = c[path: ["resources", "requests"]]?.objectValue ?? JSONObject()
      let limits = c[path: ["resources", "limits"]]?.objectValue ?? JSONObject()
      if !requests.isEmpty || !limits.isEmpty { anyRequest = true }
      for r in ["cpu", "memory"] {
        guard let l = limits[r] else { guaranteed = false; continue }
        if let q = requests[r], q != l { guaranteed = false }
      }
    }
    if guaranteed && anyRequest { return "Guaranteed" }
    return anyRequest ? "Burstable" : "BestEffort"
  }
}

/// Hands out cluster IPs from K3s' default service CIDR, 10.43.0.0/16; 10.43.0.1 is the `kubernetes` Service.
/// Creates are prepared outside the store lock, so the counter has its own.
final class ServiceIPAllocator: Sendable {
  private let next = Mutex<UInt32>(1)
  func allocate() -> String {
    let n = next.withLock { next -> UInt32 in
      let n = next
      next += 1
      if next > 65_534 { next = 2 }
      return n
    }
    return "10.43.\(n >> 8).\(n & 0xFF)"
  }
}
