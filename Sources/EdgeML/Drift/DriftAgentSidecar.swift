import ControllerRuntime
import KubeClient
import KubeCore

/// The `drift-agent` sidecar an EdgeModel's serving pods get while a DriftPolicy targets the model
/// (the drift agent contract, docs/drift-agent.md): the operator's own image running
/// `edgeml drift-agent` on port 9470 (named `drift`), bound to the pod's IP from the downward API,
/// with one `--feature NAME:TYPE` per feature of the policies, windows of 60 s or the policies'
/// shortest window (`windowSeconds`), `--buckets` for the features a `source.prometheus` policy
/// gives bounds for, and `--keep-samples` only when a policy's source is `samples` (raw values
/// leave the device only then).
public enum DriftAgentSidecar {
  public static let containerName = "drift-agent"
  /// Raw values kept per feature when a policy's source is `samples`.
  public static let keptSamples = 1000
  /// The agent's longest window: evaluations merge whole windows, so it bounds how finely `since` cuts.
  public static let maximumWindowSeconds: Int64 = 60

  /// The agent window a policy asks for: 60 s, or its evaluation or baseline window when shorter
  /// (whole seconds), so an evaluation of a short window does not read a minute of older data.
  public static func windowSeconds(_ spec: DriftPolicySpec) -> Int64 {
    var w = maximumWindowSeconds
    for text in [spec.schedule?.window ?? DriftPolicyPlanner.Defaults.window, spec.reference.baseline?.window].compactMap({ $0 }) {
      if let d = try? GoDuration(parsing: text) { w = min(w, max(1, d.nanoseconds / 1_000_000_000)) }
    }
    return w
  }

  /// The sidecar for the live policies targeting one model (nil when there are none). Features are
  /// the union over the policies (by name; the first policy by name decides a feature's type);
  /// `--retain` covers the longest evaluation or baseline window.
  public static func container(policies: [DriftPolicy], image: String) -> JSONValue? {
    let live = policies.filter { $0.metadata.deletionTimestamp == nil }.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
    guard !live.isEmpty else { return nil }
    var seen = Set<String>()
    var args: [String] = ["drift-agent", "--port", String(DriftPolicyReconciler.agentPort), "--host", "$(POD_IP)"]
    for policy in live {
      for f in policy.spec.features where seen.insert(f.name).inserted {
        args += ["--feature", "\(f.name):\(f.type.rawValue)"]
      }
    }
    // Histogram buckets for the policies reading Prometheus: the first policy by name that gives
    // a feature's bounds decides them (every pod exports the same buckets, so they sum).
    var bucketed = Set<String>()
    for policy in live {
      for (name, bounds) in (policy.spec.source.prometheus?.buckets ?? [:]).sorted(by: { $0.key < $1.key })
      where policy.spec.features.contains(where: { $0.name == name && $0.type == .numerical }) && bucketed.insert(name).inserted {
        args += ["--buckets", name + "=" + bounds.map { "\($0)" }.joined(separator: ",")]
      }
    }
    var retain: Int64 = 3600
    for policy in live {
      for text in [policy.spec.schedule?.window ?? DriftPolicyPlanner.Defaults.window, policy.spec.reference.baseline?.window].compactMap({ $0 }) {
        if let d = try? GoDuration(parsing: text) { retain = max(retain, d.nanoseconds / 1_000_000_000) }
      }
    }
    let window = live.map { windowSeconds($0.spec) }.min() ?? maximumWindowSeconds
    args += ["--window", "\(window)s", "--retain", "\(retain)s"]
    if live.contains(where: { $0.spec.source.samples != nil }) { args += ["--keep-samples", String(keptSamples)] }
    return [
      "name": .string(containerName),
      "image": .string(image),
      "command": ["edgeml"],
      "args": .array(args.map { .string($0) }),
      "env": [["name": "POD_IP", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]],
              ["name": "POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]]],
      "ports": [["name": "drift", "containerPort": JSONValue(DriftPolicyReconciler.agentPort)]],
      "readinessProbe": ["httpGet": ["path": "/healthz", "port": "drift"], "periodSeconds": 10],
    ]
  }

  /// Adds `container` to the pod template of every workload in `objects` (replacing an older one).
  static func inject(_ container: JSONValue, into objects: inout [DesiredObject]) {
    for i in objects.indices where objects[i].resource == .deployments || objects[i].resource == EdgeModelReconciler.daemonSets {
      var containers = objects[i].object[path: ["spec", "template", "spec", "containers"]]?.arrayValue ?? []
      containers.removeAll { $0["name"]?.stringValue == containerName }
      containers.append(container)
      objects[i].object[path: ["spec", "template", "spec", "containers"]] = .array(containers)
    }
  }
}
