import Foundation

/// A model, calibration or signature file fetched to local disk.
public struct FetchedArtifact: Sendable, Equatable {
  /// Where the bytes are now.
  public var path: String
  /// Bytes written.
  public var size: Int
  /// The digest the source itself pins (`sha256:…`), when it has one (an OCI manifest's layer
  /// digest, for example); `nil` for sources that pin nothing.
  public var pinnedDigest: String?
  public init(path: String, size: Int, pinnedDigest: String? = nil) {
    self.path = path
    self.size = size
    self.pinnedDigest = pinnedDigest
  }
}

/// Why a fetch failed, in words an operator can act on (no secrets in `message`).
public struct FetchError: Error, Sendable, Equatable, CustomStringConvertible {
  public var uri: String
  public var message: String
  public init(uri: String, message: String) { self.uri = uri; self.message = message }
  public var description: String { "fetching \(uri): \(message)" }
}

/// One URI scheme's way of bringing an artifact to a local file (docs/edgemodel-contracts.md §2).
public protocol ArtifactFetcher: Sendable {
  /// The URI schemes this fetcher handles (`"s3"`, `"oci"`, …).
  static var schemes: [String] { get }
  /// Writes the artifact at `uri` to `destination` (created or replaced) and says what it wrote.
  func fetch(_ uri: String, to destination: String) async throws(FetchError) -> FetchedArtifact
}
