import Crypto
import Foundation

/// Decrypts a model stored encrypted at rest with AES-256-GCM.
///
/// On-disk format: `nonce (12 bytes) ‖ ciphertext ‖ tag (16 bytes)` — exactly CryptoKit's
/// `AES.GCM.SealedBox.combined` with its default 12-byte nonce; no associated data. Key file
/// (`--encryption-key-file`): the 32 raw key bytes, or base64 of them. Any change to nonce,
/// ciphertext or tag, or a wrong key, fails authentication: `DecryptionFailed`, and no plaintext
/// is written.
///
/// To produce such a file: `AES.GCM.seal(plaintext, using: SymmetricKey(data: key)).combined`, or
/// with OpenSSL-based tools write the random 12-byte IV, the ciphertext, then the 16-byte tag.
enum ModelDecryptor {
  static func decrypt(_ path: String, keyFile: String, to destination: String) throws(EngineBuildError) {
    try KeyFile.requireExists(keyFile, flag: "--encryption-key-file")
    guard let keyBytes = KeyFile.read(keyFile, count: 32) else {
      throw EngineBuildError(.invalidArguments, "--encryption-key-file is not a 256-bit key (32 raw bytes or base64)")
    }
    let sealed: Data
    do { sealed = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw EngineBuildError(.fetchFailed, "cannot read the fetched model: \(error.localizedDescription)")
    }
    guard sealed.count >= 12 + 16 else {
      throw EngineBuildError(.decryptionFailed, "the model is \(sealed.count) bytes, shorter than an AES-GCM nonce and tag")
    }
    let plaintext: Data
    do {
      let box = try AES.GCM.SealedBox(combined: sealed)
      plaintext = try AES.GCM.open(box, using: SymmetricKey(data: keyBytes))
    } catch {
      throw EngineBuildError(.decryptionFailed, "AES-256-GCM authentication failed: wrong key or altered model")
    }
    guard FileManager.default.createFile(atPath: destination, contents: plaintext) else {
      throw EngineBuildError(.buildFailed, "cannot write the decrypted model to \(destination)")
    }
  }
}
