import Foundation
import KubeClient
import KubeCore

/// Registers model files in an MLflow Model Registry through the tracking server's REST API, the
/// way MLflow's own client does (`mlflow.log_artifacts` then `MlflowClient.create_model_version`):
///
/// 1. `POST /api/2.0/mlflow/runs/create` in the default experiment "0": a run whose `artifact_uri`
///    is `mlflow-artifacts:/0/<run>/artifacts` when the server proxies artifacts (the 3.x default);
/// 2. `PUT /api/2.0/mlflow-artifacts/artifacts/0/<run>/artifacts/model/model.onnx` with the file
///    (MLflow's `mlflow_artifacts.proto`, "Upload an artifact");
/// 3. `POST /api/2.0/mlflow/runs/update` (FINISHED);
/// 4. `POST /api/2.0/mlflow/registered-models/create` (an existing model is fine);
/// 5. `POST /api/2.0/mlflow/model-versions/create` with `source` the run's `model` folder and its
///    `run_id`: MLflow numbers the versions 1, 2, … per registered model.
///
/// The engine builder's `MLflowFetcher` reads such a version back (`model.onnx` in the folder).
/// Used by `edgeml retrain --mlflow-model` and the demo; a Bearer token is sent when
/// `MLFLOW_TRACKING_TOKEN` is set, as MLflow's clients do.
struct MLflowTracking {
  let url: String
  let token: String?
  let transport: HTTPTransport

  init(url: String, token: String? = nil) throws {
    var base = url
    while base.hasSuffix("/") { base.removeLast() }
    guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
      throw MLflowTrackingError("the MLflow tracking URI must be an http(s) URL, not \"\(url)\"")
    }
    self.url = base
    self.token = token.flatMap { $0.isEmpty ? nil : $0 }
    transport = try HTTPTransport(tls: TLSSettings())
  }

  func send(_ method: String, _ path: String, body: [UInt8], contentType: String) async throws -> (Int, JSONValue?) {
    var headers = [("Content-Type", contentType), ("Accept", "application/json")]
    if let token { headers.append(("Authorization", "Bearer \(token)")) }
    let response: HTTPResponse
    do {
      response = try await transport.send(HTTPRequest(method: method, url: url + path, headers: headers, body: body, timeout: .seconds(60)))
    } catch {
      throw MLflowTrackingError("MLflow at \(url) did not answer \(method) \(path): \(error)")
    }
    return (response.status, try? JSONValue(parsing: response.body))
  }

  /// POSTs a JSON body to `/api/2.0/mlflow/<path>`; throws with MLflow's `error_code` and message
  /// unless 200 (or `accepting` says the error is fine).
  @discardableResult
  func post(_ path: String, _ body: JSONValue, accepting: Set<String> = []) async throws -> JSONValue {
    let (status, json) = try await send("POST", "/api/2.0/mlflow/" + path, body: Array(body.serializedString().utf8), contentType: "application/json")
    if status == 200, let json { return json }
    let code = json?["error_code"]?.stringValue ?? ""
    if accepting.contains(code) { return json ?? [:] }
    throw MLflowTrackingError("MLflow answered \(status) to \(path): \(code) \(json?["message"]?.stringValue ?? "")")
  }

  /// Uploads `file` and registers it as a new version of `name`; returns the version MLflow gave it.
  func register(name: String, file: URL, description: String) async throws -> String {
    let now = JSONValue(Int(Date().timeIntervalSince1970 * 1000))
    let run = try await post("runs/create", ["experiment_id": "0", "start_time": now, "run_name": .string("register-\(name)")])
    guard let runID = run[path: ["run", "info", "run_id"]]?.stringValue,
          let artifactURI = run[path: ["run", "info", "artifact_uri"]]?.stringValue else {
      throw MLflowTrackingError("MLflow's runs/create answer has no run_id and artifact_uri")
    }
    guard let folder = artifactURI.hasPrefix("mlflow-artifacts:") ? String(artifactURI.dropFirst("mlflow-artifacts:".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")) : nil else {
      throw MLflowTrackingError("the run's artifacts are at \(artifactURI), which the server does not proxy (start it with artifacts served, the 3.x default)")
    }
    let bytes = try Data(contentsOf: file)
    let (status, answer) = try await send("PUT", "/api/2.0/mlflow-artifacts/artifacts/\(folder)/model/model.onnx", body: Array(bytes),
                                          contentType: "application/octet-stream")
    guard status == 200 else {
      throw MLflowTrackingError("MLflow answered \(status) to the artifact upload: \(answer?["message"]?.stringValue ?? "")")
    }
    try await post("runs/update", ["run_id": .string(runID), "status": "FINISHED", "end_time": now])
    try await post("registered-models/create", ["name": .string(name)], accepting: ["RESOURCE_ALREADY_EXISTS"])
    let created = try await post("model-versions/create", ["name": .string(name), "source": .string(artifactURI + "/model"),
                                                           "run_id": .string(runID), "description": .string(description)])
    guard let version = created[path: ["model_version", "version"]]?.stringValue else {
      throw MLflowTrackingError("MLflow's model-versions/create answer has no version")
    }
    return version
  }

  /// `GET /api/2.0/mlflow/model-versions/get`: the version's record (status, source, run).
  func modelVersion(name: String, version: String) async throws -> JSONValue {
    let query = "name=\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? name)&version=\(version)"
    let (status, json) = try await send("GET", "/api/2.0/mlflow/model-versions/get?" + query, body: [], contentType: "application/json")
    guard status == 200, let record = json?["model_version"] else {
      throw MLflowTrackingError("MLflow answered \(status) for \(name) version \(version)")
    }
    return record
  }
}

struct MLflowTrackingError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}
