import Foundation

/// `file:///absolute/path`: a file already on this machine (a mounted volume, a test fixture).
public struct FileFetcher: ArtifactFetcher {
  public static let schemes = ["file"]
  /// The most bytes a copy may write (`FetchContext.maxBytes`).
  public var maxBytes: Int
  public init(maxBytes: Int = FetchContext.defaultMaxBytes) { self.maxBytes = maxBytes }

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
    // A device or a pipe (file:///dev/zero) has no end to copy to; a regular file's size is known.
    var info = stat()
    guard stat(source, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
      throw FetchError(uri: URIText.redacted(uri), message: "not a regular file")
    }
    if Int(info.st_size) > maxBytes { throw FetchError(uri: URIText.redacted(uri), message: SizeLimit.announced(Int(info.st_size), limit: maxBytes)) }
    do {
      let size = try FileWrite.copy(from: source, to: destination, durable: false, limit: maxBytes)
      return FetchedArtifact(path: destination, size: size)
    } catch let error as FileWrite.LimitExceeded {
      try? FileManager.default.removeItem(atPath: destination)
      throw FetchError(uri: URIText.redacted(uri), message: SizeLimit.exceeded(error.limit))
    } catch {
      throw FetchError(uri: URIText.redacted(uri), message: "cannot copy: \(error.localizedDescription)")
    }
  }
}
