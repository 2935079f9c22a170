import KubeCore

/// How `edgeml validate` prints its findings.
public enum ValidationReportFormat: String, Sendable, CaseIterable {
  /// `FILE:LINE: verdict: message` lines and a summary, for people.
  case text
  /// One JSON document: every finding with its causes, and the counts.
  case json
  /// GitHub Actions workflow commands: an annotation on the line of each refused field.
  case github
}

/// The findings of one run and the problems of its input, printed in a `ValidationReportFormat`.
public struct ValidationReport: Sendable {
  public var findings: [ValidationFinding]

  /// Input problems become findings whose verdict is `badInput`, in front of the rest.
  public init(findings: [ValidationFinding], problems: [ManifestInputProblem]) {
    self.findings = problems.map {
      ValidationFinding(verdict: .badInput, file: $0.file, line: $0.line, document: nil, kind: "", name: "", message: $0.message)
    } + findings
  }

  public var exitStatus: Int32 { ManifestValidator.exitStatus(findings, problems: []) }

  func count(_ verdict: ValidationFinding.Verdict) -> Int { findings.filter { $0.verdict == verdict }.count }

  var summary: String {
    "\(count(.valid)) valid, \(count(.invalid)) invalid, \(count(.skipped)) skipped, \(count(.badInput)) not checkable"
  }

  public func render(_ format: ValidationReportFormat) -> String {
    switch format {
    case .text: return text()
    case .json: return json().prettyString() + "\n"
    case .github: return github()
    }
  }

  // MARK: text

  func text() -> String {
    var out = ""
    for f in findings {
      let place = f.line.map { "\(f.file):\($0)" } ?? f.file
      let subject = f.kind.isEmpty ? "" : "\(f.kind) \"\(f.name)\""
      switch f.verdict {
      case .valid: out += "\(place): \(subject) is valid\n"
      case .invalid: out += "\(f.causes.first.map { "\(f.file):\($0.line)" } ?? place): invalid: \(f.message)\n"
      case .skipped: out += "\(place): skipped: \(f.message)\n"
      case .badInput: out += "\(place): error: \(f.message)\n"
      }
      for w in f.warnings { out += "\(place): warning: \(subject): \(w)\n" }
    }
    return out + summary + "\n"
  }

  // MARK: json

  func json() -> JSONValue {
    let items: [JSONValue] = findings.map { f in
      var o: JSONObject = ["file": .string(f.file), "verdict": .string(f.verdict.rawValue), "message": .string(f.message)]
      if let line = f.line { o["line"] = JSONValue(line) }
      if let d = f.document { o["document"] = JSONValue(d) }
      if !f.kind.isEmpty { o["kind"] = .string(f.kind) }
      if !f.name.isEmpty { o["name"] = .string(f.name) }
      if !f.causes.isEmpty {
        o["causes"] = .array(f.causes.map { ["field": .string($0.field), "message": .string($0.message), "line": JSONValue($0.line)] })
      }
      if !f.warnings.isEmpty { o["warnings"] = .array(f.warnings.map { .string($0) }) }
      return .object(o)
    }
    return ["findings": .array(items),
            "summary": ["valid": JSONValue(count(.valid)), "invalid": JSONValue(count(.invalid)),
                        "skipped": JSONValue(count(.skipped)), "badInput": JSONValue(count(.badInput))],
            "exitStatus": JSONValue(Int(exitStatus))]
  }

  // MARK: github

  /// `::error file=F,line=L,title=T::message` and `::warning …` lines; the runner turns each into an
  /// annotation on that line of the pull request (docs.github.com/en/actions/reference/workflows-and-actions/
  /// workflow-commands, "Setting an error message"). Valid and skipped objects print nothing but the summary.
  func github() -> String {
    var out = ""
    func command(_ name: String, file: String, line: Int?, title: String, message: String) {
      var properties = ["file=" + Self.escapeProperty(file)]
      if let line { properties.append("line=\(line)") }
      properties.append("title=" + Self.escapeProperty(title))
      out += "::\(name) \(properties.joined(separator: ","))::\(Self.escapeData(message))\n"
    }
    for f in findings {
      let subject = f.kind.isEmpty ? "" : "\(f.kind) \"\(f.name)\""
      switch f.verdict {
      case .invalid where !f.causes.isEmpty:
        for c in f.causes {
          command("error", file: f.file, line: c.line, title: "\(subject) is invalid", message: c.field.isEmpty ? c.message : "\(c.field): \(c.message)")
        }
      case .invalid: command("error", file: f.file, line: f.line, title: "\(subject) is invalid", message: f.message)
      case .badInput: command("error", file: f.file, line: f.line, title: "edgeml validate cannot check this", message: f.message)
      case .valid, .skipped: break
      }
      for w in f.warnings { command("warning", file: f.file, line: f.line, title: "\(subject): pruned by the API server", message: w) }
    }
    return out + "edgeml validate: " + summary + "\n"
  }

  /// A command's message: `%`, CR and LF percent-encoded, as the runner decodes them (actions/toolkit
  /// packages/core/src/command.ts, `escapeData`).
  static func escapeData(_ s: String) -> String {
    s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(of: "\n", with: "%0A")
  }

  /// A property value: also `:` and `,`, which separate properties (command.ts, `escapeProperty`).
  static func escapeProperty(_ s: String) -> String {
    escapeData(s).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
  }
}
