import EdgeMLVocabulary
import Foundation
import KubeClient

/// Fetches a registered model's file: `mlflow://NAME@ALIAS` or `mlflow://NAME/VERSION`
/// (docs/edgemodel-contracts.md §2), from the tracking server at `MLFLOW_TRACKING_URI`, with
/// `MLFLOW_TRACKING_TOKEN` as a Bearer token when set.
///
/// Steps, all REST calls of MLflow 3.x (`mlflow/server/handlers.py`, checked against 3.17.2):
/// 1. The version: `GET /api/2.0/mlflow/registered-models/alias?name=&alias=` or
///    `GET /api/2.0/mlflow/model-versions/get?name=&version=`.
/// 2. Where its files are: `GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=`.
///    The server answers the version's `storage_location`, else its `source`; for a 3.x logged model
///    (`source` `models:/m-…`) that is the model's artifact folder, e.g. `mlflow-artifacts:/0/models/m-…/artifacts`.
/// 3. For an `mlflow-artifacts:` location (the server proxies artifacts, the 3.x default) the folder is
///    listed with `GET /api/2.0/mlflow-artifacts/artifacts?path=` and the model file downloaded from
///    `GET /api/2.0/mlflow-artifacts/artifacts/<path>`: `model.onnx` if the folder has one, else its only file.
///    Any other location (`s3://…`, a path on the server) cannot be listed through the server, so
///    `model.onnx` is downloaded through `GET /model-versions/get-artifact?name=&version=&path=`,
///    which reads from wherever the version lives.
public struct MLflowFetcher: ArtifactFetcher {
  public static let schemes = ["mlflow"]

  let environment: [String: String]
  let transport: HTTPTransport

  /// The most bytes a download may write (`FetchContext.maxBytes`).
  public var maxBytes = FetchContext.defaultMaxBytes

  public init(environment: [String: String], transport: HTTPTransport) {
    self.environment = environment
    self.transport = transport
  }

  public func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact {
    let reference = try Self.parse(uri)
    guard var base = environment["MLFLOW_TRACKING_URI"]?.trimmingCharacters(in: .whitespaces),
          base.hasPrefix("http://") || base.hasPrefix("https://") else {
      throw FetchError(uri: uri, message: "MLFLOW_TRACKING_URI must be the tracking server's http(s) URL")
    }
    while base.hasSuffix("/") { base.removeLast() }
    let client = Client(download: RemoteDownload(transport: transport, uri: uri, maxBytes: maxBytes), base: base,
                        token: environment["MLFLOW_TRACKING_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })

    let name: String, version: String
    switch reference {
    case .alias(let n, let alias):
      let found = try await client.json("/api/2.0/mlflow/registered-models/alias", ["name": n, "alias": alias])
      guard let v = (found["model_version"] as? [String: Any])?["version"] as? String else {
        throw FetchError(uri: uri, message: "the alias answer names no model version")
      }
      (name, version) = (n, v)
    case .version(let n, let v):
      _ = try await client.json("/api/2.0/mlflow/model-versions/get", ["name": n, "version": v])  // 404 says which
      (name, version) = (n, v)
    }
    let location = try await client.json("/api/2.0/mlflow/model-versions/get-download-uri", ["name": name, "version": version])
    guard let artifactURI = location["artifact_uri"] as? String else {
      throw FetchError(uri: uri, message: "the server gave no download location for \(name) version \(version)")
    }

    let url: String
    if let folder = MLflowArtifactLocation.proxiedPath(artifactURI) {
      let listing = try await client.json("/api/2.0/mlflow-artifacts/artifacts", ["path": folder])
      let files = ((listing["files"] as? [[String: Any]]) ?? []).filter { ($0["is_dir"] as? Bool) != true }
        .compactMap { $0["path"] as? String }
      guard let chosen = MLflowArtifactLocation.modelFile(among: files) else {
        throw FetchError(uri: uri, message: MLflowArtifactLocation.noModelFile(in: artifactURI, files: files))
      }
      url = base + "/api/2.0/mlflow-artifacts/artifacts/" + SigV4Signer.encodePath(folder + "/" + chosen)
    } else {
      url = base + "/model-versions/get-artifact?" + Self.query(["name": name, "version": version, "path": MLflowArtifactLocation.modelFile])
    }
    let written = try await client.download.download(client.request(url), to: destination) { status, body in
      Self.describe(status: status, body: body)
    }
    return FetchedArtifact(path: destination, size: written.size)
  }

  /// Splits `mlflow://NAME@ALIAS` and `mlflow://NAME/VERSION` (the shared `MLflowModelReference`).
  static func parse(_ uri: String) throws(FetchError) -> MLflowModelReference {
    guard uri.hasPrefix(MLflowModelReference.scheme) else { throw FetchError(uri: uri, message: "not an mlflow:// URI") }
    guard let reference = MLflowModelReference(uri: uri) else {
      throw FetchError(uri: uri, message: "an MLflow URI is mlflow://NAME@ALIAS or mlflow://NAME/VERSION")
    }
    return reference
  }

  static func query(_ items: [String: String]) -> String {
    items.sorted { $0.key < $1.key }.map { SigV4Signer.uriEncode($0.key) + "=" + SigV4Signer.uriEncode($0.value) }
      .joined(separator: "&")
  }

  /// "404 RESOURCE_DOES_NOT_EXIST: …" from MLflow's `{"error_code":…,"message":…}`.
  static func describe(status: Int, body: [UInt8]) -> String {
    let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    switch (object?["error_code"] as? String, object?["message"] as? String) {
    case (let code?, let message?): return "MLflow answered \(status) \(code): \(message)"
    case (nil, let message?): return "MLflow answered \(status): \(message)"
    default: return "MLflow answered \(status)"
    }
  }

  /// Authenticated GETs against one tracking server.
  struct Client: Sendable {
    let download: RemoteDownload
    let base: String
    let token: String?

    func request(_ url: String) -> HTTPRequest {
      var headers: [(String, String)] = [("accept", "application/json")]
      if let token { headers.append(("authorization", "Bearer \(token)")) }
      return HTTPRequest(method: "GET", url: url, headers: headers, timeout: .seconds(3600))
    }

    /// GETs `path?query` and decodes a JSON object.
    func json(_ path: String, _ items: [String: String]) async throws(FetchError) -> [String: Any] {
      let response = try await download.send(request(base + path + "?" + MLflowFetcher.query(items)))
      guard (200..<300).contains(response.status) else {
        throw FetchError(uri: download.uri, message: MLflowFetcher.describe(status: response.status, body: response.body))
      }
      guard let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] else {
        throw FetchError(uri: download.uri, message: "\(path) did not answer a JSON object")
      }
      return object
    }
  }
}
