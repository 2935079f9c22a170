import KubeClient
import KubeCore

/// Measures a metric with a PromQL instant query (`GET <address>/api/v1/query?query=…&time=…`).
///
/// *Guarantees*: the query is evaluated at `context.now`, so a restarted operator re-measuring the
/// same instant gets the same answer. An empty vector or NaN is `inconclusive`, never success; a
/// Prometheus that does not answer within `timeout`, an HTTP error, or a refused query is `error`
/// with the cause in the message.
public struct PrometheusProvider: AnalysisProvider {
  private let transport: HTTPTransport
  private let timeout: Duration

  /// - Parameters:
  ///   - transport: the libcurl transport (TLS settings for `https://` Prometheus servers).
  ///   - timeout: how long a query may take, connection included.
  public init(transport: HTTPTransport, timeout: Duration = .seconds(10)) {
    self.transport = transport
    self.timeout = timeout
  }

  public func measure(_ metric: AnalysisMetric, context: AnalysisContext) async -> Measurement {
    guard let spec = metric.provider.prometheus else {
      return .failure("metric has no prometheus provider", metric: metric, startedAt: context.now)
    }
    let query = Self.expand(spec.query, candidate: context.candidateMatchers, stable: context.stableMatchers)
    // The query's own limit is a second shorter than the request's, so Prometheus says "timeout"
    // itself when it can (`timeout` parameter, prometheus.io/docs/prometheus/latest/querying/api/).
    let queryTimeout = max(1, timeout.components.seconds - 1)
    let url = Self.queryURL(address: spec.address, query: query, time: context.now) + "&timeout=\(queryTimeout)s"
    let response: HTTPResponse
    do {
      response = try await transport.send(HTTPRequest(method: "GET", url: url, headers: [("Accept", "application/json")], timeout: timeout))
    } catch let error as TransportError {
      return .failure("Prometheus at \(spec.address) did not answer: \(Self.describe(error))", metric: metric, startedAt: context.now)
    } catch {
      return .failure("Prometheus at \(spec.address) did not answer: \(error)", metric: metric, startedAt: context.now)
    }
    switch PrometheusResponse.decode(status: response.status, body: response.body) {
    case .success(let value): return .judging(value, metric: metric, startedAt: context.now)
    case .failure(let error): return .failure(error.message, metric: metric, startedAt: context.now)
    }
  }

  /// Replaces `{{candidate}}` and `{{stable}}` by the caller's label matchers.
  public static func expand(_ query: String, candidate: String, stable: String) -> String {
    query.replacing("{{candidate}}", with: candidate).replacing("{{stable}}", with: stable)
  }

  /// The instant-query URL: `address` without a trailing slash, `/api/v1/query`, the query and the
  /// evaluation time (RFC 3339) percent-encoded.
  public static func queryURL(address: String, query: String, time: Timestamp) -> String {
    var base = address
    while base.hasSuffix("/") { base.removeLast() }
    return base + "/api/v1/query?query=" + percentEncode(query) + "&time=" + percentEncode(time.rfc3339)
  }

  /// A transport error in words: libcurl's timeout (28) and refused connection (7) said plainly.
  static func describe(_ error: TransportError) -> String {
    if case .curl(let code, let message) = error {
      switch code {
      case 28: return "timed out (\(message))"
      case 7: return "connection refused or host unreachable (\(message))"
      default: break
      }
    }
    return error.description
  }
}
