import ArgumentParser
import Foundation
import KubeCore

/// `edgeml retrain`: the demo's retraining program, run by a DriftPolicy's retraining Job.
///
/// It reads what the Job is given (the drift report mounted at `$EDGEML_DRIFT_REPORT`, the model's
/// lineage in `EDGEML_MODEL_*`), writes the next version of the demo model into `--output-dir` and
/// reports it in its termination message as the controller reads it (docs/drift-policy.md
/// §Retraining): `{"uri": "file://…", "digest": "sha256:…", "version": "N"}`. With
/// `--mlflow-model NAME` it registers the file as a new version of NAME in the MLflow server at
/// `MLFLOW_TRACKING_URI` and reports that version with the file's digest,
/// `{"uri": "mlflow://NAME/V", "digest": "sha256:…", "version": "V"}`: MLflow keeps no digest of
/// a version's files, and the engine builds verify what they fetch against it. It does not train: the demo model is a one-node ONNX graph
/// (`DemoModel`); a real retraining Job fits a model on fresh data and reports it the same way.
struct RetrainCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "retrain",
    abstract: "Write the next version of the demo model and report it in the termination message (the demo's retraining Job).")

  @Option(help: "Directory the new model file is written to (a path the engine init containers can read).") var outputDir: String
  @Option(help: "Where the result goes (Kubernetes keeps at most 4096 bytes of it).") var terminationLog = "/dev/termination-log"
  @Option(help: "The new version (default: the current EDGEML_MODEL_VERSION plus one).") var version: String?
  @Option(help: "Register the new model as a version of this MLflow registered model (the server at MLFLOW_TRACKING_URI) and report that version.")
  var mlflowModel: String?

  func run() async throws {
    let env = ProcessInfo.processInfo.environment
    let current = env["EDGEML_MODEL_VERSION"] ?? ""
    guard let next = version ?? Int(current).map({ String($0 + 1) }) else {
      throw ValidationError("EDGEML_MODEL_VERSION is \"\(current)\", not a number: say the new version with --version.")
    }
    if let path = env["EDGEML_DRIFT_REPORT"], let data = FileManager.default.contents(atPath: path),
       let report = try? JSONValue(parsing: Array(data)) {
      let drifted = (report["features"]?.arrayValue ?? []).filter { $0["drifted"] == true }.compactMap { $0["name"]?.stringValue }
      print("drift report of \(report["model"]?["name"]?.stringValue ?? "?") version \(current): drifted \(drifted.joined(separator: ", "))")
    } else {
      print("no drift report at $EDGEML_DRIFT_REPORT; retraining anyway")
    }
    let model = try DemoModel.write(version: next, to: URL(fileURLWithPath: outputDir))
    print("wrote version \(next): \(model.uri) \(model.digest)")
    var result: JSONValue = ["uri": .string(model.uri), "digest": .string(model.digest), "version": .string(next)]
    if let name = mlflowModel {
      guard let tracking = env["MLFLOW_TRACKING_URI"], !tracking.isEmpty else {
        throw ValidationError("--mlflow-model needs MLFLOW_TRACKING_URI (the tracking server's URL) in the environment.")
      }
      let mlflow = try MLflowTracking(url: tracking, token: env["MLFLOW_TRACKING_TOKEN"])
      let registered = try await mlflow.register(name: name, file: URL(fileURLWithPath: String(model.uri.dropFirst("file://".count))),
                                                 description: "retrained from version \(current) by \(env["EDGEML_DRIFT_POLICY"] ?? "edgeml retrain")")
      result = ["uri": .string("mlflow://\(name)/\(registered)"), "digest": .string(model.digest), "version": .string(registered)]
      print("registered \(name) version \(registered) in MLflow at \(mlflow.url): mlflow://\(name)/\(registered)")
    }
    try Data(result.serializedString().utf8).write(to: URL(fileURLWithPath: terminationLog))
  }
}
