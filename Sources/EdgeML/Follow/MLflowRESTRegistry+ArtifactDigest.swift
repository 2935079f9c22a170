import Crypto
import EdgeMLVocabulary
import KubeClient
import KubeCore

/// Pinning a version's model file: MLflow keeps no digest of what a version holds (its
/// `ModelVersion` has `source`, `run_id`, `status`… and no checksum; `get-download-uri` answers an
/// `artifact_uri` only; an artifact listing's `FileInfo` has `path`, `is_dir`, `file_size` —
/// `mlflow/protos/model_registry.proto`, `mlflow/protos/mlflow_artifacts.proto`, 3.17.2), so the
/// operator reads the file once and hashes it itself.
extension MLflowRESTRegistry {
  public func artifactDigest(name: String, version: String, maxBytes: Int) async -> ArtifactPin {
    guard let base = trackingURI, base.hasPrefix("http://") || base.hasPrefix("https://") else {
      return .failed(reason: "MLflowNotConfigured", message: Self.notConfigured)
    }
    guard let transport else { return .failed(reason: "ArtifactUnreachable", message: "libcurl could not be loaded") }
    let what = "version \(version) of \(name)"
    let query = "name=" + percentEncode(name) + "&version=" + percentEncode(version)
    // Where the version's files are, then which file is the model: as the engine builder does it.
    let location: JSONValue
    switch await json(base + "/api/2.0/mlflow/model-versions/get-download-uri?" + query, what: what, transport: transport) {
    case .success(let object): location = object
    case .failure(let failure): return failure.pin
    }
    guard let artifactURI = location["artifact_uri"]?.stringValue, !artifactURI.isEmpty else {
      return .failed(reason: "ArtifactUnreadable", message: "MLflow gave no download location for \(what)")
    }
    let url: String
    if let folder = MLflowArtifactLocation.proxiedPath(artifactURI) {
      let listing: JSONValue
      switch await json(base + "/api/2.0/mlflow-artifacts/artifacts?path=" + percentEncode(folder), what: what, transport: transport) {
      case .success(let object): listing = object
      case .failure(let failure): return failure.pin
      }
      let files = (listing["files"]?.arrayValue ?? []).filter { $0["is_dir"]?.boolValue != true }.compactMap { $0["path"]?.stringValue }
      guard let file = MLflowArtifactLocation.modelFile(among: files) else {
        return .failed(reason: "ArtifactNotFound", message: "\(what): " + MLflowArtifactLocation.noModelFile(in: artifactURI, files: files))
      }
      url = base + "/api/2.0/mlflow-artifacts/artifacts/" + (folder + "/" + file).split(separator: "/").map { percentEncode(String($0)) }.joined(separator: "/")
    } else {
      url = base + "/model-versions/get-artifact?" + query + "&path=" + percentEncode(MLflowArtifactLocation.modelFile)
    }
    return await streamDigest(url, what: what, maxBytes: maxBytes, transport: transport)
  }

  /// Streams `url`'s body through SHA-256, one chunk at a time: the file is never held whole.
  ///
  /// *Caveats*: the transport hands chunks over as they arrive; hashing (hundreds of MB/s) keeps up
  /// with any network, so what waits in between stays small.
  func streamDigest(_ url: String, what: String, maxBytes: Int, transport: HTTPTransport) async -> ArtifactPin {
    var hasher = SHA256()
    var size = 0
    var status = 0
    var errorBody: [UInt8] = []
    do {
      let stream = try transport.stream(HTTPRequest(method: "GET", url: url, headers: headers, timeout: downloadTimeout))
      for try await part in stream {
        switch part {
        case .head(let code, let headers):
          status = code
          guard (200..<300).contains(code) else { continue }
          if let length = headers.last(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1.trimmingWhitespace()) }),
             length > maxBytes {
            return .failed(reason: "ArtifactTooLarge", message: "the model file of \(what) is \(length) bytes, over the limit of \(maxBytes) (spec.model.sizeLimit)")
          }
        case .body(let bytes):
          guard (200..<300).contains(status) else {
            if errorBody.count < 4096 { errorBody += bytes.prefix(4096 - errorBody.count) }
            continue
          }
          size += bytes.count
          // Leaving the loop drops the stream, which cancels the transfer.
          if size > maxBytes {
            return .failed(reason: "ArtifactTooLarge", message: "the model file of \(what) is more than the limit of \(maxBytes) bytes (spec.model.sizeLimit)")
          }
          hasher.update(data: bytes)
        }
      }
    } catch let error as TransportError {
      return .failed(reason: "ArtifactUnreachable", message: "the model file of \(what) could not be read: \(PrometheusProvider.describe(error))")
    } catch {
      return .failed(reason: "ArtifactUnreachable", message: "the model file of \(what) could not be read: \(error)")
    }
    guard (200..<300).contains(status) else { return Self.refusal(status: status, body: errorBody, what: "the model file of \(what)") }
    return .digest("sha256:" + String(lowerHex: hasher.finalize()), size: size)
  }

  /// GETs `url` and decodes a JSON object, or the failure to report.
  private func json(_ url: String, what: String, transport: HTTPTransport) async -> Result<JSONValue, PinFailure> {
    let response: HTTPResponse
    do {
      response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: headers, timeout: timeout))
    } catch let error as TransportError {
      return .failure(PinFailure(.failed(reason: "ArtifactUnreachable", message: "MLflow did not answer for \(what): \(PrometheusProvider.describe(error))")))
    } catch {
      return .failure(PinFailure(.failed(reason: "ArtifactUnreachable", message: "MLflow did not answer for \(what): \(error)")))
    }
    guard (200..<300).contains(response.status) else { return .failure(PinFailure(Self.refusal(status: response.status, body: response.body, what: what))) }
    guard let object = try? JSONValue(parsing: response.body), object.objectValue != nil else {
      return .failure(PinFailure(.failed(reason: "ArtifactUnreadable", message: "MLflow's answer for \(what) is not a JSON object")))
    }
    return .success(object)
  }

  /// The failure a non-2xx answer means: 404 (or `RESOURCE_DOES_NOT_EXIST`) `ArtifactNotFound`, 5xx
  /// `ArtifactUnreachable`, any other (401/403: the token) `ArtifactUnreadable`.
  static func refusal(status: Int, body: [UInt8], what: String) -> ArtifactPin {
    let json = try? JSONValue(parsing: body)
    let code = json?["error_code"]?.stringValue, message = json?["message"]?.stringValue
    let said = "MLflow answered \(status)" + (code.map { " \($0)" } ?? "") + (message.map { ": \(String($0.prefix(300)))" } ?? "")
    let reason = status == 404 || code == "RESOURCE_DOES_NOT_EXIST" ? "ArtifactNotFound" : status >= 500 ? "ArtifactUnreachable" : "ArtifactUnreadable"
    return .failed(reason: reason, message: "\(what): \(said)")
  }

  /// An `ArtifactPin.failed` carried as a `Result`'s error.
  struct PinFailure: Error {
    let pin: ArtifactPin
    init(_ pin: ArtifactPin) { self.pin = pin }
  }
}
