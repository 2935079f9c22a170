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
  /// The most bytes a download may write (`FetchContext.maxBytes`).
  public var maxBytes = FetchContext.defaultMaxBytes

  public init(transport: HTTPTransport) { self.transport = transport }

  public func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact {
    let shown = URIText.redacted(uri)
    guard FileManager.default.createFile(atPath: destination, contents: nil),
          let file = FileHandle(forWritingAtPath: destination)
    else { throw FetchError(uri: shown, message: "cannot create \(destination)") }
    defer { try? file.close() }
    var status = 0
    var size = 0
    var tooLarge: String? = nil
    defer { if tooLarge != nil { try? FileManager.default.removeItem(atPath: destination) } }
    do {
      let stream = try transport.stream(HTTPRequest(method: "GET", url: uri, timeout: timeout))
      for try await part in stream {
        switch part {
        case .head(let code, let headers):
          status = code
          guard (200..<300).contains(code) else { break }
          if let length = headers.last(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1.trimmingWhitespace()) }),
             length > maxBytes {
            tooLarge = SizeLimit.announced(length, limit: maxBytes)
          }
        case .body(let bytes):
          guard (200..<300).contains(status) else { continue }   // an error body is not the model
          if tooLarge == nil, size + bytes.count > maxBytes { tooLarge = SizeLimit.exceeded(maxBytes) }
          if let tooLarge { throw FetchError(uri: shown, message: tooLarge) }
          try file.write(contentsOf: bytes)
          size += bytes.count
        }
      }
    } catch let error as FetchError {
      throw error
    } catch let error as TransportError {
      throw FetchError(uri: shown, message: error.description)
    } catch {
      throw FetchError(uri: shown, message: "\(error)")
    }
    guard (200..<300).contains(status) else {
      throw FetchError(uri: shown, message: "HTTP status \(status)")
    }
    if let tooLarge { throw FetchError(uri: shown, message: tooLarge) }   // announced, with no body sent
    return FetchedArtifact(path: destination, size: size)
  }
}
