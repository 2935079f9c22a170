import KubeCore
import X509
import SwiftASN1

/// Authenticates requests the way kube-apiserver's union authenticator does for the two methods the
/// emulator supports: static bearer tokens (`--token-auth-file`) and X.509 client certificates signed
/// by the cluster CA (user = subject CN, groups = subject O). A presented but unknown token is
/// rejected (401); no credentials at all make the request anonymous.
public struct Authenticator: Sendable {
  public enum Outcome: Sendable, Equatable { case authenticated(UserInfo), anonymous, rejected }

  /// Token → user.
  public var tokens: [String: UserInfo]
  /// Who a request without credentials is. Nil (the default) is anonymous, which gets 401. The
  /// plain-HTTP listener sets an admin here, as kube-apiserver's old insecure port had no
  /// authentication: Go clients never send a bearer token over plain HTTP.
  public var unauthenticatedUser: UserInfo?

  public init(tokens: [String: UserInfo] = [:], unauthenticatedUser: UserInfo? = nil) {
    self.tokens = tokens
    self.unauthenticatedUser = unauthenticatedUser
  }

  /// Authenticates one request.
  ///
  /// - Parameters:
  ///   - issuedToken: looks up tokens issued while the server runs (TokenRequest), after the static ones.
  public func authenticate(authorization: String?, certificateUser: UserInfo?,
                           issuedToken: (String) -> UserInfo? = { _ in nil }) -> Outcome {
    if let authorization {
      let parts = authorization.split(separator: " ", maxSplits: 1)
      if parts.count == 2, parts[0].lowercased() == "bearer" {
        let token = String(parts[1]).trimmingSpaces()
        if let user = tokens[token] ?? issuedToken(token) { return .authenticated(user) }
        return .rejected
      }
      return .rejected
    }
    if let certificateUser { return .authenticated(certificateUser) }
    if let unauthenticatedUser { return .authenticated(unauthenticatedUser) }
    return .anonymous
  }

  /// The user named by a verified client certificate (TLS has already checked it against the CA).
  public func user(forCertificateDER der: [UInt8]) -> UserInfo? {
    guard let cert = try? Certificate(derEncoded: der) else { return nil }
    var cn: String?
    var groups: [String] = []
    for rdn in cert.subject {
      for attribute in rdn {
        if attribute.type == .RDNAttributeType.commonName { cn = "\(attribute.value)" }
        if attribute.type == .RDNAttributeType.organizationName { groups.append("\(attribute.value)") }
      }
    }
    guard let cn else { return nil }
    return UserInfo(name: cn, groups: groups + ["system:authenticated"])
  }
}
