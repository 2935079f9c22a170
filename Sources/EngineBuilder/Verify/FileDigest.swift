import Crypto
import Foundation

/// SHA-256 of a file, read in 1 MiB pieces, as `sha256:<hex>`.
enum FileDigest {
  static func sha256(ofFile path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
    }
    defer { try? handle.close() }
    var hasher = SHA256()
    while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
      hasher.update(data: chunk)
    }
    return "sha256:" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
  }

  /// Checks `path` against `expected`; the message names both digests, as the contract's example does.
  static func verify(_ path: String, expected: String, what: String) throws(EngineBuildError) {
    let actual: String
    do { actual = try sha256(ofFile: path) } catch {
      throw EngineBuildError(.fetchFailed, "cannot read the fetched \(what): \(error.localizedDescription)")
    }
    guard actual == expected else {
      throw EngineBuildError(.digestMismatch, "\(what) digest \(actual) does not match \(expected)")
    }
  }
}
