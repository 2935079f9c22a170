import Crypto
import Foundation
import SwiftASN1
import X509

/// The cluster CA the emulator makes at start: it signs the serving certificate (for 127.0.0.1 and
/// localhost) and client certificates for users. Keys are P-256; everything is in PEM so kubeconfig
/// `*-data` fields and NIOSSL can use it directly.
public struct CertificateAuthority: Sendable {
  public let certificatePEM: String
  let key: P256.Signing.PrivateKey
  let certificate: Certificate

  public init(commonName: String = "edgeml-sim-ca") throws {
    key = P256.Signing.PrivateKey()
    let name = try DistinguishedName { CommonName(commonName) }
    let now = Date()
    certificate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
      notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
      issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
        Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
      },
      issuerPrivateKey: .init(key))
    certificatePEM = try certificate.serializeAsPEM().pemString
  }

  /// A certificate and key in PEM.
  public struct Issued: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String
  }

  /// The serving certificate for the loopback addresses.
  public func issueServerCertificate(hosts: [String] = ["localhost"], ips: [[UInt8]] = [[127, 0, 0, 1]]) throws -> Issued {
    var names: [GeneralName] = hosts.map { .dnsName($0) }
    names += ips.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
    return try issue(subject: DistinguishedName { CommonName("kube-apiserver") }, extensions: Certificate.Extensions {
      Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
      try ExtendedKeyUsage([.serverAuth])
      SubjectAlternativeNames(names)
    })
  }

  /// A client certificate for `user` in `groups` (subject CN and O, as kube-apiserver reads them).
  public func issueClientCertificate(user: String, groups: [String]) throws -> Issued {
    let subject = try DistinguishedName {
      for g in groups { OrganizationName(g) }
      CommonName(user)
    }
    return try issue(subject: subject, extensions: Certificate.Extensions {
      Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
      try ExtendedKeyUsage([.clientAuth])
    })
  }

  private func issue(subject: DistinguishedName, extensions: Certificate.Extensions) throws -> Issued {
    let leafKey = P256.Signing.PrivateKey()
    let now = Date()
    let cert = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
      notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400),
      issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: extensions, issuerPrivateKey: .init(key))
    return Issued(certificatePEM: try cert.serializeAsPEM().pemString, privateKeyPEM: leafKey.pemRepresentation)
  }
}
