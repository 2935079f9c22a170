import Crypto
import Foundation
import KubeClient
import KubeCore

/// The HTTP steps the `s3`, `oci` and `mlflow` fetchers share: one buffered request, and one download
/// streamed to a file while it is hashed.
///
/// *Guarantees*: the destination is either the complete body (written to `<destination>.part`
/// and renamed) or untouched; redirects (301, 302, 303, 307, 308) are followed up to five times, and the
/// `authorization` header is dropped when a redirect leaves the host (a registry sending us to a
/// presigned S3 URL must not hand that URL its token).
struct RemoteDownload: Sendable {
  let transport: HTTPTransport
  /// The URI being fetched, for error messages.
  let uri: String
  /// The most bytes a download may write (`FetchContext.maxBytes`).
  var maxBytes = FetchContext.defaultMaxBytes

  /// What a finished download wrote.
  struct Written: Sendable {
    var size: Int
    /// `sha256:<hex>` of the bytes written.
    var digest: String
  }

  /// Sends a request and returns the whole response, following redirects.
  /// - Throws: `FetchError` when no response arrived.
  func send(_ request: HTTPRequest) async throws(FetchError) -> HTTPResponse {
    var request = request
    for _ in 0...Self.maxRedirects {
      let response: HTTPResponse
      do { response = try await transport.send(request) } catch {
        throw FetchError(uri: uri, message: "\(request.method) \(Self.redacted(request.url)): \(error)")
      }
      guard let next = Self.redirect(from: request, status: response.status, location: response.header("location")) else {
        return response
      }
      request = next
    }
    throw FetchError(uri: uri, message: "more than \(Self.maxRedirects) redirects from \(Self.redacted(request.url))")
  }

  /// Streams a GET's body to `destination`.
  ///
  /// - Parameter describeFailure: Turns a non-2xx status and the (first 64 KiB of the) body into the
  ///   error message; it must not repeat secrets.
  func download(_ request: HTTPRequest, to destination: String,
                describeFailure: @Sendable (Int, [UInt8]) -> String) async throws(FetchError) -> Written {
    var request = request
    for _ in 0...Self.maxRedirects {
      let outcome: Outcome
      do { outcome = try await attempt(request, to: destination) } catch {
        try? FileManager.default.removeItem(atPath: destination + ".part")
        if let error = error as? FetchError { throw error }
        throw FetchError(uri: uri, message: "GET \(Self.redacted(request.url)): \(error)")
      }
      switch outcome {
      case .written(let written): return written
      case .failed(let status, let body): throw FetchError(uri: uri, message: describeFailure(status, body))
      case .redirect(let next): request = next
      }
    }
    throw FetchError(uri: uri, message: "more than \(Self.maxRedirects) redirects from \(Self.redacted(request.url))")
  }

  private enum Outcome { case written(Written), failed(Int, [UInt8]), redirect(HTTPRequest) }

  private func attempt(_ request: HTTPRequest, to destination: String) async throws -> Outcome {
    let partial = destination + ".part"
    var status = 0
    var errorBody: [UInt8] = []
    var file: FileHandle?
    var hasher = SHA256()
    var size = 0
    defer { try? file?.close() }
    for try await part in try transport.stream(request) {
      switch part {
      case .head(let code, let headers):
        status = code
        if let next = Self.redirect(from: request, status: code, location: headers.last { $0.0 == "location" }?.1) {
          return .redirect(next)
        }
        if (200..<300).contains(code) {
          // A body announced too large fails before a byte is written.
          if let length = headers.last(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1.trimmingWhitespace()) }),
             length > maxBytes {
            throw FetchError(uri: uri, message: SizeLimit.announced(length, limit: maxBytes))
          }
          try? FileManager.default.removeItem(atPath: partial)
          guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial) else {
            throw FetchError(uri: uri, message: "cannot create \(partial)")
          }
          file = handle
        }
      case .body(let bytes):
        if let file {
          guard size + bytes.count <= maxBytes else { throw FetchError(uri: uri, message: SizeLimit.exceeded(maxBytes)) }
          try file.write(contentsOf: bytes)
          hasher.update(data: bytes)
          size += bytes.count
        } else if errorBody.count < 65_536 {
          errorBody += bytes.prefix(65_536 - errorBody.count)
        }
      }
    }
    guard file != nil else { return .failed(status, errorBody) }
    try file?.close()
    file = nil
    try? FileManager.default.removeItem(atPath: destination)
    try FileManager.default.moveItem(atPath: partial, toPath: destination)
    return .written(Written(size: size, digest: "sha256:" + String(lowerHex: hasher.finalize())))
  }

  static let maxRedirects = 5

  /// The next request when `status` is a redirect with a `Location`, else nil.
  static func redirect(from request: HTTPRequest, status: Int, location: String?) -> HTTPRequest? {
    guard [301, 302, 303, 307, 308].contains(status), let location,
          let base = URL(string: request.url), let target = URL(string: location, relativeTo: base)?.absoluteURL else { return nil }
    var next = request
    next.url = target.absoluteString
    if status == 303 { next.method = "GET"; next.body = [] }
    if target.host != base.host || target.port != base.port {
      next.headers.removeAll { $0.0.lowercased() == "authorization" }
    }
    return next
  }

  /// The URL without its query (presigned URLs carry credentials there).
  static func redacted(_ url: String) -> String {
    url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
  }
}
