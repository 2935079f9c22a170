import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOSSL
import SwiftASN1
import X509

/// The certificate and key the metrics endpoint serves HTTPS with.
///
/// Either read from files (`--metrics-cert-path` with `--metrics-cert-name`/`--metrics-cert-key`,
/// kubebuilder v4's flags; a cert-manager Secret mounted there) or, when no path is given, a
/// self-signed one made in memory at start-up, as controller-runtime's metrics server does without
/// a cert directory (`pkg/metrics/server/server.go` `createListener`:
/// `certutil.GenerateSelfSignedCertKeyWithFixtures("localhost", 127.0.0.1)`). Clients then either
/// skip verification (kubebuilder's ServiceMonitor default) or pin the served certificate.
/// Certificates are not reloaded when the files change; restart the pod after a rotation.
public struct ServingCertificate: Sendable {
  public let chain: [NIOSSLCertificate]
  public let key: NIOSSLPrivateKey
  /// The leaf certificate as PEM (what a client pins).
  public let certificatePEM: String

  /// Errors reading or making a certificate, naming the file.
  public struct LoadError: Error, CustomStringConvertible, Sendable {
    public let description: String
  }

  /// Reads a PEM certificate chain and its PEM private key.
  /// - Throws: `LoadError` naming the file that is missing or not PEM.
  public static func load(certificateFile: String, keyFile: String) throws -> ServingCertificate {
    for file in [certificateFile, keyFile] where !FileManager.default.fileExists(atPath: file) {
      throw LoadError(description: "metrics certificate: \(file) does not exist")
    }
    let chain: [NIOSSLCertificate]
    do { chain = try NIOSSLCertificate.fromPEMFile(certificateFile) } catch {
      throw LoadError(description: "metrics certificate: \(certificateFile) is not a PEM certificate (\(error))")
    }
    guard !chain.isEmpty else { throw LoadError(description: "metrics certificate: \(certificateFile) holds no certificate") }
    let key: NIOSSLPrivateKey
    do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
      throw LoadError(description: "metrics certificate: \(keyFile) is not a PEM private key (\(error))")
    }
    let pem = (try? chain[0].toDERBytes()).map { Self.pem(der: $0) } ?? ""
    return ServingCertificate(chain: chain, key: key, certificatePEM: pem)
  }

  /// A self-signed P-256 certificate valid for a year from an hour ago, for `localhost`, 127.0.0.1,
  /// ::1 and `hosts` (host names or IPv4 literals: the pod's IP and host name; other IPv6 literals
  /// are left out).
  public static func selfSigned(hosts: [String] = []) throws -> ServingCertificate {
    let key = P256.Signing.PrivateKey()
    var names: [GeneralName] = [.dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                                .ipAddress(ASN1OctetString(contentBytes: ArraySlice([UInt8](repeating: 0, count: 15) + [1])))]
    for host in hosts where !host.isEmpty && host != "localhost" {
      if host.contains(":") { continue }
      if let bytes = Self.ipBytes(host) {
        let name = GeneralName.ipAddress(ASN1OctetString(contentBytes: ArraySlice(bytes)))
        if !names.contains(name) { names.append(name) }
      } else if !names.contains(.dnsName(host)) {
        names.append(.dnsName(host))
      }
    }
    let now = Date()
    // Named like certutil's self-signed certificates: host@unix-time.
    let subject = try DistinguishedName { CommonName("edgeml-operator-metrics@\(Int(now.timeIntervalSince1970))") }
    let certificate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
      notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400),
      issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
        try ExtendedKeyUsage([.serverAuth])
        // A CA so that a client can trust exactly this certificate (curl --cacert, Python's cafile).
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        SubjectAlternativeNames(names)
      },
      issuerPrivateKey: .init(key))
    let pem = try certificate.serializeAsPEM().pemString
    do {
      return ServingCertificate(chain: [try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)],
                                key: try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem),
                                certificatePEM: pem)
    } catch {
      throw LoadError(description: "metrics certificate: the self-signed certificate did not load (\(error))")
    }
  }

  /// The 4 bytes of an IPv4 literal, nil for anything else.
  static func ipBytes(_ text: String) -> [UInt8]? {
    let v4 = text.split(separator: ".", omittingEmptySubsequences: false)
    guard v4.count == 4 else { return nil }
    let bytes = v4.compactMap { UInt8($0) }
    return bytes.count == 4 ? bytes : nil
  }

  static func pem(der: [UInt8]) -> String {
    let base64 = Data(der).base64EncodedString()
    var lines: [String] = []
    var start = base64.startIndex
    while start < base64.endIndex {
      let end = base64.index(start, offsetBy: 64, limitedBy: base64.endIndex) ?? base64.endIndex
      lines.append(String(base64[start..<end]))
      start = end
    }
    return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
  }
}
