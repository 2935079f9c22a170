import KubeCore

/// The answer of Prometheus' instant-query endpoint, decoded.
///
/// The envelope is the HTTP API's (prometheus.io/docs/prometheus/latest/querying/api/, "Format
/// overview"): `{"status": "success"|"error", "data": {"resultType": …, "result": …}, "errorType",
/// "error"}`; an error answer comes with 400 (bad_data: the query does not parse), 422 (execution:
/// it cannot be run) or 503 (timeout, canceled). Instant vectors are `[{"metric": {…}, "value":
/// [<unix time>, "<value>"]}]`, a scalar is `[<unix time>, "<value>"]`, and values are strings so that
/// NaN and ±Inf survive JSON ("Expression query result formats").
public enum PrometheusResponse {
  /// The value of an instant query's answer, or why there is none.
  ///
  /// - Parameters:
  ///   - status: the HTTP status.
  ///   - body: the response body.
  /// - Returns: a `MetricValue` for `vector` and `scalar` results; for anything else, a message for an
  ///   `error` measurement that quotes Prometheus (`bad_data: 1:5: parse error: …`).
  public static func decode(status: Int, body: [UInt8]) -> Result<MetricValue, PrometheusQueryError> {
    let data: (type: String, result: JSONValue?)
    switch envelope(status: status, body: body) {
    case .failure(let e): return .failure(e)
    case .success(let d): data = d
    }
    switch data.type {
    case "scalar":
      guard let v = sampleValue(data.result) else { return .failure(PrometheusQueryError("Prometheus returned a malformed scalar")) }
      return .success(.scalar(v))
    case "vector":
      return series(data.result).map { MetricValue.vector($0.map(\.value)) }
    default:
      return .failure(unusable(data.type, want: "an instant vector or a scalar"))
    }
  }

  /// The series of an instant-vector answer, each with its labels (the drift source reads the
  /// `feature`, `le` and `category` labels of per-bucket counts).
  ///
  /// - Returns: the series in the order Prometheus sent them (an empty array for an empty vector),
  ///   or an error quoting Prometheus for a refused query, and naming the result type for anything
  ///   but a vector.
  public static func decodeVector(status: Int, body: [UInt8]) -> Result<[PrometheusSample], PrometheusQueryError> {
    switch envelope(status: status, body: body) {
    case .failure(let e): return .failure(e)
    case .success(let d) where d.type == "vector": return series(d.result)
    case .success(let d): return .failure(unusable(d.type, want: "an instant vector"))
    }
  }

  /// The answer's `data.resultType` and `data.result`, or Prometheus' own error.
  static func envelope(status: Int, body: [UInt8]) -> Result<(type: String, result: JSONValue?), PrometheusQueryError> {
    guard let json = try? JSONValue(parsing: body), case .object = json else {
      let text = String(decoding: body.prefix(200), as: UTF8.self)
      return .failure(PrometheusQueryError("Prometheus answered HTTP \(status) without a JSON body: \(text)", answered: false))
    }
    if json["status"]?.stringValue != "success" || !(200..<300).contains(status) {
      let type = json["errorType"]?.stringValue ?? "error"
      let message = json["error"]?.stringValue ?? "no error message"
      return .failure(PrometheusQueryError("Prometheus refused the query (HTTP \(status)): \(type): \(message)"))
    }
    return .success((type: json[path: ["data", "resultType"]]?.stringValue ?? "", result: json[path: ["data", "result"]]))
  }

  static func series(_ result: JSONValue?) -> Result<[PrometheusSample], PrometheusQueryError> {
    var out: [PrometheusSample] = []
    for series in result?.arrayValue ?? [] {
      guard let v = sampleValue(series["value"]) else { return .failure(PrometheusQueryError("Prometheus returned a malformed vector sample")) }
      var labels: [String: String] = [:]
      for (name, value) in series["metric"]?.objectValue ?? [:] { labels[name] = value.stringValue }
      out.append(PrometheusSample(labels: labels, value: v))
    }
    return .success(out)
  }

  static func unusable(_ type: String, want: String) -> PrometheusQueryError {
    if type == "matrix" {
      return PrometheusQueryError("the query returned a range vector (matrix); use \(want), e.g. wrap a [5m] selector in rate() or increase()")
    }
    return PrometheusQueryError("the query returned a \(type.isEmpty ? "result without a type" : type); use \(want)")
  }

  /// `[<unix time>, "<value>"]` → the value, parsing Prometheus' spellings of NaN and ±Inf.
  static func sampleValue(_ pair: JSONValue?) -> Double? {
    guard let items = pair?.arrayValue, items.count == 2, let text = items[1].stringValue else { return nil }
    return PrometheusTextParser.parseValue(text)
  }
}

/// One series of an instant vector: its labels (the metric name under `__name__` when kept) and value.
public struct PrometheusSample: Sendable, Equatable {
  public var labels: [String: String]
  public var value: Double
  public init(labels: [String: String], value: Double) {
    self.labels = labels
    self.value = value
  }
}

/// Why an instant query gave no value.
public struct PrometheusQueryError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  /// Whether Prometheus itself answered (a JSON envelope), as opposed to no answer or another
  /// server's page (a proxy's 502).
  public var answered: Bool
  public init(_ message: String, answered: Bool = true) {
    self.message = message
    self.answered = answered
  }
  public var description: String { message }
}
