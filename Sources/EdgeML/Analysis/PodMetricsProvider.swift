import KubeClient
import KubeCore

/// Measures a metric by scraping the candidate's pods' `/metrics` pages directly and combining one
/// metric across them (`PodMetricAggregation`): what an edge cluster without Prometheus can do.
///
/// *Errors*: a pod that cannot be scraped, answers with an HTTP error, or serves a page that is not
/// text format makes the measurement `error`, naming the pod — a partial answer could hide exactly
/// the bad pod. No pods, or no pod exporting the metric with the labels, is `inconclusive`.
/// *Caveats*: values are read as exported at this instant: a counter is a total since the pod
/// started, not a rate (use a gauge, a summary quantile, or Prometheus for rates).
public struct PodMetricsProvider: AnalysisProvider {
  private let transport: HTTPTransport
  private let timeout: Duration

  /// - Parameters:
  ///   - transport: the libcurl transport.
  ///   - timeout: per scrape.
  public init(transport: HTTPTransport, timeout: Duration = .seconds(5)) {
    self.transport = transport
    self.timeout = timeout
  }

  public func measure(_ metric: AnalysisMetric, context: AnalysisContext) async -> Measurement {
    guard let spec = metric.provider.podMetrics else {
      return .failure("metric has no podMetrics provider", metric: metric, startedAt: context.now)
    }
    guard let aggregation = PodMetricAggregation(rawValue: spec.aggregation ?? "avg") else {
      return .failure("unknown aggregation \"\(spec.aggregation ?? "")\"", metric: metric, startedAt: context.now)
    }
    guard !context.pods.isEmpty else {
      return Measurement(metric: metric.name, phase: .inconclusive, message: "no candidate pods to scrape", startedAt: context.now)
    }
    let scraped = await withTaskGroup(of: (String, Result<[MetricSample], ScrapeError>).self) { group in
      for target in context.pods {
        group.addTask { (target.pod, await scrape(target)) }
      }
      var out: [(String, Result<[MetricSample], ScrapeError>)] = []
      for await item in group { out.append(item) }
      return out
    }
    var pods: [String: [MetricSample]] = [:]
    var failures: [String] = []
    for (pod, result) in scraped.sorted(by: { $0.0 < $1.0 }) {
      switch result {
      case .success(let samples): pods[pod] = samples
      case .failure(let error): failures.append("\(pod): \(error.message)")
      }
    }
    if !failures.isEmpty {
      return .failure("could not scrape \(failures.count) of \(context.pods.count) pods: " + failures.joined(separator: "; "), metric: metric, startedAt: context.now)
    }
    let value: Double?
    do { value = try aggregation.aggregate(pods, metric: spec.metric, labels: spec.labels ?? [:]) } catch {
      return .failure(error.message, metric: metric, startedAt: context.now)
    }
    guard let value else {
      let selector = (spec.labels ?? [:]).sorted(by: { $0.key < $1.key }).map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
      return Measurement(metric: metric.name, phase: .inconclusive,
                         message: "no pod exports \(spec.metric){\(selector)} (\(context.pods.count) scraped)", startedAt: context.now)
    }
    return .judging(.scalar(value), metric: metric, startedAt: context.now)
  }

  private struct ScrapeError: Error { var message: String }

  private func scrape(_ target: ScrapeTarget) async -> Result<[MetricSample], ScrapeError> {
    // The text format's content type (prometheus.io/docs/instrumenting/exposition_formats/).
    let request = HTTPRequest(method: "GET", url: target.url, headers: [("Accept", "text/plain;version=0.0.4")], timeout: timeout)
    do {
      let response = try await transport.send(request)
      guard (200..<300).contains(response.status) else { return .failure(ScrapeError(message: "HTTP \(response.status) from \(target.url)")) }
      return .success(try PrometheusTextParser.parse(String(decoding: response.body, as: UTF8.self)).samples)
    } catch let error as TransportError {
      return .failure(ScrapeError(message: "\(target.url) did not answer: \(PrometheusProvider.describe(error))"))
    } catch let error as MetricsParseError {
      return .failure(ScrapeError(message: "\(target.url) is not Prometheus text format: \(error)"))
    } catch {
      return .failure(ScrapeError(message: "\(target.url): \(error)"))
    }
  }
}
