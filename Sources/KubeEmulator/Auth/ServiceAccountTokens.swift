import Crypto
import Foundation
import KubeCore

/// Signs and checks service-account tokens: JWTs with kube-apiserver's claims, signed ES256 with a
/// P-256 key the emulator makes at start (upstream signs RS256 or ES256 depending on the key given
/// by `--service-account-signing-key-file`; pkg/serviceaccount/jwt.go `signerFromECDSAPrivateKey`).
///
/// The claims are those of pkg/serviceaccount/claims.go `Claims`: `iss`, `sub`
/// (`system:serviceaccount:NS:NAME`), `aud`, `iat`, `nbf`, `exp`, `jti`, and the private
/// `kubernetes.io` claim naming the namespace, the service account and the bound pod and node
/// (name and uid), plus `warnafter` for the kubelet's extended tokens.
struct ServiceAccountTokenIssuer: Sendable {
  /// The issuer and the one API audience (kube-apiserver's `--service-account-issuer`; the API
  /// audiences default to it, cmd/kube-apiserver/app/options `completedOptions`).
  static let issuer = "https://kubernetes.default.svc.cluster.local"

  struct Reference: Sendable, Equatable {
    var name: String
    var uid: String
    var json: JSONValue { ["name": .string(name), "uid": .string(uid)] }
    init(name: String, uid: String) { self.name = name; self.uid = uid }
    init?(_ value: JSONValue?) {
      guard let name = value?["name"]?.stringValue, let uid = value?["uid"]?.stringValue else { return nil }
      self.init(name: name, uid: uid)
    }
  }

  /// What one token says.
  struct Claims: Sendable, Equatable {
    var namespace: String
    var serviceAccount: Reference
    var pod: Reference?
    var secret: Reference?
    var node: Reference?
    var audiences: [String]
    var issuedAt: Int64
    var expiresAt: Int64
    var warnAfter: Int64?
    var id: String
    var subject: String { RBACAuthorizer.serviceAccountUsername(namespace: namespace, name: serviceAccount.name) }
  }

  private let key: P256.Signing.PrivateKey
  /// The `kid` header: the unpadded base64url SHA-256 of the public key's DER form
  /// (pkg/serviceaccount/jwt.go `keyIDFromPublicKey`).
  let keyID: String

  init(key: P256.Signing.PrivateKey = P256.Signing.PrivateKey()) {
    self.key = key
    self.keyID = Base64URL.encode(Array(SHA256.hash(data: key.publicKey.derRepresentation)))
  }

  /// The signed compact JWS.
  func sign(_ claims: Claims) -> String {
    let header: JSONValue = ["alg": "ES256", "kid": .string(keyID)]
    var kubernetes: JSONObject = ["namespace": .string(claims.namespace), "serviceaccount": claims.serviceAccount.json]
    if let pod = claims.pod { kubernetes["pod"] = pod.json }
    if let secret = claims.secret { kubernetes["secret"] = secret.json }
    if let node = claims.node { kubernetes["node"] = node.json }
    if let warnAfter = claims.warnAfter { kubernetes["warnafter"] = JSONValue(Int(warnAfter)) }
    let payload: JSONValue = [
      "aud": .array(claims.audiences.map { .string($0) }),
      "exp": JSONValue(Int(claims.expiresAt)), "iat": JSONValue(Int(claims.issuedAt)),
      "iss": .string(Self.issuer), "jti": .string(claims.id),
      "kubernetes.io": .object(kubernetes), "nbf": JSONValue(Int(claims.issuedAt)),
      "sub": .string(claims.subject),
    ]
    let signingInput = Base64URL.encode(header.serialized()) + "." + Base64URL.encode(payload.serialized())
    // ES256's JWS signature is r ‖ s, 32 bytes each (RFC 7518 §3.4), which is CryptoKit's raw form.
    let signature = (try? key.signature(for: Array(signingInput.utf8)).rawRepresentation) ?? Data()
    return signingInput + "." + Base64URL.encode(Array(signature))
  }

  /// The claims of a token this issuer signed, or nil when it is not one (malformed, another key,
  /// another issuer). Time and the bound objects are the caller's to check.
  func verify(_ token: String) -> Claims? {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3,
          let headerBytes = Base64URL.decode(String(parts[0])), let payloadBytes = Base64URL.decode(String(parts[1])),
          let signatureBytes = Base64URL.decode(String(parts[2])),
          let header = try? JSONValue(parsing: headerBytes), header["alg"]?.stringValue == "ES256",
          let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signatureBytes),
          key.publicKey.isValidSignature(signature, for: Array("\(parts[0]).\(parts[1])".utf8)),
          let payload = try? JSONValue(parsing: payloadBytes),
          payload["iss"]?.stringValue == Self.issuer,
          let k8s = payload["kubernetes.io"], let namespace = k8s["namespace"]?.stringValue,
          let sa = Reference(k8s["serviceaccount"]),
          let exp = payload["exp"]?.intValue, let iat = payload["iat"]?.intValue else { return nil }
    let audiences: [String]
    switch payload["aud"] {
    case .string(let one)?: audiences = [one]
    case .array(let many)?: audiences = many.compactMap(\.stringValue)
    default: audiences = []
    }
    return Claims(namespace: namespace, serviceAccount: sa, pod: Reference(k8s["pod"]), secret: Reference(k8s["secret"]),
                  node: Reference(k8s["node"]), audiences: audiences, issuedAt: Int64(iat), expiresAt: Int64(exp),
                  warnAfter: k8s["warnafter"]?.intValue.map(Int64.init), id: payload["jti"]?.stringValue ?? "")
  }
}

/// Unpadded base64url (RFC 4648 §5), as JWS uses it (RFC 7515 §2).
enum Base64URL {
  static func encode(_ bytes: [UInt8]) -> String {
    Data(bytes).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  static func decode(_ text: String) -> [UInt8]? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    return Data(base64Encoded: s).map { Array($0) }
  }
}
