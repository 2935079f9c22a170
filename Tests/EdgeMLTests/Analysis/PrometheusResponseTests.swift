import KubeCore
import Testing
@testable import EdgeML

/// Decoding Prometheus' instant-query answers; bodies shaped as the HTTP API documents them
/// (prometheus.io/docs/prometheus/latest/querying/api/, "Expression query result formats").
struct PrometheusResponseTests {
  static func decode(_ status: Int, _ body: String) -> Result<MetricValue, PrometheusQueryError> {
    PrometheusResponse.decode(status: status, body: Array(body.utf8))
  }

  @Test("A vector is a list of its samples' values, NaN and ±Inf included; a scalar is one double")
  func vectorAndScalar() throws {
    let vector = Self.decode(200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1712345678.9,"41.5"]},{"metric":{"pod":"b"},"value":[1712345678.9,"+Inf"]}]}}"#)
    #expect(try vector.get() == .vector([41.5, .infinity]))
    let scalar = Self.decode(200, #"{"status":"success","data":{"resultType":"scalar","result":[1712345678.9,"0.25"]}}"#)
    #expect(try scalar.get() == .scalar(0.25))
    let empty = Self.decode(200, #"{"status":"success","data":{"resultType":"vector","result":[]}}"#)
    #expect(try empty.get() == .vector([]))
  }

  @Test("Prometheus' own error is quoted: its type and message")
  func errorEnvelope() {
    let bad = Self.decode(400, #"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}"#)
    #expect(bad == .failure(PrometheusQueryError("Prometheus refused the query (HTTP 400): bad_data: 1:5: parse error: unexpected end of input")))
  }

  @Test("A range vector, a string result, or a body that is not JSON is an error that says what to do")
  func unsupported() {
    guard case .failure(let matrix) = Self.decode(200, #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#) else {
      Issue.record("a matrix must not decode"); return
    }
    #expect(matrix.message.contains("range vector"))
    guard case .failure(let html) = Self.decode(502, "<html>Bad Gateway</html>") else { Issue.record("HTML must not decode"); return }
    #expect(html.message == "Prometheus answered HTTP 502 without a JSON body: <html>Bad Gateway</html>")
  }

  @Test("{{candidate}} and {{stable}} become the caller's label matchers, and the URL is percent-encoded at the given time")
  func queryURL() {
    let q = PrometheusProvider.expand(#"sum(x{{{candidate}}}) / sum(x{{{stable}}})"#, candidate: #"version="4""#, stable: #"version="3""#)
    #expect(q == #"sum(x{version="4"}) / sum(x{version="3"})"#)
    let url = PrometheusProvider.queryURL(address: "http://p:9090/", query: "up{a=\"b c\"}", time: Timestamp(secondsSinceEpoch: 1_800_000_000))
    #expect(url == "http://p:9090/api/v1/query?query=up%7Ba%3D%22b%20c%22%7D&time=2027-01-15T08%3A00%3A00Z")
  }
}
