import EdgeML
import EdgeSim
import Foundation
import KubeClient
import KubeCore
import OperatorCLI

/// The demo's last act, the closed loop (issue 18): a DriftPolicy on the served model, drift
/// injected on some nodes, detected with its p-values, a retraining Job (`edgeml retrain`, a real
/// process in EdgeSim) that registers its model in MLflow when the demo runs an MLflow server, its
/// model rolled out by a canary and promoted, and the next evaluations quiet because the baseline
/// follows the version served (docs/drift-policy.md, "The reference" and "The loop in edgeml demo").
extension DemoCommand {
  /// Makes the MLflow server the demo started the registry of `detector` before the drift act:
  /// versions 1-5 (the files the demo wrote) registered in order, so MLflow numbers the retrained
  /// one 6, as the demo does; and the Secret `edgeml-source-credentials` in `vision` names the
  /// server, so the engine init containers can fetch `mlflow://` models (docs/engine-builds.md).
  /// nil (said in the story) when MLflow is not installed, did not start, or refused.
  func registerHistory(_ mlflow: DemoMLflow?, note: String, client: KubeClient, models: URL, clock: DemoClock) async -> MLflowTracking? {
    let fallback = "the retrained model goes by file:// URI and digest instead of through a registry"
    guard let mlflow else {
      clock.say("MLflow: \(note); \(fallback)")
      return nil
    }
    guard await mlflow.waitUntilReady(seconds: 90) else {
      clock.say("MLflow: mlflow server did not answer within 90 s (log: \(mlflow.log)); \(fallback)")
      return nil
    }
    do {
      let tracking = try MLflowTracking(url: mlflow.url)
      for v in 1...5 {
        let file = models.appendingPathComponent("detector-v\(v).onnx")
        let version = try await tracking.register(name: "detector", file: file, description: "the demo's version \(v)")
        guard version == "\(v)" else { throw MLflowTrackingError("MLflow numbered the demo's version \(v) as \(version)") }
      }
      _ = try await client.create(GroupVersionResource(group: "", version: "v1", resource: "secrets", namespaced: true), namespace: "vision", [
        "apiVersion": "v1", "kind": "Secret", "metadata": ["name": "edgeml-source-credentials"],
        "data": ["MLFLOW_TRACKING_URI": .string(Data(mlflow.url.utf8).base64EncodedString())],
      ])
      clock.say("MLflow tracking server at \(mlflow.url) (mlflow server, SQLite, artifacts proxied): registered model detector holds versions 1-5; "
                + "Secret vision/edgeml-source-credentials points the engine builds at it")
      return tracking
    } catch {
      clock.say("MLflow at \(mlflow.url) could not take the demo's versions (\(error)); \(fallback)")
      return nil
    }
  }

  func driftLoop(client: KubeClient, sim: EdgeSim, models: URL, watcher: ProgressPrinter, clock: DemoClock, kubeconfigPath: String,
                 registry: MLflowTracking?) async throws {
    let served = try await client.get(EdgeModel.resource, namespace: "vision", name: "detector")[path: ["status", "currentVersion"]]?.stringValue ?? "?"
    // With MLflow, the Job registers its model there and reports the version (mlflow://detector/N).
    var train: JSONValue = ["name": "train", "image": .string(OperatorOptions.defaultImage), "command": ["edgeml"],
                            "args": ["retrain", "--output-dir", .string(models.path), "--termination-log", "/dev/termination-log"]]
    if let registry {
      train["args"] = .array((train["args"]?.arrayValue ?? []) + ["--mlflow-model", "detector"])
      train["env"] = [["name": "MLFLOW_TRACKING_URI", "value": .string(registry.url)]]
    }
    let policy: JSONValue = [
      "apiVersion": "edgeml.io/v1alpha1", "kind": "DriftPolicy", "metadata": ["name": "detector-drift", "namespace": "vision"],
      "spec": [
        "modelRef": ["name": "detector"], "source": ["podMetrics": [:]],
        "reference": ["baseline": ["window": "5s"]],
        // Two features the simulated clients send, N(0.5, 0.1) each until told otherwise.
        "features": [["name": "brightness", "type": "numerical", "test": "ks"], ["name": "contrast", "type": "numerical", "test": "ks"]],
        "datasetDrift": ["share": 0.5], "correction": "benjamini-hochberg",
        "schedule": ["interval": "3s", "window": "5s", "minSamples": 500],
        "retraining": [
          "cooldown": "1h", "maxConcurrent": 1,
          "jobTemplate": ["spec": ["backoffLimit": 0, "template": ["spec": [
            "restartPolicy": "Never",
            "containers": [train],
          ]]]],
          "promote": ["rollout": ["strategy": ["canary": ["steps": [["setWeight": 40], ["pause": ["duration": "2s"]], ["setWeight": 100]]]]]],
        ],
      ],
    ]
    _ = try await client.create(DriftPolicy.resource, namespace: "vision", policy)
    clock.say("applied DriftPolicy vision/detector-drift: KS on brightness and contrast every 3 s over the last 5 s, against a baseline of the first 5 s of version \(served)'s traffic; retrain on drift, canary the result")
    let drift = DriftPrinter(client: client, namespace: "vision", name: "detector-drift", clock: clock)
    guard try await drift.follow(until: { s, _ in s["lastEvaluation"]?["datasetDrift"] == false }, timeout: stepTimeout) else {
      throw DemoError("no quiet evaluation within \(Int(stepTimeout)) s; see kubectl --kubeconfig \(kubeconfigPath) describe driftpolicy -n vision detector-drift")
    }

    try sim.shiftDrift(FeatureDrift(namespace: "vision", model: "detector", feature: "brightness",
                                    nodeSelector: ["edgeml.io/jetson.module": "orin-nx-16gb"], shift: 0.3))
    clock.say("drift injected: the clients of the Orin NX nodes now send brightness + 0.3 (N(0.8, 0.1)); contrast unchanged")
    guard try await drift.follow(until: { s, _ in DriftPrinter.condition(s, "Drifted")?["status"] == "True" }, timeout: stepTimeout) else {
      throw DemoError("the drift was not detected within \(Int(stepTimeout)) s")
    }
    guard try await drift.follow(until: { s, _ in s["retrainJobs"]?.arrayValue?.first?["rollout"]?.stringValue != nil }, timeout: stepTimeout) else {
      throw DemoError("the retraining Job gave no model within \(Int(stepTimeout)) s; see kubectl --kubeconfig \(kubeconfigPath) get jobs -n vision")
    }
    let rolloutName = try await drift.status()["retrainJobs"]?.arrayValue?.first?["rollout"]?.stringValue ?? ""
    let candidate = try await client.get(Rollout.resource, namespace: "vision", name: rolloutName)[path: ["spec", "candidate", "model"]] ?? [:]
    let version = candidate["version"]?.stringValue ?? "?"
    if let registry, let uri = candidate["uri"]?.stringValue, uri.hasPrefix("mlflow://") {
      let record = try? await registry.modelVersion(name: "detector", version: version)
      clock.say("MLflow: the retraining Job registered detector version \(version) (\(record?["status"]?.stringValue ?? "?"), source "
                + "\(record?["source"]?.stringValue ?? "?")); the canary's candidate is \(uri), which the engine builds fetch from MLflow")
    } else if registry != nil {
      throw DemoError("the retraining Job's model is \(candidate["uri"]?.stringValue ?? "?"), not an MLflow version; see kubectl --kubeconfig \(kubeconfigPath) logs -n vision -l job-name")
    }
    let canary = RolloutPrinter(client: client, namespace: "vision", name: rolloutName, clock: clock)
    guard try await canary.follow(until: { $0["phase"] == "Promoted" || $0["phase"] == "Aborted" }, timeout: stepTimeout * 2) else {
      throw DemoError("the retrained model's canary did not finish within \(Int(stepTimeout * 2)) s")
    }
    guard try await watcher.follow(until: { $0["phase"] == "Ready" && $0["currentVersion"] == .string(version) }, timeout: stepTimeout) else {
      throw DemoError("version \(version) did not become Ready within \(Int(stepTimeout)) s")
    }
    guard try await drift.follow(until: { s, baselineVersion in
      baselineVersion == version && DriftPrinter.condition(s, "Drifted")?["reason"] == "NoDatasetDrift"
    }, timeout: stepTimeout) else {
      throw DemoError("no quiet evaluation of version \(version) within \(Int(stepTimeout)) s")
    }
    let jobs = try await drift.jobNames()
    clock.say("drift gone: version \(version), retrained, is judged against what its clients send; the loop is quiet (no new Job: \(jobs.joined(separator: ", ")))")
  }
}

/// Follows a DriftPolicy, printing each new fact once: conditions, each evaluation's p-values per
/// feature, retraining Jobs and what their pods reported.
actor DriftPrinter {
  let client: KubeClient
  let namespace: String
  let name: String
  let clock: DemoClock
  private var said = Set<String>()

  init(client: KubeClient, namespace: String, name: String, clock: DemoClock) {
    self.client = client
    self.namespace = namespace
    self.name = name
    self.clock = clock
  }

  static func condition(_ status: JSONValue, _ type: String) -> JSONValue? {
    status["conditions"]?.arrayValue?.first { $0["type"]?.stringValue == type }
  }

  private func once(_ key: String, _ line: String) {
    if said.insert(key).inserted { clock.say(line) }
  }

  func status() async throws -> JSONValue { try await client.get(DriftPolicy.resource, namespace: namespace, name: name)["status"] ?? [:] }

  func jobNames() async throws -> [String] {
    try await client.list(GroupVersionResource(group: "batch", version: "v1", resource: "jobs", namespaced: true), namespace: namespace,
                          labelSelector: "edgeml.io/drift-policy=\(name)").items.compactMap { $0[path: ["metadata", "name"]]?.stringValue }.sorted()
  }

  /// Polls until `done(status, version of the baseline ConfigMap)`.
  func follow(until done: (JSONValue, String?) -> Bool, timeout: Double) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      let status = try await self.status()
      let baseline = try? await client.get(.configMaps, namespace: namespace, name: "\(name)-baseline")
      let baselineVersion = baseline?[path: ["metadata", "annotations", "edgeml.io/model-version"]]?.stringValue
      let captured = baseline?[path: ["data", "reference.json"]] != nil ? baselineVersion : nil
      if let v = captured { once("baseline-\(v)", "baseline of version \(v) captured (ConfigMap \(name)-baseline)") }
      for type in ["Drifted", "RetrainingTriggered"] {
        guard let c = Self.condition(status, type), let reason = c["reason"]?.stringValue else { continue }
        if type == "RetrainingTriggered" && reason == "NoRetraining" { continue }
        // Said again for each baseline: the same verdict against another version's baseline is news.
        once("\(type)/\(c["status"]?.stringValue ?? "")/\(reason)/\(baselineVersion ?? "")", "drift policy: \(type)=\(c["status"]?.stringValue ?? "?") \(reason): \(c["message"]?.stringValue ?? "")")
      }
      if let e = status["lastEvaluation"], let time = e["time"]?.stringValue {
        let features = (e["features"]?.arrayValue ?? []).map { f -> String in
          let p = f["pValue"]?.doubleValue.map { String(format: "p = %.3g", $0) } ?? "no p-value"
          return "\(f["name"]?.stringValue ?? "?") \(f["test"]?.stringValue ?? "?") D = \(f["statistic"]?.doubleValue.map { String(format: "%.3f", $0) } ?? "-"), \(p)\(f["drifted"] == true ? " DRIFTED" : "")"
        }
        once("evaluation-\(time)", "evaluation of \(e["samples"]?.intValue ?? 0) samples from \(e["pods"]?.intValue ?? 0) agents: \(features.joined(separator: "; ")) → \(e["datasetDrift"] == true ? "dataset drift" : "no dataset drift")")
      }
      for job in status["retrainJobs"]?.arrayValue ?? [] {
        let jobName = job["name"]?.stringValue ?? "?"
        once("job-\(jobName)-\(job["phase"]?.stringValue ?? "")", "retraining Job \(jobName): \(job["phase"]?.stringValue ?? "?")\(job["message"]?.stringValue.map { " — \($0)" } ?? "")")
      }
      if done(status, captured) { return true }
      try await Task.sleep(for: .milliseconds(250))
    }
    return false
  }
}
