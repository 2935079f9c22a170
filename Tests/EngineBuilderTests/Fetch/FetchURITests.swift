import EdgeMLVocabulary
import Foundation
import KubeClient
import Testing
import TestServers
@testable import EngineBuilder

@Suite("Fetcher URIs and requests")
struct FetchURITests {
  @Test("An s3:// URI addresses AWS virtual-hosted style, or a configured endpoint path-style")
  func s3Addressing() throws {
    let transport = try FetchTools.transport()
    let keys = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"]
    let aws = S3Fetcher(environment: keys.merging(["AWS_DEFAULT_REGION": "eu-west-1"]) { $1 }, transport: transport)
    #expect(try aws.makeRequest("s3://models/resnet/50 v2.onnx").url == "https://models.s3.eu-west-1.amazonaws.com/resnet/50%20v2.onnx")
    #expect(try aws.makeRequest("s3://my.models/a").url == "https://s3.eu-west-1.amazonaws.com/my.models/a")

    let minio = S3Fetcher(environment: keys.merging(["AWS_ENDPOINT_URL": "http://minio:9000/", "AWS_ENDPOINT_URL_S3": "http://s3.local:9000",
                                                     "AWS_REGION": "us-west-2"]) { $1 }, transport: transport)
    let request = try minio.makeRequest("s3://models/a/b.onnx")
    #expect(request.url == "http://s3.local:9000/models/a/b.onnx")
    let authorization = try #require(request.headers.first { $0.0 == "authorization" }?.1)
    #expect(authorization.contains("/us-west-2/s3/aws4_request"))
    #expect(!authorization.contains("secret"))
    #expect(request.headers.contains { $0 == ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash) })
    #expect(request.headers.contains { $0.0 == "x-amz-date" })
  }

  @Test("A session token is sent and signed; no keys means an unsigned GET; one key alone is an error")
  func s3Credentials() throws {
    let transport = try FetchTools.transport()
    let withToken = S3Fetcher(environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"], transport: transport)
    let signed = try withToken.makeRequest("s3://b/k")
    #expect(signed.headers.contains { $0 == ("x-amz-security-token", "T") })
    #expect(signed.headers.first { $0.0 == "authorization" }?.1.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") == true)

    #expect(try S3Fetcher(environment: [:], transport: transport).makeRequest("s3://b/k").headers.isEmpty)
    #expect(throws: FetchError.self) { try S3Fetcher(environment: ["AWS_ACCESS_KEY_ID": "A"], transport: transport).makeRequest("s3://b/k") }
  }

  @Test("Malformed s3:// URIs are refused", arguments: ["s3://bucket", "s3://bucket/", "s3:///key", "https://b/k"])
  func s3Malformed(_ uri: String) {
    #expect(throws: FetchError.self) { try S3Fetcher.parse(uri) }
  }

  @Test("S3's XML error becomes Code and Message")
  func s3ErrorDocument() {
    let body = Array("<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>".utf8)
    #expect(S3Fetcher.describe(status: 404, body: body) == "S3 answered 404 NoSuchKey: The specified key does not exist.")
    #expect(S3Fetcher.describe(status: 502, body: Array("bad gateway".utf8)) == "S3 answered 502")
  }

  @Test("oci:// URIs name a registry, a repository and a tag or digest")
  func ociParsing() throws {
    let digest = "sha256:" + String(repeating: "ab", count: 32)
    #expect(try OCIFetcher.parse("oci://127.0.0.1:5000/models/x:1") == .init(registry: "127.0.0.1:5000", repository: "models/x", reference: "1"))
    #expect(try OCIFetcher.parse("oci://ghcr.io/acme/nets/resnet@\(digest)") == .init(registry: "ghcr.io", repository: "acme/nets/resnet", reference: digest))
    for bad in ["oci://host/repo", "oci://host/Repo:1", "oci://host/repo@sha256:abc", "oci:///repo:1", "oci://host:5000"] {
      #expect(throws: FetchError.self, "\(bad)") { try OCIFetcher.parse(bad) }
    }
  }

  @Test("A registry's Bearer challenge yields realm, service and scope")
  func bearerChallenge() throws {
    let challenge = try #require(BearerChallenge(header: #"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#))
    #expect(challenge.realm == "https://auth.docker.io/token")
    #expect(challenge.service == "registry.docker.io")
    #expect(challenge.scope == "repository:library/ubuntu:pull")
    #expect(BearerChallenge(header: #"Basic realm="Registry Realm""#) == nil)
    #expect(BearerChallenge(header: "Bearer service=x") == nil)
  }

  @Test("An image index is refused; a manifest's first layer is the artifact")
  func ociManifest() throws {
    let digest = "sha256:" + String(repeating: "0f", count: 32)
    let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[{"mediaType":"application/octet-stream","digest":"\#(digest)","size":12}]}"#
    let layer = try OCIFetcher.firstLayer(Array(manifest.utf8), contentType: nil, uri: "oci://r/x:1")
    #expect(layer.digest == digest && layer.size == 12)
    let index = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
    #expect(throws: FetchError.self) { try OCIFetcher.firstLayer(Array(index.utf8), contentType: nil, uri: "oci://r/x:1") }
  }

  @Test("mlflow:// URIs name a model by alias or by version")
  func mlflowParsing() throws {
    #expect(try MLflowFetcher.parse("mlflow://resnet@champion") == .alias(name: "resnet", alias: "champion"))
    #expect(try MLflowFetcher.parse("mlflow://team/resnet/12") == .version(name: "team/resnet", version: "12"))
    for bad in ["mlflow://resnet", "mlflow://resnet/latest", "mlflow://@x", "mlflow://resnet/"] {
      #expect(throws: FetchError.self, "\(bad)") { try MLflowFetcher.parse(bad) }
    }
  }

  @Test("Proxied MLflow artifact locations map to a path under the proxy; others are not listed")
  func mlflowProxiedPath() {
    #expect(MLflowArtifactLocation.proxiedPath("mlflow-artifacts:/0/models/m-1/artifacts") == "0/models/m-1/artifacts")
    #expect(MLflowArtifactLocation.proxiedPath("mlflow-artifacts://tracking:5000/3/abc/artifacts/model/") == "3/abc/artifacts/model")
    #expect(MLflowArtifactLocation.proxiedPath("https://t/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts") == "1/r/artifacts")
    #expect(MLflowArtifactLocation.proxiedPath("s3://bucket/mlruns/1/abc/artifacts") == nil)
  }

  @Test("The model file of an MLflow version is model.onnx, else the folder's only file")
  func mlflowModelFile() {
    #expect(MLflowArtifactLocation.modelFile(among: ["MLmodel", "model.onnx", "conda.yaml"]) == "model.onnx")
    #expect(MLflowArtifactLocation.modelFile(among: ["detector.plan"]) == "detector.plan")
    #expect(MLflowArtifactLocation.modelFile(among: ["a.onnx", "b.onnx"]) == nil)
    #expect(MLflowArtifactLocation.modelFile(among: []) == nil)
  }

  @Test("A redirect to another host drops the Authorization header")
  func redirectDropsAuthorization() throws {
    let request = HTTPRequest(method: "GET", url: "https://registry:5000/v2/x/blobs/sha256:1", headers: [("authorization", "Bearer t"), ("accept", "*/*")])
    let away = try #require(RemoteDownload.redirect(from: request, status: 307, location: "https://bucket.s3.amazonaws.com/blob?X-Amz-Signature=s"))
    #expect(!away.headers.contains { $0.0 == "authorization" })
    let same = try #require(RemoteDownload.redirect(from: request, status: 302, location: "/v2/x/blobs/other"))
    #expect(same.url == "https://registry:5000/v2/x/blobs/other" && same.headers.contains { $0.0 == "authorization" })
    #expect(RemoteDownload.redirect(from: request, status: 200, location: "/x") == nil)
    #expect(RemoteDownload.redacted("https://b/k?X-Amz-Credential=AKID") == "https://b/k")
  }
}
