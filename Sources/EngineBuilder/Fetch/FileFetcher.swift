import Foundation

/// `file:///absolute/path`: a file already on this machine (a mounted volume, a test fixture).
public struct FileFetcher: ArtifactFetcher {
  public static let schemes = ["file"]
  public init() {}

  /// Copies the file to `destination`.
  ///
  /// Only an empty host or `localhost` is accepted (RFC 8089); percent-escapes in the path are decoded.
  public func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact {
    guard let url = URL(string: uri), url.scheme?.lowercased() == "file",
          url.host == nil || url.host == "" || url.host == "localhost", !url.path.isEmpty
    else { throw FetchError(uri: URIText.redacted(uri), message: "not a file:///absolute/path URI") }
    let source = url.path
    let files = FileManager.default
    var isDirectory: ObjCBool = false
    guard files.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue else {
      throw FetchError(uri: URIText.redacted(uri), message: "no such file")
    }
    do {
      let size = try FileWrite.copy(from: source, to: destination, durable: false)
      return FetchedArtifact(path: destination, size: size)
    } catch {
      throw FetchError(uri: URIText.redacted(uri), message: "cannot copy: \(error.localizedDescription)")
    }
  }
}
