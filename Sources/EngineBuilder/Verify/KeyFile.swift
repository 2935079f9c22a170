import Foundation

/// Reads key material from a mounted Secret file: raw bytes, base64 text, or a PEM block.
///
/// The bytes never leave this type except as the returned key; errors name the file, never its content.
enum KeyFile {
  /// "file not found" when nothing is at `path` (a Secret not mounted, a key name the Secret lacks):
  /// a different mistake from a file that holds no key, and said differently.
  static func requireExists(_ path: String, flag: String) throws(EngineBuildError) {
    guard FileManager.default.fileExists(atPath: path) else {
      throw EngineBuildError(.invalidArguments, "\(flag) \(path): file not found")
    }
  }

  /// The key bytes when the file holds exactly `count` raw bytes, or base64 of them (surrounding
  /// white space ignored), or — when `pemPrefix` is given — a PEM block whose DER is `pemPrefix ‖ key`.
  static func read(_ path: String, count: Int, pemPrefix: [UInt8]? = nil) -> [UInt8]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    let bytes = [UInt8](data)
    if bytes.count == count { return bytes }
    let text = String(decoding: bytes, as: UTF8.self)
    if let pemPrefix, text.contains("-----BEGIN ") {
      let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
      guard let der = Data(base64Encoded: body).map([UInt8].init),
            der.count == pemPrefix.count + count, Array(der.prefix(pemPrefix.count)) == pemPrefix
      else { return nil }
      return Array(der.suffix(count))
    }
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if let decoded = Data(base64Encoded: trimmed), decoded.count == count { return [UInt8](decoded) }
    return nil
  }
}
