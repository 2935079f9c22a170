import Foundation
import Testing
@testable import DriftStatistics

@Suite struct FeatureSummaryTests {
  @Test func reportRoundTripsThroughJSONAndMergesAcrossPods() throws {
    var stream = TestStream(state: 7)
    var a = KLLSketch(seed: 1), b = KLLSketch(seed: 2)
    try a.insert(contentsOf: (0..<5000).map { _ in stream.normal() })
    try b.insert(contentsOf: (0..<3000).map { _ in stream.normal(mean: 1) })
    var labels = CategoricalCounts()
    try labels.insert(contentsOf: ["car", "bus", "car"])
    let report = DriftSummaryReport(source: "pod-a", start: 100, end: 700,
                                    summaries: ["brightness": .numerical(a), "label": .categorical(labels)])
    let json = try JSONEncoder().encode(report)
    let decoded = try JSONDecoder().decode(DriftSummaryReport.self, from: json).summaries()
    #expect(decoded["brightness"] == .numerical(a))
    #expect(decoded["label"]?.count == 3)

    var merged = try #require(decoded["brightness"])
    try merged.merge(.numerical(b))
    #expect(merged.count == 8000)
    #expect(throws: DriftStatisticsError.self) { try merged.merge(.categorical(labels)) }
    #expect(merged.count == 8000)   // a refused merge changes nothing
  }

  @Test func base64MatchesFoundationAndRefusesMalformedText() {
    for length in 0..<10 {
      let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 251) }
      let ours = Base64.encode(bytes)
      #expect(ours == Data(bytes).base64EncodedString())
      #expect(Base64.decode(ours) == bytes)
    }
    #expect(Base64.decode("ab=c") == nil)
    #expect(Base64.decode("abc") == nil)
    #expect(Base64.decode("ab$d") == nil)
    // Padding belongs only at the very end, one or two of it.
    #expect(Base64.decode("a===") == nil)
    #expect(Base64.decode("====") == nil)
    #expect(Base64.decode("YQ==YWJj") == nil)
    #expect(Base64.decode("YWI=YWJj") == nil)
    #expect(Base64.decode("YQ==") == [0x61])
    #expect(Base64.decode("YWI=") == [0x61, 0x62])
    #expect(Base64.decode("") == [])
  }

  @Test func malformedEntriesNameSourceAndFeature() throws {
    let json = #"{"apiVersion":"edgeml.io/drift-summary/v1","source":"pod-b","start":0,"end":60,"features":{"x":{"type":"numerical","count":3,"sketch":"S0xMMQ=="}}}"#
    let report = try JSONDecoder().decode(DriftSummaryReport.self, from: Data(json.utf8))
    #expect(throws: DriftStatisticsError.invalidParameter("pod-b: feature x: truncated KLL sketch")) {
      try report.summaries()
    }
    let counted = #"{"apiVersion":"edgeml.io/drift-summary/v1","source":"pod-c","start":0,"end":60,"features":{"y":{"type":"categorical","count":5,"counts":{"a":2}}}}"#
    let wrong = try JSONDecoder().decode(DriftSummaryReport.self, from: Data(counted.utf8))
    #expect(throws: DriftStatisticsError.self) { try wrong.summaries() }
  }
}
