import KubeCore
import Testing
@testable import EdgeML

/// Success and failure conditions, evaluated by our CEL target (docs/analysis.md, "Conditions").
struct AnalysisConditionsTests {
  static func metric(success: String, failure: String? = nil) -> AnalysisMetric {
    AnalysisMetric(name: "p99", provider: MetricProvider(prometheus: PrometheusQuery(address: "http://p:9090", query: "q")),
                   successCondition: success, failureCondition: failure)
  }

  struct Row: Sendable, CustomTestStringConvertible {
    var success: String
    var failure: String?
    var value: MetricValue
    var phase: MeasurementPhase
    var testDescription: String { "\(success) / \(failure ?? "-") on \(value.text) → \(phase.rawValue)" }
  }

  @Test("A measured value is judged successful, failed or inconclusive as Argo Rollouts judges it", arguments: [
    Row(success: "result < 50", value: .scalar(42), phase: .successful),
    Row(success: "result < 50", value: .scalar(50), phase: .failed),
    Row(success: "result < 50.0", value: .scalar(12.5), phase: .successful),
    Row(success: "result.all(x, x < 50)", value: .vector([10, 49.9]), phase: .successful),
    Row(success: "result.all(x, x < 50)", value: .vector([10, 51]), phase: .failed),
    Row(success: "result[0] >= 0.99", value: .vector([0.995]), phase: .successful),
    Row(success: "result < 50", failure: "result > 100", value: .scalar(70), phase: .inconclusive),
    Row(success: "result < 50", failure: "result > 100", value: .scalar(120), phase: .failed),
    Row(success: "result < 500", failure: "result > 100", value: .scalar(120), phase: .failed),
    Row(success: "result < 50", value: .scalar(.nan), phase: .inconclusive),
    Row(success: "result.all(x, x < 50)", value: .vector([]), phase: .inconclusive),
    Row(success: "result < 50", value: .scalar(.infinity), phase: .failed),
  ])
  func judged(_ row: Row) throws {
    let conditions = try AnalysisConditions(Self.metric(success: row.success, failure: row.failure))
    #expect(conditions.evaluate(row.value).phase == row.phase)
  }

  @Test("Missing data is inconclusive with a message that says so, never successful")
  func missingData() throws {
    let conditions = try AnalysisConditions(Self.metric(success: "result.size() == 0 || result[0] < 50"))
    let verdict = conditions.evaluate(.vector([]))
    #expect(verdict.phase == .inconclusive)
    #expect(verdict.message == "query returned no data")
  }

  @Test("A scalar condition on a vector, or a condition that is not a bool, is an error measurement")
  func runtimeErrors() throws {
    let onVector = try AnalysisConditions(Self.metric(success: "result < 50")).evaluate(.vector([1, 2]))
    #expect(onVector.phase == .error)
    #expect(onVector.message?.contains("result < 50") == true)
    // …and says how to write it for a list.
    #expect(onVector.message?.contains("result is a list of 2 value(s)") == true && onVector.message?.contains("result[0] < 50") == true)
    let notBool = try AnalysisConditions(Self.metric(success: "result + 1.0")).evaluate(.scalar(1))
    #expect(notBool.phase == .error)
    #expect(notBool.message?.contains("must evaluate to a bool") == true)
  }

  @Test("A condition that does not compile is refused with cel-go's located message and the field's path")
  func compileErrors() throws {
    #expect(throws: AnalysisConditionError.self) { _ = try AnalysisConditions(Self.metric(success: "result <")) }
    let errors = AnalysisConditions.validate([
      Self.metric(success: "result < 50"),
      Self.metric(success: "result < 50", failure: "result >> 3"),
    ])
    let error = try #require(errors.first)
    #expect(errors.count == 1)
    #expect(error.field == "spec.analysis.metrics[1].failureCondition")
    #expect(error.message.hasPrefix("ERROR: <input>:1:"))
    #expect(error.description.contains("spec.analysis.metrics[1].failureCondition of metric \"p99\""))
  }

  @Test("Values are written as Prometheus writes them", arguments: zip(
    [MetricValue.scalar(42), .scalar(42.5), .scalar(.nan), .scalar(-.infinity), .vector([1, 2.25])],
    ["42", "42.5", "NaN", "-Inf", "[1, 2.25]"]))
  func valueText(_ value: MetricValue, _ text: String) {
    #expect(value.text == text)
  }
}
