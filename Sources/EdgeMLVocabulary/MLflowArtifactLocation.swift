/// Which file of a registered model version is "the model", and where the tracking server serves it.
///
/// The engine builder downloads that file to build the engine and the operator downloads it to pin
/// its digest (docs/mlflow.md, "Pinning"): both must pick the same file, so both ask here.
///
/// MLflow 3.x answers `GET /api/2.0/mlflow/model-versions/get-download-uri` with the version's
/// `storage_location`, else its `source` (`get_model_version_download_uri`,
/// `mlflow/server/handlers.py`, checked against 3.17.2). When the server proxies artifacts (the 3.x
/// default) that is an `mlflow-artifacts:` folder, listed with `GET /api/2.0/mlflow-artifacts/artifacts?path=`
/// and downloaded from `GET /api/2.0/mlflow-artifacts/artifacts/<path>`; any other location is read
/// through `GET /model-versions/get-artifact?name=&version=&path=`.
public enum MLflowArtifactLocation {
  /// The model file's name the project's programs write and look for first.
  public static let modelFile = "model.onnx"

  /// The path under the artifact proxy of `mlflow-artifacts:/p`, `mlflow-artifacts://host/p` or
  /// `http(s)://host/api/2.0/mlflow-artifacts/artifacts/p`; nil for locations the server does not proxy.
  public static func proxiedPath(_ artifactURI: String) -> String? {
    var path: Substring
    if artifactURI.hasPrefix("mlflow-artifacts://") {
      let rest = artifactURI.dropFirst("mlflow-artifacts://".count)
      path = rest.firstIndex(of: "/").map { rest[$0...] } ?? ""
    } else if artifactURI.hasPrefix("mlflow-artifacts:") {
      path = artifactURI.dropFirst("mlflow-artifacts:".count)
    } else if let anchor = artifactURI.firstRange(of: "/api/2.0/mlflow-artifacts/artifacts/"),
              artifactURI.hasPrefix("http://") || artifactURI.hasPrefix("https://") {
      path = artifactURI[anchor.upperBound...]
    } else {
      return nil
    }
    while path.hasPrefix("/") { path = path.dropFirst() }
    while path.hasSuffix("/") { path = path.dropLast() }
    return String(path)
  }

  /// The model file among a proxied folder's `files` (directories left out): `model.onnx` if there is
  /// one, else the only file; nil when neither (the caller says which files there were).
  public static func modelFile(among files: [String]) -> String? {
    if files.contains(modelFile) { return modelFile }
    return files.count == 1 ? files[0] : nil
  }

  /// Why `folder`'s `files` name no model file, for people.
  public static func noModelFile(in folder: String, files: [String]) -> String {
    "\(folder) has no \(modelFile) and \(files.count) files (\(files.sorted().joined(separator: ", "))); name one model file \(modelFile)"
  }
}
