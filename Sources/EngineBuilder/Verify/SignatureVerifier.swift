import Crypto
import Foundation

/// Checks an Ed25519 detached signature over the model file as fetched.
///
/// What is signed: the exact bytes the model URI serves — the same bytes `--model-digest` pins, so
/// for an encrypted model the ciphertext. Both checks therefore run before any decryption.
///
/// Accepted public key files (`--public-key-file`): the 32 raw key bytes; those 32 bytes in base64;
/// or a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, as `openssl pkey -pubout` writes for an
/// Ed25519 key: DER `302a300506032b6570032100` ‖ key, RFC 8410 §4). Accepted signature files: the 64
/// raw signature bytes, or base64 of them (as `openssl pkeyutl -sign -rawin` output is usually stored).
enum SignatureVerifier {
  /// SubjectPublicKeyInfo DER header for id-Ed25519 (OID 1.3.101.112), RFC 8410 §4.
  static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

  static func verify(model path: String, signatureFile: String, publicKeyFile: String) throws(EngineBuildError) {
    try KeyFile.requireExists(publicKeyFile, flag: "--public-key-file")
    guard let keyBytes = KeyFile.read(publicKeyFile, count: 32, pemPrefix: spkiPrefix) else {
      throw EngineBuildError(.invalidArguments, "--public-key-file is not an Ed25519 public key (32 raw bytes, base64, or PEM)")
    }
    guard let signature = KeyFile.read(signatureFile, count: 64) else {
      throw EngineBuildError(.signatureInvalid, "the signature is not 64 bytes of Ed25519 signature (raw or base64)")
    }
    let key: Curve25519.Signing.PublicKey
    do { key = try Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) } catch {
      throw EngineBuildError(.invalidArguments, "--public-key-file is not a valid Ed25519 public key")
    }
    let model: Data
    do { model = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw EngineBuildError(.fetchFailed, "cannot read the fetched model: \(error.localizedDescription)")
    }
    guard key.isValidSignature(signature, for: model) else {
      throw EngineBuildError(.signatureInvalid, "the model's Ed25519 signature does not verify with the given public key")
    }
  }
}
