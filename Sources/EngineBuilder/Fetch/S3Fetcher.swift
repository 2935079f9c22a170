import Crypto
import Foundation
import KubeClient
import KubeCore

/// Fetches `s3://BUCKET/KEY` with a SigV4-signed GET (docs/edgemodel-contracts.md §2).
///
/// Environment, as the AWS CLI and SDKs read it:
/// * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN`. With neither key set
///   the GET goes unsigned (a public bucket); with only one, the fetch fails.
/// * `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
/// * `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`: an S3-compatible endpoint (MinIO, Ceph, moto),
///   addressed path-style, `<endpoint>/<bucket>/<key>`. Without one, AWS itself, virtual-hosted style:
///   `https://<bucket>.s3.<region>.amazonaws.com/<key>` (path style when the bucket name has a dot,
///   which a wildcard certificate cannot cover).
///
/// The key is everything after `s3://BUCKET/`, taken literally (as `aws s3 cp` does): it is encoded
/// once for the wire and for the signature. Presigned URLs are `https://` URIs and need no fetcher of their own.
///
/// *Errors*: S3's XML error document becomes "`<status> <Code>: <Message>`"; keys and tokens never
/// appear in messages.
public struct S3Fetcher: ArtifactFetcher {
  public static let schemes = ["s3"]

  let environment: [String: String]
  let transport: HTTPTransport
  /// The signing clock; tests pin it.
  var now: @Sendable () -> Date = { Date() }

  /// The most bytes a download may write (`FetchContext.maxBytes`).
  public var maxBytes = FetchContext.defaultMaxBytes

  public init(environment: [String: String], transport: HTTPTransport) {
    self.environment = environment
    self.transport = transport
  }

  public func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact {
    let request = try makeRequest(uri)
    let written = try await RemoteDownload(transport: transport, uri: uri, maxBytes: maxBytes).download(request, to: destination) { status, body in
      Self.describe(status: status, body: body)
    }
    return FetchedArtifact(path: destination, size: written.size)
  }

  /// The signed GET for `uri`.
  func makeRequest(_ uri: String, method: String = "GET", body: [UInt8] = []) throws(FetchError) -> HTTPRequest {
    let (bucket, key) = try Self.parse(uri)
    let region = nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION") ?? "us-east-1"

    let scheme: String, host: String, path: String
    if let endpoint = nonEmpty("AWS_ENDPOINT_URL_S3") ?? nonEmpty("AWS_ENDPOINT_URL") {
      guard let url = URLComponents(string: endpoint), let s = url.scheme, let h = url.host, !h.isEmpty else {
        throw FetchError(uri: uri, message: "the S3 endpoint \(endpoint) is not an http(s) URL")
      }
      scheme = s.lowercased()
      host = Self.hostHeader(scheme: scheme, host: h, port: url.port)
      let prefix = url.path.hasSuffix("/") ? String(url.path.dropLast()) : url.path
      path = "\(prefix)/\(bucket)/\(key)"
    } else if bucket.contains(".") {
      (scheme, host, path) = ("https", "s3.\(region).amazonaws.com", "/\(bucket)/\(key)")
    } else {
      (scheme, host, path) = ("https", "\(bucket).s3.\(region).amazonaws.com", "/\(key)")
    }

    let payloadHash = String(lowerHex: SHA256.hash(data: body))
    var headers: [(String, String)] = [("x-amz-content-sha256", payloadHash)]
    var encodedPath = SigV4Signer.encodePath(path)
    switch (nonEmpty("AWS_ACCESS_KEY_ID"), nonEmpty("AWS_SECRET_ACCESS_KEY")) {
    case (let id?, let secret?):
      let signer = SigV4Signer(credentials: .init(accessKeyID: id, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN")),
                               region: region, service: "s3")
      let signed = signer.sign(method: method, host: host, path: path, headers: headers, payloadHash: payloadHash, date: now())
      encodedPath = signed.encodedPath
      headers += signed.headers
    case (nil, nil):
      headers = []
    default:
      throw FetchError(uri: uri, message: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
    }
    return HTTPRequest(method: method, url: "\(scheme)://\(host)\(encodedPath)", headers: headers, body: body, timeout: .seconds(3600))
  }

  /// Splits `s3://BUCKET/KEY`.
  static func parse(_ uri: String) throws(FetchError) -> (bucket: String, key: String) {
    guard uri.hasPrefix("s3://") else { throw FetchError(uri: uri, message: "not an s3:// URI") }
    let rest = uri.dropFirst("s3://".count)
    guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex, rest.index(after: slash) != rest.endIndex else {
      throw FetchError(uri: uri, message: "an S3 URI is s3://BUCKET/KEY")
    }
    return (String(rest[..<slash]), String(rest[rest.index(after: slash)...]))
  }

  /// The `Host` header libcurl sends: the port only when it is not the scheme's default.
  static func hostHeader(scheme: String, host: String, port: Int?) -> String {
    guard let port, port != (scheme == "https" ? 443 : 80) else { return host }
    return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
  }

  /// "403 SignatureDoesNotMatch: …" from S3's `<Error><Code>…</Code><Message>…</Message></Error>`.
  static func describe(status: Int, body: [UInt8]) -> String {
    let text = String(decoding: body, as: UTF8.self)
    func element(_ name: String) -> String? {
      guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex) else { return nil }
      return String(text[open.upperBound..<close.lowerBound])
    }
    switch (element("Code"), element("Message")) {
    case (let code?, let message?): return "S3 answered \(status) \(code): \(message)"
    case (let code?, nil): return "S3 answered \(status) \(code)"
    default: return "S3 answered \(status)"
    }
  }

  private func nonEmpty(_ name: String) -> String? {
    guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
    return value
  }
}
