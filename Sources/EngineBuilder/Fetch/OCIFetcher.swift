import Crypto
import Foundation
import KubeClient
import KubeCore

/// Fetches the first layer of an OCI artifact: `oci://HOST[:PORT]/REPO:TAG` or
/// `oci://HOST[:PORT]/REPO@sha256:…` (docs/edgemodel-contracts.md §2), as `oras pull` would.
///
/// The calls are the OCI distribution spec's pull API (opencontainers/distribution-spec `spec.md`):
/// `GET /v2/<repo>/manifests/<reference>` with `Accept` for the OCI image manifest and the Docker v2
/// manifest, then `GET /v2/<repo>/blobs/<digest>` for `layers[0]`. A 401 with a Bearer challenge is
/// answered anonymously with the token flow (`BearerChallenge`), once per fetch.
///
/// *Guarantees*: the blob's SHA-256 equals the layer digest and its size the layer size, or the fetch
/// fails and nothing is left at `destination`; a manifest fetched by digest must hash to that digest.
/// `pinnedDigest` is the layer digest.
///
/// HTTPS unless `HOST:PORT` (or `HOST`, for the default port) is listed in the comma-separated
/// `EDGEML_OCI_PLAIN_HTTP`, as oras' `--plain-http`.
///
/// *Caveats*: no registry credentials (only anonymous tokens); an image index is refused rather than
/// resolved to a platform; only `sha256` digests.
public struct OCIFetcher: ArtifactFetcher {
  public static let schemes = ["oci"]

  let environment: [String: String]
  let transport: HTTPTransport

  /// The most bytes a download may write (`FetchContext.maxBytes`).
  public var maxBytes = FetchContext.defaultMaxBytes

  public init(environment: [String: String], transport: HTTPTransport) {
    self.environment = environment
    self.transport = transport
  }

  /// The parts of an `oci://` URI.
  struct Reference: Equatable {
    /// `host` or `host:port`, as written.
    var registry: String
    var repository: String
    /// A tag or a `sha256:…` digest.
    var reference: String
  }

  static let manifestTypes = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"]
  static let indexTypes = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]

  public func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact {
    let ref = try Self.parse(uri)
    let plain = (environment["EDGEML_OCI_PLAIN_HTTP"] ?? "").split(separator: ",")
      .map { $0.trimmingCharacters(in: .whitespaces) }.contains(ref.registry)
    let base = "\(plain ? "http" : "https")://\(ref.registry)/v2/\(ref.repository)"
    var session = Session(download: RemoteDownload(transport: transport, uri: uri, maxBytes: maxBytes))

    let manifestResponse = try await session.get(base + "/manifests/" + ref.reference, accept: (Self.manifestTypes + Self.indexTypes).joined(separator: ", "))
    guard manifestResponse.status == 200 else {
      throw FetchError(uri: uri, message: "manifest: " + Self.describe(status: manifestResponse.status, body: manifestResponse.body))
    }
    if ref.reference.hasPrefix("sha256:") {
      let actual = "sha256:" + String(lowerHex: SHA256.hash(data: manifestResponse.body))
      guard actual == ref.reference else {
        throw FetchError(uri: uri, message: "the manifest hashes to \(actual), not \(ref.reference)")
      }
    }
    let layer = try Self.firstLayer(manifestResponse.body, contentType: manifestResponse.header("content-type"), uri: uri)

    var request = session.request(base + "/blobs/" + layer.digest, accept: "*/*")
    request.timeout = .seconds(3600)
    let download = session.download
    let written = try await download.download(request, to: destination) { status, body in
      "blob \(layer.digest): " + Self.describe(status: status, body: body)
    }
    guard written.digest == layer.digest, layer.size.map({ $0 == written.size }) ?? true else {
      try? FileManager.default.removeItem(atPath: destination)
      throw FetchError(uri: uri, message: "the blob is \(written.size) bytes hashing to \(written.digest); the manifest says "
                       + "\(layer.size.map(String.init) ?? "?") bytes, \(layer.digest)")
    }
    return FetchedArtifact(path: destination, size: written.size, pinnedDigest: layer.digest)
  }

  /// `layers[0]` of an image manifest.
  static func firstLayer(_ body: [UInt8], contentType: String?, uri: String) throws(FetchError) -> (digest: String, size: Int?) {
    guard let manifest = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
      throw FetchError(uri: uri, message: "the manifest is not a JSON object")
    }
    let mediaType = (manifest["mediaType"] as? String) ?? contentType ?? ""
    if indexTypes.contains(where: mediaType.hasPrefix) || manifest["manifests"] != nil {
      throw FetchError(uri: uri, message: "the reference names an index (\(mediaType)), not an artifact manifest; pin the manifest's digest")
    }
    guard let layers = manifest["layers"] as? [[String: Any]], let first = layers.first, let digest = first["digest"] as? String else {
      throw FetchError(uri: uri, message: "the manifest has no layers")
    }
    guard digest.hasPrefix("sha256:"), digest.count == 71, digest.dropFirst(7).allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
      throw FetchError(uri: uri, message: "unsupported layer digest \(digest) (only sha256)")
    }
    return (digest, (first["size"] as? NSNumber)?.intValue)
  }

  /// Splits `oci://HOST[:PORT]/REPO:TAG` and `oci://HOST[:PORT]/REPO@sha256:HEX`.
  static func parse(_ uri: String) throws(FetchError) -> Reference {
    let usage = FetchError(uri: uri, message: "an OCI URI is oci://HOST[:PORT]/REPO:TAG or oci://HOST[:PORT]/REPO@sha256:HEX")
    guard uri.hasPrefix("oci://") else { throw usage }
    let rest = uri.dropFirst("oci://".count)
    guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex else { throw usage }
    let registry = String(rest[..<slash])
    let path = rest[rest.index(after: slash)...]
    let repository: Substring, reference: Substring
    if let at = path.firstIndex(of: "@") {
      (repository, reference) = (path[..<at], path[path.index(after: at)...])
      let hex = reference.dropFirst("sha256:".count)
      guard reference.hasPrefix("sha256:"), hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { throw usage }
    } else if let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") {
      (repository, reference) = (path[..<colon], path[path.index(after: colon)...])
    } else {
      throw usage
    }
    // Repository components are lower-case alphanumerics with separators (distribution-spec "Pulling manifests").
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-/")
    guard !repository.isEmpty, !reference.isEmpty, repository.allSatisfy(allowed.contains),
          !repository.hasPrefix("/"), !repository.hasSuffix("/") else { throw usage }
    return Reference(registry: registry, repository: String(repository), reference: String(reference))
  }

  /// The registry's error document `{"errors":[{"code":…,"message":…}]}` as "404 MANIFEST_UNKNOWN: …".
  static func describe(status: Int, body: [UInt8]) -> String {
    let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    let errors = (object?["errors"] as? [[String: Any]]) ?? []
    let parts = errors.map { "\($0["code"] as? String ?? "?"): \($0["message"] as? String ?? "")" }
    return parts.isEmpty ? "registry answered \(status)" : "registry answered \(status) " + parts.joined(separator: "; ")
  }

  /// GETs with the Bearer token, fetched on the first 401 that asks for one.
  struct Session: Sendable {
    let download: RemoteDownload
    var token: String?

    init(download: RemoteDownload) { self.download = download }

    func request(_ url: String, accept: String) -> HTTPRequest {
      var headers = [("accept", accept)]
      if let token { headers.append(("authorization", "Bearer \(token)")) }
      return HTTPRequest(method: "GET", url: url, headers: headers)
    }

    mutating func get(_ url: String, accept: String) async throws(FetchError) -> HTTPResponse {
      let response = try await download.send(request(url, accept: accept))
      guard response.status == 401, token == nil, let header = response.header("www-authenticate"),
            let challenge = BearerChallenge(header: header) else { return response }
      token = try await fetchToken(challenge)
      return try await download.send(request(url, accept: accept))
    }

    /// `GET <realm>?service=…&scope=…` → `token` / `access_token`.
    func fetchToken(_ challenge: BearerChallenge) async throws(FetchError) -> String {
      var items: [(String, String)] = []
      if let service = challenge.service { items.append(("service", service)) }
      if let scope = challenge.scope { items.append(("scope", scope)) }
      let query = items.map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&")
      let separator = challenge.realm.contains("?") ? "&" : "?"
      let response = try await download.send(HTTPRequest(method: "GET", url: challenge.realm + (query.isEmpty ? "" : separator + query)))
      guard response.status == 200,
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
            let token = (object["token"] as? String) ?? (object["access_token"] as? String), !token.isEmpty else {
        throw FetchError(uri: download.uri, message: "the registry's token service \(RemoteDownload.redacted(challenge.realm)) "
                         + "answered \(response.status) without a token (anonymous pull refused?)")
      }
      return token
    }
  }
}
