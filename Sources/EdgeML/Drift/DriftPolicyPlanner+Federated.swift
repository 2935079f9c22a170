import ControllerRuntime
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// Federated retraining (`spec.retraining.federated`) as Flower deploys it (docs/federated.md):
/// a SuperLink (Deployment + Service), one SuperNode per eligible Jetson (DaemonSet), and one run
/// per trigger — a Job that submits the ServerApp/ClientApp pair to the SuperLink with `flwr run`
/// and writes the aggregated model to its termination message, so the run is recorded, promoted
/// and limited (cooldown, maxConcurrent, historyLimit) exactly like a `jobTemplate` Job.
///
/// Flower's own deployment guide runs the same three programs as containers: `flower-superlink`,
/// `flower-supernode --superlink <address>` and `flwr run <app> <superlink-connection>`
/// (flower.ai/docs/framework/docker/, "Run Flower using Docker"; flwr 1.42 serves the Fleet,
/// Control and Runtime APIs on one HTTP port, `--host`/`--port`, see `flower-superlink --help`).
extension DriftPolicyPlanner {
  /// The SuperLink's one HTTP port (Fleet, Control and Runtime APIs, flwr 1.42).
  public static let superLinkPort = 9093
  /// The SuperNode's ClientApp I/O port (flwr 1.42's default, bound to the pod IP).
  public static let superNodePort = 9094
  /// Where the run image keeps the Flower App (`pyproject.toml`), and where the ServerApp writes models.
  public static let flowerAppPath = "/app", federatedOutputPath = "/var/lib/edgeml/federated"
  /// The label naming a Flower component: `superlink`, `supernode` or `run`.
  public static let flowerComponentLabel = "edgeml.io/flower"
  /// CRD defaults of `retraining.federated`.
  public enum FederatedDefaults {
    public static let rounds = 5, minClients = 3, strategy = "fedavg", roundTimeout = "5m"
  }

  public static func superLinkName(policy: String) -> String { String(policy.prefix(63 - 10)) + "-superlink" }
  public static func superNodeName(policy: String) -> String { String(policy.prefix(63 - 10)) + "-supernode" }

  /// `NAME.NAMESPACE.svc:PORT`, the SuperLink Service's cluster DNS name.
  public static func superLinkAddress(policy: String, namespace: String) -> String {
    "\(superLinkName(policy: policy)).\(namespace).svc:\(superLinkPort)"
  }

  /// `flwr run --run-config` text: the policy's rounds, clients, timeout and strategy, then its
  /// `runConfig` entries as TOML strings (`tomlString`), keys sorted.
  /// - Throws: `DriftInputError` `InvalidSpec` for a round timeout that does not parse or a key that is not a bare TOML key.
  public static func runConfig(_ f: FederatedRetraining) throws(DriftInputError) -> String {
    let timeoutText = f.roundTimeout ?? FederatedDefaults.roundTimeout
    guard let timeout = try? GoDuration(parsing: timeoutText), timeout.nanoseconds >= 1_000_000_000 else {
      throw DriftInputError("InvalidSpec", "retraining.federated.roundTimeout: \"\(timeoutText)\" is not a duration of at least 1s")
    }
    var parts = ["num-server-rounds=\(f.rounds ?? FederatedDefaults.rounds)", "min-clients=\(f.minClients ?? FederatedDefaults.minClients)",
                 "round-timeout=\(Double(timeout.nanoseconds) / 1e9)", "strategy=\"\(f.strategy ?? FederatedDefaults.strategy)\""]
    for (key, value) in (f.runConfig ?? [:]).sorted(by: { $0.key < $1.key }) {
      // TOML bare keys: A-Za-z0-9_- (toml.io/en/v1.0.0#keys).
      guard !key.isEmpty, key.unicodeScalars.allSatisfy({
        let v = $0.value
        return (48...57).contains(v) || (65...90).contains(v) || (97...122).contains(v) || v == 45 || v == 95
      }) else { throw DriftInputError("InvalidSpec", "retraining.federated.runConfig: \"\(key)\" is not a bare TOML key") }
      let quoted = try tomlString(value, key: key)
      parts.append("\(key)=\(quoted)")
    }
    return parts.joined(separator: " ")
  }

  /// `value` as a TOML string that `flwr run --run-config` reads back: its parser takes `"…"` or
  /// `'…'` with no quote of the same kind inside (flwr/common/config.py `parse_config_args`), so a
  /// basic string (`\\` and control characters escaped, toml.io/en/v1.0.0#string) unless the value
  /// holds `"`, then a literal string, which cannot hold `'` or control characters.
  static func tomlString(_ value: String, key: String) throws(DriftInputError) -> String {
    let scalars = value.unicodeScalars
    let isControl = { (s: Unicode.Scalar) in (s.value < 0x20 && s != "\t") || s.value == 0x7f }
    guard scalars.contains("\"") else {
      var escaped = ""
      for scalar in scalars {
        if scalar == "\\" { escaped += "\\\\"; continue }
        guard isControl(scalar) else { escaped.unicodeScalars.append(scalar); continue }
        let hex = String(scalar.value, radix: 16, uppercase: true)
        escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      }
      return "\"" + escaped + "\""
    }
    guard !scalars.contains("'"), !scalars.contains(where: isControl) else {
      throw DriftInputError("InvalidSpec", "retraining.federated.runConfig.\(key): a value cannot hold both \" and ' (or \" and control characters) for flwr run")
    }
    return "'" + value + "'"
  }
}

extension DriftPolicyPlanner.Builder {
  func flowerLabels(_ component: String) -> JSONValue {
    [.init(EdgeModelPlanner.Labels.managedBy): .string(EdgeModelPlanner.Labels.managedByValue),
     .init(DriftPolicyPlanner.Labels.policy): .string(name), .init(DriftPolicyPlanner.flowerComponentLabel): .string(component)]
  }

  static func fieldEnv(_ name: String, _ path: String) -> JSONValue {
    ["name": .string(name), "valueFrom": ["fieldRef": ["fieldPath": .string(path)]]]
  }

  /// The SuperLink Deployment and Service and the SuperNode DaemonSet: kept while the policy
  /// retrains federated, so the devices are connected before a run is submitted.
  func flowerDeployment(_ f: FederatedRetraining) -> [DesiredObject] {
    let superLink = DriftPolicyPlanner.superLinkName(policy: name)
    let meta = { (n: String, component: String) -> JSONValue in
      ["name": .string(n), "namespace": .string(namespace), "labels": flowerLabels(component), "ownerReferences": [ownerReference()]]
    }
    let selector = { (component: String) -> JSONValue in ["matchLabels": flowerLabels(component)] }
    let port = JSONValue(DriftPolicyPlanner.superLinkPort)
    let linkContainer: JSONValue = [
      "name": "superlink", "image": .string(f.serverImage), "command": ["flower-superlink"],
      "args": ["--insecure", "--host", "$(POD_IP)", "--port", .string(String(DriftPolicyPlanner.superLinkPort)),
               "--disable-runtime-dependency-installation"],
      "env": [Self.fieldEnv("POD_IP", "status.podIP"), ["name": "EDGEML_FEDERATED_OUTPUT", "value": .string(DriftPolicyPlanner.federatedOutputPath)]],
      "ports": [["name": "flower", "containerPort": port]],
      "volumeMounts": [["name": "models", "mountPath": .string(DriftPolicyPlanner.federatedOutputPath)]],
    ]
    let deployment: JSONValue = [
      "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(superLink, "superlink"),
      "spec": ["replicas": 1, "selector": selector("superlink"),
               // One SuperLink: its state (nodes, runs) lives in its process (Flower's in-memory database).
               "strategy": ["type": "Recreate"],
               "template": ["metadata": ["labels": flowerLabels("superlink")],
                            "spec": ["containers": [linkContainer], "volumes": [["name": "models", "emptyDir": [:]]]]]],
    ]
    let service: JSONValue = [
      "apiVersion": "v1", "kind": "Service", "metadata": meta(superLink, "superlink"),
      "spec": ["selector": flowerLabels("superlink"), "ports": [["name": "flower", "port": port, "targetPort": port]]],
    ]
    var nodeSelector = JSONObject()
    for (k, v) in (f.nodeSelector ?? [:]).sorted(by: { $0.key < $1.key }) { nodeSelector[k] = .string(v) }
    let nodeContainer: JSONValue = [
      "name": "supernode", "image": .string(f.clientImage), "command": ["flower-supernode"],
      "args": ["--insecure", "--superlink", .string(DriftPolicyPlanner.superLinkAddress(policy: name, namespace: namespace)),
               "--host", "$(POD_IP)", "--port", .string(String(DriftPolicyPlanner.superNodePort)),
               "--node-config", "node-name=\"$(NODE_NAME)\"",
               // Give up (and be restarted by the kubelet) after 15 s without the SuperLink, instead
               // of retrying one address forever (flwr's default: no limit).
               "--max-wait-time", "15"],
      "env": [Self.fieldEnv("POD_IP", "status.podIP"), Self.fieldEnv("NODE_NAME", "spec.nodeName")],
    ]
    var podSpec: JSONObject = ["containers": [nodeContainer]]
    if !nodeSelector.isEmpty { podSpec["nodeSelector"] = .object(nodeSelector) }
    let daemonSet: JSONValue = [
      "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta(DriftPolicyPlanner.superNodeName(policy: name), "supernode"),
      "spec": ["selector": selector("supernode"),
               "template": ["metadata": ["labels": flowerLabels("supernode")], "spec": .object(podSpec)]],
    ]
    return [DesiredObject(.deployments, deployment), DesiredObject(EdgeModelReconciler.services, service),
            DesiredObject(EdgeModelReconciler.daemonSets, daemonSet)]
  }

  /// The run Job's template: `edgeml-federated-run` in the server image submits the app to the
  /// SuperLink and waits; `job()` adds the lineage, the report and the policy's labels.
  func federatedRunTemplate(_ f: FederatedRetraining, runConfig: String) -> JSONValue {
    [
      "metadata": ["labels": [.init(DriftPolicyPlanner.flowerComponentLabel): "run"]],
      "spec": [
        // A failed pod is not retried: a second pod would submit a second run (one run per trigger).
        "backoffLimit": 0,
        "template": ["spec": ["restartPolicy": "Never", "containers": [[
          "name": "run", "image": .string(f.serverImage), "command": ["edgeml-federated-run"],
          "args": ["--superlink", .string(DriftPolicyPlanner.superLinkAddress(policy: name, namespace: namespace)),
                   "--app", .string(DriftPolicyPlanner.flowerAppPath), "--run-config", .string(runConfig),
                   "--termination-log", "/dev/termination-log"],
        ]]]],
      ],
    ]
  }
}
