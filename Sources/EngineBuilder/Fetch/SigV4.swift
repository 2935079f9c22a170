import Crypto
import Foundation
import KubeCore

/// Signs requests with AWS Signature Version 4 (header form, `AWS4-HMAC-SHA256`).
///
/// The steps are the ones AWS documents in "Create a signed AWS API request"
/// (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html): a canonical
/// request, a string to sign over its SHA-256, and a signature keyed by the HMAC chain
/// `"AWS4" + secret → date → region → service → "aws4_request"`.
///
/// *Caveats*: the path is URI-encoded once, segment by segment, and never normalised — S3's rule
/// (other services encode twice and remove dot segments). The caller passes the path *decoded*
/// (an S3 key as written) and sends the returned `encodedPath`, so what is signed is what goes on the wire.
struct SigV4Signer: Sendable {
  struct Credentials: Sendable {
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
  }

  /// What to send: the path and query exactly as signed, and the headers to add.
  struct SignedRequest: Sendable {
    var encodedPath: String
    var encodedQuery: String
    /// `x-amz-date`, the security token when there is one, and `authorization`, lower-case names.
    var headers: [(String, String)]
    var canonicalRequest: String
    var stringToSign: String
  }

  /// SHA-256 of an empty payload, the `x-amz-content-sha256` of a GET.
  static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

  var credentials: Credentials
  var region: String
  var service: String

  /// Signs one request.
  ///
  /// - Parameters:
  ///   - host: The `Host` header as the client will send it (`name` or `name:port` for a non-default port).
  ///   - path: The decoded path, starting with `/`.
  ///   - query: Decoded query parameters, in any order.
  ///   - headers: Further headers to sign (`x-amz-content-sha256`, …); `host`, `x-amz-date` and the
  ///     security token are added here.
  ///   - payloadHash: Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
  ///   - date: The signing time; requests more than 15 minutes off the server's clock are refused.
  func sign(method: String, host: String, path: String, query: [(String, String)] = [],
            headers: [(String, String)] = [], payloadHash: String, date: Date) -> SignedRequest {
    let amzDate = Self.amzDate(date)
    let dateStamp = String(amzDate.prefix(8))
    var toSign = headers.map { ($0.0.lowercased(), $0.1) }
    toSign.append(("host", host))
    toSign.append(("x-amz-date", amzDate))
    if let token = credentials.sessionToken { toSign.append(("x-amz-security-token", token)) }

    let encodedPath = Self.encodePath(path)
    let encodedQuery = Self.canonicalQuery(query)
    let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(toSign)
    let canonicalRequest = [method, encodedPath, encodedQuery, canonicalHeaders, signedHeaders, payloadHash]
      .joined(separator: "\n")
    let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
    let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, String(lowerHex: SHA256.hash(data: Data(canonicalRequest.utf8)))]
      .joined(separator: "\n")
    let signature = String(lowerHex: HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(dateStamp: dateStamp)))
    let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
      + "SignedHeaders=\(signedHeaders), Signature=\(signature)"

    var added: [(String, String)] = [("x-amz-date", amzDate)]
    if let token = credentials.sessionToken { added.append(("x-amz-security-token", token)) }
    added.append(("authorization", authorization))
    return SignedRequest(encodedPath: encodedPath, encodedQuery: encodedQuery, headers: added,
                         canonicalRequest: canonicalRequest, stringToSign: stringToSign)
  }

  /// The key for one day, region and service: `HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")`.
  func signingKey(dateStamp: String) -> SymmetricKey {
    var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
    for part in [dateStamp, region, service, "aws4_request"] {
      key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
    }
    return key
  }

  /// `YYYYMMDD'T'HHMMSS'Z'` in UTC.
  static func amzDate(_ date: Date) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!  // a fixed, always-present zone
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
    func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
    return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
  }

  /// Lower-case names, values trimmed with inner runs of spaces collapsed, repeated names joined by
  /// commas in arrival order, sorted by name; and the `;`-joined name list.
  static func canonicalHeaders(_ headers: [(String, String)]) -> (String, String) {
    var values: [String: [String]] = [:]
    for (name, value) in headers {
      let collapsed = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
      values[name.lowercased(), default: []].append(collapsed)
    }
    let names = values.keys.sorted()
    let lines = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()  // key from `values`
    return (lines, names.joined(separator: ";"))
  }

  /// Parameters encoded, then sorted by name and value, joined by `&`.
  static func canonicalQuery(_ query: [(String, String)]) -> String {
    let encoded: [(name: String, value: String)] = query.map { (uriEncode($0.0), uriEncode($0.1)) }
    let sorted = encoded.sorted { (a, b) -> Bool in a.name == b.name ? a.value < b.value : a.name < b.name }
    return sorted.map { pair -> String in pair.name + "=" + pair.value }.joined(separator: "&")
  }

  /// Each segment encoded, slashes kept.
  static func encodePath(_ path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }.joined(separator: "/")
  }

  /// RFC 3986 encoding as SigV4 wants it: every byte but `A-Z a-z 0-9 - . _ ~` as upper-case `%XX`.
  static func uriEncode(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for byte in text.utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
           UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        let hexDigits = Array("0123456789ABCDEF")
        out += "%\(hexDigits[Int(byte >> 4)])\(hexDigits[Int(byte & 0x0F)])"
      }
    }
    return out
  }

}
