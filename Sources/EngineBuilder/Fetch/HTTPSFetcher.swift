import Foundation
import KubeClient

/// `https://…`: a plain download, including S3 presigned URLs (their query is the credential).
///
/// Goes through `HTTPTransport` (libcurl, TLS verified against the system roots or the CA bundle
/// the transport was made with) and streams the body to disk, so a model is never held in memory
/// whole. Redirects are not followed: a presigned URL answers directly.
public struct HTTPSFetcher: ArtifactFetcher {
  public static let schemes = ["https"]
  public var transport: HTTPTransport
  /// Upper bound for one download; a stalled transfer fails instead of hanging the init container.
  public var timeout: Duration = .seconds(3600)

  public init(transport: HTTPTransport) { self.transport = transport }

  public func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact {
    let shown = URIText.redacted(uri)
    guard FileManager.default.createFile(atPath: destination, contents: nil),
          let file = FileHandle(forWritingAtPath: destination)
    else { throw FetchError(uri: shown, message: "cannot create \(destination)") }
    defer { try? file.close() }
    var status = 0
    var size = 0
    do {
      let stream = try transport.stream(HTTPRequest(method: "GET", url: uri, timeout: timeout))
      for try await part in stream {
        switch part {
        case .head(let code, _):
          status = code
          guard (200..<300).contains(code) else { break }
        case .body(let bytes):
          guard (200..<300).contains(status) else { continue }   // an error body is not the model
          try file.write(contentsOf: bytes)
          size += bytes.count
        }
      }
    } catch let error as TransportError {
      throw FetchError(uri: shown, message: error.description)
    } catch {
      throw FetchError(uri: shown, message: "\(error)")
    }
    guard (200..<300).contains(status) else {
      throw FetchError(uri: shown, message: "HTTP status \(status)")
    }
    return FetchedArtifact(path: destination, size: size)
  }
}
