import KubeCore
import Synchronization

/// Defaults kube-apiserver sets on built-in objects (the generated `SetObjectDefaults_*` of
/// k8s.io/kubernetes/pkg/apis/*/v1/defaults.go) and the admission plugins every cluster runs
/// (ServiceAccount, DefaultTolerationSeconds, Priority), for the kinds clients create most.
/// Values were checked against the recorded real-server responses in shared/reference/wire.
enum BuiltinDefaults {
  static func apply(to object: inout JSONValue, resource: APIResource, isCreate: Bool, server: APIServer) throws {
    guard !resource.isCustom else { return }
    switch resource.storageKey {
    case "/pods":
      if var spec = object["spec"] { podSpec(&spec, isPod: true); object["spec"] = spec }
      if isCreate {
        object["status"] = ["phase": "Pending", "qosClass": .string(qosClass(object["spec"] ?? [:]))]
      }
    case "apps/deployments":
      setIfAbsent(&object, ["spec", "replicas"], 1)
      if object[path: ["spec", "strategy", "type"]] == nil { object[path: ["spec", "strategy", "type"]] = "RollingUpdate" }
      if object[path: ["spec", "strategy", "type"]]?.stringValue == "RollingUpdate" {
        setIfAbsent(&object, ["spec", "strategy", "rollingUpdate", "maxUnavailable"], "25%")
        setIfAbsent(&object, ["spec", "strategy", "rollingUpdate", "maxSurge"], "25%")
      }
      setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
      setIfAbsent(&object, ["spec", "progressDeadlineSeconds"], 600)
      template(&object)
      if isCreate { object["status"] = [:] }
    case "apps/replicasets":
      setIfAbsent(&object, ["spec", "replicas"], 1)
      template(&object)
      if isCreate { object["status"] = ["replicas": 0] }
    case "/replicationcontrollers":
      setIfAbsent(&object, ["spec", "replicas"], 1)
      if object[path: ["spec", "selector"]] == nil, let labels = object[path: ["spec", "template", "metadata", "labels"]] {
        object[path: ["spec", "selector"]] = labels
      }
      if object[path: ["metadata", "labels"]] == nil, let labels = object[path: ["spec", "template", "metadata", "labels"]] {
        object[path: ["metadata", "labels"]] = labels
      }
      template(&object)
      if isCreate { object["status"] = ["replicas": 0] }
    case "apps/daemonsets":
      if object[path: ["spec", "updateStrategy", "type"]] == nil { object[path: ["spec", "updateStrategy", "type"]] = "RollingUpdate" }
      if object[path: ["spec", "updateStrategy", "type"]]?.stringValue == "RollingUpdate" {
        setIfAbsent(&object, ["spec", "updateStrategy", "rollingUpdate", "maxUnavailable"], 1)
        setIfAbsent(&object, ["spec", "updateStrategy", "rollingUpdate", "maxSurge"], 0)
      }
      setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
      template(&object)
      if isCreate { object["status"] = ["currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0] }
    case "apps/statefulsets":
      setIfAbsent(&object, ["spec", "replicas"], 1)
      setIfAbsent(&object, ["spec", "podManagementPolicy"], "OrderedReady")
      if object[path: ["spec", "updateStrategy", "type"]] == nil { object[path: ["spec", "updateStrategy", "type"]] = "RollingUpdate" }
      if object[path: ["spec", "updateStrategy", "type"]]?.stringValue == "RollingUpdate" {
        setIfAbsent(&object, ["spec", "updateStrategy", "rollingUpdate", "partition"], 0)
      }
      setIfAbsent(&object, ["spec", "revisionHistoryLimit"], 10)
      setIfAbsent(&object, ["spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"], "Retain")
      setIfAbsent(&object, ["spec", "persistentVolumeClaimRetentionPolicy", "whenScaled"], "Retain")
      template(&object)
      if isCreate { object["status"] = ["replicas": 0, "availableReplicas": 0] }
    case "batch/jobs":
      job(&object, isCreate: isCreate)
    case "batch/cronjobs":
      setIfAbsent(&object, ["spec", "concurrencyPolicy"], "Allow")
      setIfAbsent(&object, ["spec", "suspend"], false)
      setIfAbsent(&object, ["spec", "successfulJobsHistoryLimit"], 3)
      setIfAbsent(&object, ["spec", "failedJobsHistoryLimit"], 1)
      if var spec = object[path: ["spec", "jobTemplate", "spec", "template", "spec"]] {
        podSpec(&spec, isPod: false)
        object[path: ["spec", "jobTemplate", "spec", "template", "spec"]] = spec
      }
      if isCreate { object["status"] = [:] }
    case "/podtemplates":
      template(&object, path: ["template", "spec"])
    case "/services":
      try service(&object, isCreate: isCreate, server: server)
    case "/namespaces":
      let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
      object[path: ["metadata", "labels", "kubernetes.io/metadata.name"]] = .string(name)
      if isCreate {
        object[path: ["spec", "finalizers"]] = ["kubernetes"]
        object["status"] = ["phase": "Active"]
      }
    case "/secrets":
      setIfAbsent(&object, ["type"], "Opaque")
    case "apiextensions.k8s.io/customresourcedefinitions":
      setIfAbsent(&object, ["spec", "conversion", "strategy"], "None")
      if let kind = object[path: ["spec", "names", "kind"]]?.stringValue {
        setIfAbsent(&object, ["spec", "names", "listKind"], .string(kind + "List"))
        setIfAbsent(&object, ["spec", "names", "singular"], .string(kind.lowercased()))
      }
      if isCreate { object["status"] = CRDSupport.initialStatus(object) }
    default:
      break
    }
  }

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
    if isPod {
      // ServiceAccount, DefaultTolerationSeconds and Priority admission, and SetDefaults_PodSpec.
      setIfAbsent(&spec, ["serviceAccountName"], "default")
      if spec["serviceAccount"] == nil { spec["serviceAccount"] = spec["serviceAccountName"] }
      var tolerations = spec["tolerations"]?.arrayValue ?? []
      for key in ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]
      where !tolerations.contains(where: { $0["key"]?.stringValue == key }) {
        tolerations.append(["key": .string(key), "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300])
      }
      spec["tolerations"] = .array(tolerations)
      setIfAbsent(&spec, ["priority"], 0)
      setIfAbsent(&spec, ["enableServiceLinks"], true)
      setIfAbsent(&spec, ["preemptionPolicy"], "PreemptLowerPriority")
    }
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

  static func job(_ object: inout JSONValue, isCreate: Bool) {
    let parallelism = object[path: ["spec", "parallelism"]]
    let completions = object[path: ["spec", "completions"]]
    if completions == nil && parallelism == nil {
      object[path: ["spec", "completions"]] = 1
      object[path: ["spec", "parallelism"]] = 1
    } else if parallelism == nil {
      object[path: ["spec", "parallelism"]] = 1
    }
    setIfAbsent(&object, ["spec", "backoffLimit"], 6)
    setIfAbsent(&object, ["spec", "completionMode"], "NonIndexed")
    setIfAbsent(&object, ["spec", "suspend"], false)
    setIfAbsent(&object, ["spec", "podReplacementPolicy"], "TerminatingOrFailed")
    if isCreate, object[path: ["spec", "manualSelector"]]?.boolValue != true {
      // The job strategy generates the selector and labels from the uid (pkg/registry/batch/job/strategy.go).
      let uid = object[path: ["metadata", "uid"]] ?? ""
      let name = object[path: ["metadata", "name"]] ?? ""
      object[path: ["spec", "selector"]] = ["matchLabels": ["batch.kubernetes.io/controller-uid": uid]]
      object[path: ["spec", "manualSelector"]] = false
      for key in [["metadata", "labels"], ["spec", "template", "metadata", "labels"]] {
        var labels = object[path: key]?.objectValue ?? JSONObject()
        labels["batch.kubernetes.io/controller-uid"] = uid
        labels["batch.kubernetes.io/job-name"] = name
        labels["controller-uid"] = uid
        labels["job-name"] = name
        object[path: key] = .object(labels)
      }
    }
    template(&object)
    if isCreate { object["status"] = [:] }
  }

  static func service(_ object: inout JSONValue, isCreate: Bool, server: APIServer) throws {
    setIfAbsent(&object, ["spec", "type"], "ClusterIP")
    setIfAbsent(&object, ["spec", "sessionAffinity"], "None")
    let type = object[path: ["spec", "type"]]?.stringValue ?? "ClusterIP"
    if var ports = object[path: ["spec", "ports"]]?.arrayValue {
      for i in ports.indices {
        setIfAbsent(&ports[i], ["protocol"], "TCP")
        if ports[i]["targetPort"] == nil { ports[i]["targetPort"] = ports[i]["port"] }
      }
      object[path: ["spec", "ports"]] = .array(ports)
    }
    if type != "ExternalName" {
      if isCreate, object[path: ["spec", "clusterIP"]] == nil || object[path: ["spec", "clusterIP"]]?.stringValue == "" {
        let ip = server.serviceIPs.allocate()
        object[path: ["spec", "clusterIP"]] = .string(ip)
      }
      if object[path: ["spec", "clusterIPs"]] == nil, let ip = object[path: ["spec", "clusterIP"]] {
        object[path: ["spec", "clusterIPs"]] = [ip]
      }
      setIfAbsent(&object, ["spec", "ipFamilies"], ["IPv4"])
      setIfAbsent(&object, ["spec", "ipFamilyPolicy"], "SingleStack")
      setIfAbsent(&object, ["spec", "internalTrafficPolicy"], "Cluster")
    }
    if isCreate { object["status"] = ["loadBalancer": [:]] }
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
