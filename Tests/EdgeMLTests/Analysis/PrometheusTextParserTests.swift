import Testing
@testable import EdgeML

/// The text exposition format 0.0.4 parser (prometheus.io/docs/instrumenting/exposition_formats/).
struct PrometheusTextParserTests {
  /// Shaped like Triton's `/metrics` (shared/reference/jetson/triton.md), plus the format's corner
  /// cases from the format's "Text format example".
  static let page = """
    # HELP nv_inference_request_success Number of successful inference requests, all batch sizes
    # TYPE nv_inference_request_success counter
    nv_inference_request_success{model="detector",version="4"} 1234
    nv_inference_request_success{model="detector",version="3"} 99 1712345678901
    # A comment that is neither HELP nor TYPE.

    # HELP nv_inference_request_summary_us Summary of request durations \\\\ in \\n microseconds
    # TYPE nv_inference_request_summary_us summary
    nv_inference_request_summary_us{model="detector",version="4",quantile="0.5"} 9800.5
    nv_inference_request_summary_us{model="detector",version="4",quantile="0.99"} NaN
    nv_inference_request_summary_us_sum{model="detector",version="4"} 1.2e7
    msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
    metric_without_timestamp_and_labels 12.47
    something_weird{problem="division by zero"} +Inf -3982045
    trailing_comma{a="1",} -Inf
    \ttabbed_and_spaced  { b = "2" }\t 7
    empty_labels{} 0
    """

  @Test("A page with comments, HELP and TYPE, escaped label values, NaN, ±Inf and timestamps parses sample by sample")
  func parsesPage() throws {
    let page = try PrometheusTextParser.parse(Self.page)
    #expect(page.samples.count == 11)
    #expect(page.types["nv_inference_request_success"] == "counter")
    #expect(page.types["nv_inference_request_summary_us"] == "summary")
    #expect(page.help["nv_inference_request_summary_us"] == "Summary of request durations \\ in \n microseconds")
    #expect(page.samples[0] == MetricSample(name: "nv_inference_request_success", labels: ["model": "detector", "version": "4"], value: 1234))
    #expect(page.samples[1].timestampMilliseconds == 1_712_345_678_901)
    #expect(page.samples[3].value.isNaN && page.samples[3].labels["quantile"] == "0.99")
    #expect(page.samples[4].value == 1.2e7)
    #expect(page.samples[5].labels == ["path": "C:\\DIR\\FILE.TXT", "error": "Cannot find file:\n\"FILE.TXT\""])
    #expect(page.samples[6] == MetricSample(name: "metric_without_timestamp_and_labels", value: 12.47))
    #expect(page.samples[7].value == .infinity && page.samples[7].timestampMilliseconds == -3_982_045)
    #expect(page.samples[8].value == -.infinity && page.samples[8].labels == ["a": "1"])
    #expect(page.samples[9] == MetricSample(name: "tabbed_and_spaced", labels: ["b": "2"], value: 7))
    #expect(page.samples[10] == MetricSample(name: "empty_labels", value: 0))
  }

  @Test("A malformed line is an error that names the line and what is wrong", arguments: [
    ("m{a=\"1\"", "line 1: expected ',' or '}' after the value of label a"),
    ("m{a=1} 2", "line 1: expected '\"' to open the value of label a"),
    ("m{a=\"unterminated} 2", "line 1: unterminated value of label a"),
    ("m 1.2.3", "line 1: invalid value \"1.2.3\" for m"),
    ("m 1 12.5", "line 1: invalid timestamp \"12.5\" for m"),
    ("ok 1\n9bad 1", "line 2: expected a metric name"),
    ("m{a=\"1\",a=\"2\"} 1", "line 1: label a appears twice"),
    ("m 1 2 3", "line 1: unexpected text after the sample of m"),
    ("m", "line 1: expected a blank before the value of m"),
  ])
  func malformed(_ text: String, _ message: String) {
    #expect(throws: MetricsParseError.self) { _ = try PrometheusTextParser.parse(text) }
    do { _ = try PrometheusTextParser.parse(text) } catch { #expect(error.description == message) }
  }

  @Test("Sample values are read as Go's ParseFloat reads Prometheus' spellings", arguments: zip(
    ["NaN", "nan", "+Inf", "-Inf", "Inf", "1e3", "-0.5", "0x10"],
    [Double.nan, .nan, .infinity, -.infinity, .infinity, 1000, -0.5, 16]))
  func values(_ text: String, _ expected: Double) throws {
    let v = try #require(PrometheusTextParser.parseValue(text))
    #expect(v == expected || (v.isNaN && expected.isNaN))
  }
}
