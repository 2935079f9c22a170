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
    guard let json = try? JSONValue(parsing: body), case .object = json else {
      let text = String(decoding: body.prefix(200), as: UTF8.self)
      return .failure(PrometheusQueryError("Prometheus answered HTTP \(status) without a JSON body: \(text)"))
    }
    if json["status"]?.stringValue != "success" || !(200..<300).contains(status) {
      let type = json["errorType"]?.stringValue ?? "error"
      let message = json["error"]?.stringValue ?? "no error message"
      return .failure(PrometheusQueryError("Prometheus refused the query (HTTP \(status)): \(type): \(message)"))
    }
    let resultType = json[path: ["data", "resultType"]]?.stringValue ?? ""
    let result = json[path: ["data", "result"]]
    switch resultType {
    case "scalar":
      guard let v = sampleValue(result) else { return .failure(PrometheusQueryError("Prometheus returned a malformed scalar")) }
      return .success(.scalar(v))
    case "vector":
      var values: [Double] = []
      for series in result?.arrayValue ?? [] {
        guard let v = sampleValue(series["value"]) else { return .failure(PrometheusQueryError("Prometheus returned a malformed vector sample")) }
        values.append(v)
      }
      return .success(.vector(values))
    case "matrix":
      return .failure(PrometheusQueryError("the query returned a range vector (matrix); use an instant vector or a scalar, e.g. wrap a [5m] selector in rate()"))
    default:
      return .failure(PrometheusQueryError("the query returned a \(resultType.isEmpty ? "result without a type" : resultType); use an instant vector or a scalar"))
    }
  }

  /// `[<unix time>, "<value>"]` → the value, parsing Prometheus' spellings of NaN and ±Inf.
  static func sampleValue(_ pair: JSONValue?) -> Double? {
    guard let items = pair?.arrayValue, items.count == 2, let text = items[1].stringValue else { return nil }
    return PrometheusTextParser.parseValue(text)
  }
}

/// Why an instant query gave no value.
public struct PrometheusQueryError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}
