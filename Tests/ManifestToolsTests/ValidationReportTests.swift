import KubeCore
import Testing
@testable import ManifestTools

@Suite("edgeml validate's output formats")
struct ValidationReportTests {
  static let invalid = ValidationFinding(
    verdict: .invalid, file: "deploy/models, v2.yaml", line: 4, document: 2, kind: "EdgeModel", name: "detector",
    message: "The EdgeModel \"detector\" is invalid: \n* spec.a: bad\n* spec.b: 100% wrong",
    causes: [.init(field: "spec.a", message: "bad", line: 9), .init(field: "spec.b", message: "100% wrong\nreally", line: 12)],
    warnings: ["unknown field \"spec.c\""])

  @Test("github: one ::error per refused field on its line, properties and message escaped as the runner decodes them")
  func github() {
    let out = ValidationReport(findings: [Self.invalid], problems: []).render(.github)
    let lines = out.split(separator: "\n").map(String.init)
    #expect(lines[0] == "::error file=deploy/models%2C v2.yaml,line=9,title=EdgeModel \"detector\" is invalid::spec.a: bad")
    #expect(lines[1] == "::error file=deploy/models%2C v2.yaml,line=12,title=EdgeModel \"detector\" is invalid::spec.b: 100%25 wrong%0Areally")
    #expect(lines[2] == "::warning file=deploy/models%2C v2.yaml,line=4,title=EdgeModel \"detector\"%3A pruned by the API server::unknown field \"spec.c\"")
    #expect(lines[3] == "edgeml validate: 0 valid, 1 invalid, 0 skipped, 0 not checkable")
  }

  @Test("bad input is an error annotation too, and makes the exit status 2")
  func badInputAnnotation() {
    let report = ValidationReport(findings: [Self.invalid], problems: [ManifestInputProblem(file: "x.yaml", line: 3, message: "not YAML: oops")])
    #expect(report.exitStatus == 2)
    #expect(report.render(.github).hasPrefix("::error file=x.yaml,line=3,title=edgeml validate cannot check this::not YAML: oops\n"))
  }

  @Test("text: one line per object at the line of its first refused field, then a summary")
  func text() {
    let valid = ValidationFinding(verdict: .valid, file: "a.yaml", line: 1, document: 1, kind: "Rollout", name: "r", message: "valid")
    let out = ValidationReport(findings: [valid, Self.invalid], problems: []).render(.text)
    #expect(out.hasPrefix("a.yaml:1: Rollout \"r\" is valid\ndeploy/models, v2.yaml:9: invalid: The EdgeModel \"detector\" is invalid: \n* spec.a: bad\n"))
    #expect(out.hasSuffix("1 valid, 1 invalid, 0 skipped, 0 not checkable\n"))
  }

  @Test("json: every finding with verdict, causes and lines, the counts and the exit status")
  func json() throws {
    let out = ValidationReport(findings: [Self.invalid], problems: []).render(.json)
    let doc = try JSONValue(parsing: Array(out.utf8))
    #expect(doc[path: ["findings"]]?.arrayValue?.first?["verdict"] == "invalid")
    #expect(doc[path: ["findings"]]?.arrayValue?.first?["causes"]?.arrayValue?.map { $0["line"]?.intValue } == [9, 12])
    #expect(doc[path: ["summary", "invalid"]]?.intValue == 1)
    #expect(doc["exitStatus"]?.intValue == 1)
  }
}
