#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KubeCore
import Synchronization

/// A resource as the REST paths name it.
public struct GroupVersionResource: Sendable, Hashable {
  public var group: String
  public var version: String
  public var resource: String
  public var namespaced: Bool

  public init(group: String, version: String, resource: String, namespaced: Bool) {
    self.group = group
    self.version = version
    self.resource = resource
    self.namespaced = namespaced
  }

  func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
    var p = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
    if namespaced, let namespace, !namespace.isEmpty { p += "/namespaces/\(namespace)" }
    p += "/\(resource)"
    if let name { p += "/\(name)" }
    if let subresource { p += "/\(subresource)" }
    return p
  }

  public static let pods = GroupVersionResource(group: "", version: "v1", resource: "pods", namespaced: true)
  public static let configMaps = GroupVersionResource(group: "", version: "v1", resource: "configmaps", namespaced: true)
  public static let nodes = GroupVersionResource(group: "", version: "v1", resource: "nodes", namespaced: false)
  public static let deployments = GroupVersionResource(group: "apps", version: "v1", resource: "deployments", namespaced: true)
  public static let leases = GroupVersionResource(group: "coordination.k8s.io", version: "v1", resource: "leases", namespaced: true)
  public static let events = GroupVersionResource(group: "events.k8s.io", version: "v1", resource: "events", namespaced: true)
}

/// The patch types the API server accepts.
public enum PatchType: Sendable, Equatable {
  case merge, json, strategicMerge
  /// Server-side apply by `fieldManager`; `force` takes over conflicting fields.
  case apply(fieldManager: String, force: Bool)

  var contentType: String {
    switch self {
    case .merge: return "application/merge-patch+json"
    case .json: return "application/json-patch+json"
    case .strategicMerge: return "application/strategic-merge-patch+json"
    case .apply: return "application/apply-patch+yaml"
    }
  }
}

/// One page of a list.
public struct ListPage: Sendable {
  public var items: [JSONValue]
  public var resourceVersion: String
  public var continueToken: String?
}

/// Retries for throttling, server errors and dropped connections: exponential backoff with jitter,
/// `Retry-After` honoured when the server sends it.
public struct RetryPolicy: Sendable {
  public var maxAttempts = 6
  public var baseDelay: Duration = .milliseconds(200)
  public var maxDelay: Duration = .seconds(30)
  /// How a retry waits: `Task.sleep` unless replaced. Tests replace it to record the delays (and
  /// skip them) instead of sleeping; a controller may route it through its own clock.
  public var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
  public init() {}

  func delay(attempt: Int, retryAfter: String?) -> Duration {
    if let retryAfter, let seconds = Int(retryAfter.trimmingWhitespace()), seconds >= 0 {
      return .seconds(min(seconds, 60))
    }
    let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
    let cap = Double(maxDelay.components.seconds)
    let exp = min(cap, base * Double(sign: .plus, exponent: attempt, significand: 1))   // 2^attempt, exactly
    let jittered = exp * Double.random(in: 0.5...1.0)   // "equal jitter"
    return .milliseconds(Int(jittered * 1000))
  }
}

/// A typed-and-dynamic REST client for the Kubernetes API over `HTTPTransport`.
///
/// Every request goes through the client-side rate limit and the retry policy; errors the server
/// answers become `KubeAPIError`, transport failures `TransportError`.
public final class KubeClient: Sendable {
  public let configuration: ClientConfiguration
  public let transport: HTTPTransport
  public let rateLimiter: TokenBucket
  public let retry: RetryPolicy
  public static let version = "0.1.0"
  /// Called with the verb, the status code and the time from sending to the whole answer of every
  /// answered request (metrics without a dependency; the rate limiter's wait is not included, as in
  /// client-go's `rest_client_request_duration_seconds`).
  public let requestObserver: (@Sendable (String, Int, Duration) -> Void)?
  private let tokenCache = Mutex<(path: String, modified: Date, token: String)?>(nil)

  public init(configuration: ClientConfiguration, qps: Double = 5, burst: Int = 10, retry: RetryPolicy = RetryPolicy(),
              loop: CurlMultiLoop? = nil, requestObserver: (@Sendable (String, Int, Duration) -> Void)? = nil) throws(TransportError) {
    self.configuration = configuration
    self.requestObserver = requestObserver
    var tls = TLSSettings(certificateAuthorityPEM: configuration.certificateAuthorityPEM,
                          insecureSkipVerify: configuration.insecureSkipTLSVerify)
    if case .clientCertificate(let cert, let key) = configuration.credential {
      tls.clientCertificatePEM = cert
      tls.clientKeyPEM = key
    }
    transport = try HTTPTransport(tls: tls, userAgent: "edgeml/\(KubeClient.version)", loop: loop)
    rateLimiter = TokenBucket(qps: qps, burst: burst)
    self.retry = retry
  }

  /// Stops the transport's loop.
  public func shutdown() { transport.loop.shutdown() }

  // MARK: auth

  private func authorizationHeader() throws -> String? {
    switch configuration.credential {
    case .bearerToken(let t): return "Bearer \(t)"
    case .bearerTokenFile(let path):
      // Re-read when the file changes: projected service-account tokens rotate (client-go's
      // cachingTokenSource re-reads periodically; we compare the modification time).
      let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date.distantPast
      if let cached = tokenCache.withLock({ $0 }), cached.path == path, cached.modified == modified { return "Bearer \(cached.token)" }
      guard let data = FileManager.default.contents(atPath: path),
            let token = String(data: data, encoding: .utf8)?.trimmingWhitespace(), !token.isEmpty else {
        throw TransportError.setupFailed("cannot read the token file \(path)")
      }
      tokenCache.withLock { $0 = (path, modified, token) }
      return "Bearer \(token)"
    case .basic(let u, let p): return "Basic " + Data("\(u):\(p)".utf8).base64EncodedString()
    case .exec(let exec):
      return "Bearer \(try execToken(exec))"
    case .none, .clientCertificate: return nil
    }
  }

  private let execCache = Mutex<(token: String, expires: Date?)?>(nil)

  /// Runs an exec credential plugin (client.authentication.k8s.io/v1) and caches its token until it
  /// expires (k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go).
  private func execToken(_ exec: Kubeconfig.ExecConfig) throws -> String {
    if let cached = execCache.withLock({ $0 }), cached.expires.map({ $0 > Date().addingTimeInterval(10) }) ?? true {
      return cached.token
    }
    var environment = ProcessInfo.processInfo.environment
    for (k, v) in exec.env { environment[k] = v }
    environment["KUBERNETES_EXEC_INFO"] = #"{"apiVersion":"\#(exec.apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
    let (status, output) = try ChildProcess.run(exec.command, arguments: exec.args, environment: environment)
    guard status == 0 else {
      throw TransportError.setupFailed("exec plugin \(exec.command) exited with \(status)")
    }
    guard let json = try? JSONValue(parsing: output), json["kind"] == "ExecCredential",
          let token = json[path: ["status", "token"]]?.stringValue, !token.isEmpty else {
      throw TransportError.setupFailed("exec plugin \(exec.command) did not print an ExecCredential with status.token")
    }
    let expires = json[path: ["status", "expirationTimestamp"]]?.stringValue.flatMap { try? Timestamp(rfc3339: $0) }
      .map { Date(timeIntervalSince1970: TimeInterval($0.secondsSinceEpoch)) }
    execCache.withLock { $0 = (token, expires) }
    return token
  }

  // MARK: requests

  /// Sends one request with rate limiting and retries; returns the response of a 2xx answer.
  /// - Throws: `KubeAPIError` for an error answer after retries, `TransportError` when none came.
  public func send(method: String, path: String, query: [(String, String)] = [], body: JSONValue? = nil,
                   contentType: String = "application/json", timeout: Duration? = .seconds(30)) async throws -> HTTPResponse {
    var url = configuration.server + path
    if !query.isEmpty {
      url += "?" + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }
    var headers = [("Accept", "application/json")]
    if let auth = try authorizationHeader() { headers.append(("Authorization", auth)) }
    let bodyBytes = body?.serialized() ?? []
    if body != nil { headers.append(("Content-Type", contentType)) }
    let request = HTTPRequest(method: method, url: url, headers: headers, body: bodyBytes, timeout: timeout)
    var attempt = 0
    while true {
      try Task.checkCancellation()
      try await rateLimiter.acquire()
      do {
        let sent = ContinuousClock.now
        let response = try await transport.send(request)
        requestObserver?(method, response.status, ContinuousClock.now - sent)
        if (200..<300).contains(response.status) { return response }
        let retryable = response.status == 429 || response.status == 503
          || (method != "POST" && [500, 502, 504].contains(response.status))
        if retryable && attempt + 1 < retry.maxAttempts {
          try await retry.sleep(retry.delay(attempt: attempt, retryAfter: response.header("retry-after")))
          attempt += 1
          continue
        }
        throw KubeAPIError(code: response.status, body: response.body)
      } catch let error as TransportError where error.isRetryable && attempt + 1 < retry.maxAttempts
                                              && (method != "POST" || error.isConnectFailure) {
        try await retry.sleep(retry.delay(attempt: attempt, retryAfter: nil))
        attempt += 1
      }
    }
  }

  func decode(_ response: HTTPResponse, projection: JSONProjection = .all) throws -> JSONValue {
    do { return try JSONParser.parse(response.body, projection: projection) } catch {
      throw TransportError.setupFailed("the server's answer is not JSON: \(error)")
    }
  }

  // MARK: verbs

  public func get(_ r: GroupVersionResource, namespace: String? = nil, name: String) async throws -> JSONValue {
    try decode(try await send(method: "GET", path: r.path(namespace: namespace, name: name)))
  }

  /// - Parameter projection: what to build of each item (see `JSONParser.parse(_:projection:)`); the
  ///   list's own members are always read.
  public func list(_ r: GroupVersionResource, namespace: String? = nil, labelSelector: String? = nil,
                   fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil,
                   resourceVersion: String? = nil, projection: JSONProjection = .all) async throws -> ListPage {
    var q: [(String, String)] = []
    if let labelSelector { q.append(("labelSelector", labelSelector)) }
    if let fieldSelector { q.append(("fieldSelector", fieldSelector)) }
    if let limit { q.append(("limit", String(limit))) }
    if let continueToken { q.append(("continue", continueToken)) }
    if let resourceVersion { q.append(("resourceVersion", resourceVersion)) }
    let listProjection: JSONProjection = projection == .all ? .all : .keeping(members: ["items": projection])
    let json = try decode(try await send(method: "GET", path: r.path(namespace: namespace), query: q), projection: listProjection)
    let token = json[path: ["metadata", "continue"]]?.stringValue
    // The server leaves kind and apiVersion out of a typed list's items; set them from the list's,
    // as apimachinery's unstructured decoding does (unstructured/helpers.go `decodeToList`), so a
    // listed object equals the same object from a watch.
    let listKind = json["kind"]?.stringValue ?? ""
    let itemKind: JSONValue = .string(listKind.hasSuffix("List") ? String(listKind.dropLast(4)) : listKind)
    let apiVersion = json["apiVersion"] ?? .string("")
    let items = (json["items"]?.arrayValue ?? []).map { item -> JSONValue in
      guard (item["kind"]?.stringValue ?? "").isEmpty, (item["apiVersion"]?.stringValue ?? "").isEmpty else { return item }
      var item = item
      item["kind"] = itemKind
      item["apiVersion"] = apiVersion
      return item
    }
    return ListPage(items: items, resourceVersion: json[path: ["metadata", "resourceVersion"]]?.stringValue ?? "",
                    continueToken: token?.isEmpty == false ? token : nil)
  }

  /// Lists every page (client-go's pager; page size 500 as its default).
  public func listAll(_ r: GroupVersionResource, namespace: String? = nil, labelSelector: String? = nil,
                      fieldSelector: String? = nil, pageSize: Int = 500, projection: JSONProjection = .all) async throws -> ListPage {
    var items: [JSONValue] = []
    var token: String? = nil
    var rv = ""
    repeat {
      let page = try await list(r, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
                                limit: pageSize, continueToken: token, projection: projection)
      items += page.items
      if token == nil { rv = page.resourceVersion }
      token = page.continueToken
    } while token != nil
    return ListPage(items: items, resourceVersion: rv, continueToken: nil)
  }

  /// - Parameter projection: what to build of the answer (`.nothing` when the caller ignores it).
  public func create(_ r: GroupVersionResource, namespace: String? = nil, _ object: JSONValue, dryRun: Bool = false,
                     projection: JSONProjection = .all) async throws -> JSONValue {
    try decode(try await send(method: "POST", path: r.path(namespace: namespace), query: dryRun ? [("dryRun", "All")] : [], body: object),
               projection: projection)
  }

  /// Replaces an object; its `metadata.resourceVersion`, when set, is the precondition (409 when stale).
  /// - Parameter fieldManager: the manager recorded in `managedFields` for the fields this write
  ///   changes (the server derives one from the user agent when nil).
  public func update(_ r: GroupVersionResource, namespace: String? = nil, _ object: JSONValue,
                     fieldManager: String? = nil) async throws -> JSONValue {
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    return try decode(try await send(method: "PUT", path: r.path(namespace: namespace, name: name),
                                     query: fieldManager.map { [("fieldManager", $0)] } ?? [], body: object))
  }

  public func updateStatus(_ r: GroupVersionResource, namespace: String? = nil, _ object: JSONValue) async throws -> JSONValue {
    let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
    return try decode(try await send(method: "PUT", path: r.path(namespace: namespace, name: name, subresource: "status"), body: object))
  }

  /// - Parameters:
  ///   - fieldManager: for a patch that is not an apply, the manager recorded in `managedFields` for
  ///     the fields it changes (an apply names its own; the server derives one from the user agent
  ///     when nil).
  ///   - projection: what to build of the answer (`.nothing` when the caller ignores it).
  public func patch(_ r: GroupVersionResource, namespace: String? = nil, name: String, _ patch: JSONValue, type: PatchType,
                    subresource: String? = nil, fieldManager: String? = nil, projection: JSONProjection = .all) async throws -> JSONValue {
    var q: [(String, String)] = []
    if case .apply(let manager, let force) = type {
      q.append(("fieldManager", manager))
      if force { q.append(("force", "true")) }
    } else if let fieldManager {
      q.append(("fieldManager", fieldManager))
    }
    return try decode(try await send(method: "PATCH", path: r.path(namespace: namespace, name: name, subresource: subresource),
                                     query: q, body: patch, contentType: type.contentType), projection: projection)
  }

  /// Deletes; returns the object when the server answers with it (deletion pending), nil for a `Status`.
  @discardableResult
  public func delete(_ r: GroupVersionResource, namespace: String? = nil, name: String, propagationPolicy: String? = nil,
                     preconditionUID: String? = nil, preconditionResourceVersion: String? = nil) async throws -> JSONValue? {
    var options: JSONObject = ["kind": "DeleteOptions", "apiVersion": "v1"]
    if let propagationPolicy { options["propagationPolicy"] = .string(propagationPolicy) }
    var pre = JSONObject()
    if let preconditionUID { pre["uid"] = .string(preconditionUID) }
    if let preconditionResourceVersion { pre["resourceVersion"] = .string(preconditionResourceVersion) }
    if !pre.isEmpty { options["preconditions"] = .object(pre) }
    let json = try decode(try await send(method: "DELETE", path: r.path(namespace: namespace, name: name), body: .object(options)))
    return json["kind"] == "Status" ? nil : json
  }

  // MARK: watch

  /// A watch event as the server sends it.
  public struct WatchEvent: Sendable {
    public var type: String
    public var object: JSONValue
  }

  /// Watches from `resourceVersion`. The stream ends when the server closes it (timeout, fault);
  /// an `ERROR` event's Status (410 Expired after compaction) is thrown as `KubeAPIError`.
  /// - Parameter projection: what to build of each event's object (an `ERROR` event's Status is
  ///   always read whole).
  public func watch(_ r: GroupVersionResource, namespace: String? = nil, resourceVersion: String?, labelSelector: String? = nil,
                    fieldSelector: String? = nil, allowBookmarks: Bool = true, timeoutSeconds: Int = 300,
                    projection: JSONProjection = .all) async throws -> AsyncThrowingStream<WatchEvent, Error> {
    var q: [(String, String)] = [("watch", "true"), ("timeoutSeconds", String(timeoutSeconds))]
    if let resourceVersion { q.append(("resourceVersion", resourceVersion)) }
    if allowBookmarks { q.append(("allowWatchBookmarks", "true")) }
    if let labelSelector { q.append(("labelSelector", labelSelector)) }
    if let fieldSelector { q.append(("fieldSelector", fieldSelector)) }
    try await rateLimiter.acquire()
    var headers = [("Accept", "application/json")]
    if let auth = try authorizationHeader() { headers.append(("Authorization", auth)) }
    let url = configuration.server + r.path(namespace: namespace) + "?" + q.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    let parts = try transport.stream(HTTPRequest(method: "GET", url: url, headers: headers, timeout: nil))
    let eventProjection: JSONProjection = projection == .all ? .all : .keeping(members: ["object": projection])
    return AsyncThrowingStream { continuation in
      let task = Task {
        var buffer: [UInt8] = []
        var status = 200
        var errorBody: [UInt8] = []
        do {
          for try await part in parts {
            switch part {
            case .head(let s, _): status = s
            case .body(let bytes):
              if status >= 300 { errorBody += bytes; continue }
              buffer += bytes
              while let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                guard !line.isEmpty else { continue }
                var event = try JSONParser.parse(line, projection: eventProjection)
                if event["type"]?.stringValue == "ERROR", eventProjection != .all { event = try JSONValue(parsing: line) }
                let type = event["type"]?.stringValue ?? ""
                let object = event["object"] ?? .null
                if type == "ERROR" {
                  throw KubeAPIError(code: object["code"]?.intValue ?? 500, body: object.serialized())
                }
                continuation.yield(WatchEvent(type: type, object: object))
              }
            }
          }
          if status >= 300 { throw KubeAPIError(code: status, body: errorBody) }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }
}

extension TransportError {
  /// A failure before the request reached the server (safe to retry even for POST).
  var isConnectFailure: Bool {
    if case .curl(let code, _) = self { return code == 7 }
    return false
  }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay as they are).
///
/// Public for the other HTTP clients of the operator (the Prometheus analysis provider), so that a
/// URL is built one way.
public func percentEncode(_ s: String) -> String {
  var out = ""
  for b in s.utf8 {
    switch b {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
      out.append(Character(Unicode.Scalar(b)))
    default:
      out += b < 0x10 ? "%0" : "%"          // String(format: "%%%02X", b) without Foundation
      out += String(b, radix: 16, uppercase: true)
    }
  }
  return out
}
