import KubeClient
import KubeCore

/// What asking MLflow for the version behind an alias came to.
public enum AliasLookup: Sendable, Equatable {
  /// The alias names this version.
  case version(String)
  /// No answer to act on; `reason` is the condition's reason (`MLflowUnreachable`, `AliasNotFound`,
  /// `MLflowError`, `MLflowNotConfigured`), `message` says what happened, for people.
  case failed(reason: String, message: String)
}

/// What pinning a model version's artifact came to (docs/mlflow.md, "Pinning").
public enum ArtifactPin: Sendable, Equatable {
  /// `sha256:<64 hex>` of the model file, and its size in bytes.
  case digest(String, size: Int)
  /// No digest; `reason` is the `ModelResolved` condition's reason (`ArtifactUnreachable`,
  /// `ArtifactNotFound`, `ArtifactTooLarge`, `ArtifactUnreadable`, `MLflowNotConfigured`), `message` says
  /// what happened, for people.
  case failed(reason: String, message: String)
}

/// The two questions the operator asks MLflow: which version an alias names, and what the model
/// file of a version hashes to.
public protocol MLflowRegistry: Sendable {
  /// The version `alias` of registered model `name` names now.
  func lookUp(name: String, alias: String) async -> AliasLookup
  /// The sha256 of the model file of version `version` of `name` (the file the engine builder
  /// fetches, `MLflowArtifactLocation`), read as a stream and never kept; a file of more than
  /// `maxBytes` bytes fails with `ArtifactTooLarge`.
  func artifactDigest(name: String, version: String, maxBytes: Int) async -> ArtifactPin
}

/// `MLflowRegistry` over MLflow's REST API, at `MLFLOW_TRACKING_URI` with `MLFLOW_TRACKING_TOKEN`
/// as a Bearer token when set: the variables the engine builder's fetcher reads too.
///
/// One call per look: `GET /api/2.0/mlflow/registered-models/alias?name=NAME&alias=ALIAS`, which
/// answers `{"model_version": {"name", "version", …}}` (MLflow's REST API reference,
/// "Get Model Version by Alias"; `getModelVersionByAlias` in `mlflow/protos/model_registry.proto`,
/// handled by `_get_model_version_by_alias` in `mlflow/server/handlers.py`, checked against 3.17.2).
/// MLflow's errors are `{"error_code", "message"}` bodies: an unknown registered model is
/// `404 RESOURCE_DOES_NOT_EXIST`, an unknown alias of a known model `400 INVALID_PARAMETER_VALUE`
/// "Registered model alias … not found." (`get_model_version_by_alias` in
/// `mlflow/store/model_registry/sqlalchemy_store.py`, 3.17.2; seen from a real server in MLflowFollowTests).
public struct MLflowRESTRegistry: MLflowRegistry {
  /// The tracking server's base URL, without a trailing slash; nil when the operator has none.
  public let trackingURI: String?
  let token: String?
  let transport: HTTPTransport?
  /// Of each JSON call (a look at an alias, a version's location, a folder's listing).
  let timeout: Duration
  /// Of the whole download of a model file when its digest is pinned.
  let downloadTimeout: Duration

  /// - Parameters:
  ///   - environment: the operator's environment (`MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_TOKEN`).
  ///   - transport: the libcurl transport to send with (nil: the operator's shared one).
  ///   - downloadTimeout: the longest a model file's download may take (the whole transfer).
  public init(environment: [String: String], transport: HTTPTransport? = nil, timeout: Duration = .seconds(10),
              downloadTimeout: Duration = .seconds(900)) {
    var base = environment["MLFLOW_TRACKING_URI"]?.trimmingWhitespace() ?? ""
    while base.hasSuffix("/") { base.removeLast() }
    trackingURI = base.isEmpty ? nil : base
    token = environment["MLFLOW_TRACKING_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    self.transport = transport ?? RolloutRouting.sharedTransport
    self.timeout = timeout
    self.downloadTimeout = downloadTimeout
  }

  public func lookUp(name: String, alias: String) async -> AliasLookup {
    guard let base = trackingURI, base.hasPrefix("http://") || base.hasPrefix("https://") else {
      return .failed(reason: "MLflowNotConfigured", message: Self.notConfigured)
    }
    guard let transport else { return .failed(reason: "MLflowUnreachable", message: "libcurl could not be loaded") }
    let url = base + "/api/2.0/mlflow/registered-models/alias?name=" + percentEncode(name) + "&alias=" + percentEncode(alias)
    let response: HTTPResponse
    do {
      response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: headers, timeout: timeout))
    } catch let error as TransportError {
      return .failed(reason: "MLflowUnreachable", message: "MLflow at \(base) did not answer: \(PrometheusProvider.describe(error))")
    } catch {
      return .failed(reason: "MLflowUnreachable", message: "MLflow at \(base) did not answer: \(error)")
    }
    return Self.decode(status: response.status, body: response.body, name: name, alias: alias)
  }

  static let notConfigured = "the operator has no MLflow tracking server: set MLFLOW_TRACKING_URI (an http(s) URL) in its environment"

  /// The headers of every request: JSON, and the token when there is one.
  var headers: [(String, String)] {
    var headers: [(String, String)] = [("Accept", "application/json")]
    if let token { headers.append(("Authorization", "Bearer \(token)")) }
    return headers
  }

  /// The lookup an answer of the alias endpoint means.
  static func decode(status: Int, body: [UInt8], name: String, alias: String) -> AliasLookup {
    let json = try? JSONValue(parsing: body)
    guard (200..<300).contains(status) else {
      let code = json?["error_code"]?.stringValue, message = json?["message"]?.stringValue
      let said = "MLflow answered \(status)" + (code.map { " \($0)" } ?? "") + (message.map { ": \(String($0.prefix(300)))" } ?? "")
      let aliasUnknown = code == "INVALID_PARAMETER_VALUE" && (message ?? "").lowercased().contains("alias") && (message ?? "").contains("not found")
      if status == 404 || code == "RESOURCE_DOES_NOT_EXIST" || aliasUnknown {
        return .failed(reason: "AliasNotFound", message: "registered model \(name) has no alias \(alias) (\(said))")
      }
      return .failed(reason: status >= 500 ? "MLflowUnreachable" : "MLflowError", message: said)
    }
    guard let version = json?[path: ["model_version", "version"]]?.stringValue,
          !version.isEmpty, version.count <= 20, version.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      return .failed(reason: "MLflowError", message: "MLflow's answer for \(name)@\(alias) names no model version (a number)")
    }
    return .version(version)
  }
}
