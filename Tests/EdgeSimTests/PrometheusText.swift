import Foundation

/// A tiny parser of the Prometheus text exposition format (prometheus.io/docs/instrumenting/exposition_formats,
/// "Text-based format"), strict enough to catch what a scraper would reject: `# HELP`/`# TYPE`
/// lines, samples `name{label="value",…} value` whose family was typed first, label values with the
/// format's escapes, numbers (and `NaN`, `+Inf`, `-Inf`).
struct PrometheusText {
  struct Sample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
  }

  enum ParseError: Error, CustomStringConvertible {
    case bad(line: Int, String, reason: String)
    var description: String { if case .bad(let n, let l, let r) = self { return "line \(n): \(r): \(l)" }; return "" }
  }

  var types: [String: String] = [:]
  var samples: [Sample] = []

  init(_ text: String) throws {
    for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
      let l = String(line)
      func fail(_ reason: String) -> ParseError { .bad(line: n + 1, l, reason: reason) }
      if l.hasPrefix("#") {
        let words = l.split(separator: " ", maxSplits: 3).map(String.init)
        if words.count >= 3, words[1] == "TYPE" {
          guard words.count == 4, ["counter", "gauge", "summary", "histogram", "untyped"].contains(words[3]) else { throw fail("bad TYPE") }
          guard types[words[2]] == nil else { throw fail("TYPE twice") }
          types[words[2]] = words[3]
        }
        continue
      }
      var rest = Substring(l)
      let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
      guard let first = name.first, !first.isNumber else { throw fail("bad metric name") }
      rest = rest.dropFirst(name.count)
      var labels: [String: String] = [:]
      if rest.first == "{" {
        rest = rest.dropFirst()
        while rest.first != "}" {
          let key = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
          guard !key.isEmpty, rest.dropFirst(key.count).hasPrefix("=\"") else { throw fail("bad label") }
          rest = rest.dropFirst(key.count + 2)
          var value = ""
          while let c = rest.first, c != "\"" {
            rest = rest.dropFirst()
            if c == "\\" {
              guard let e = rest.first, "\\\"n".contains(e) else { throw fail("bad escape") }
              value.append(e == "n" ? "\n" : e)
              rest = rest.dropFirst()
            } else { value.append(c) }
          }
          guard rest.first == "\"" else { throw fail("unterminated label value") }
          rest = rest.dropFirst()
          guard labels.updateValue(value, forKey: key) == nil else { throw fail("label twice") }
          if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { throw fail("expected , or }") }
        }
        rest = rest.dropFirst()
      }
      guard rest.first == " " else { throw fail("no value") }
      let fields = rest.dropFirst().split(separator: " ")
      guard fields.count == 1 || fields.count == 2, let value = Self.number(String(fields[0])) else { throw fail("bad value") }
      let family = ["_count", "_sum", "_bucket"].first { name.hasSuffix($0) && types[String(name.dropLast($0.count))] != nil }
        .map { String(name.dropLast($0.count)) } ?? name
      guard types[family] != nil else { throw fail("sample before its TYPE") }
      samples.append(Sample(name: name, labels: labels, value: value))
    }
  }

  static func number(_ s: String) -> Double? {
    switch s {
    case "NaN": return .nan
    case "+Inf": return .infinity
    case "-Inf": return -.infinity
    default: return Double(s)
    }
  }

  /// The value of the one sample of `name` with exactly these labels, if any.
  func value(_ name: String, _ labels: [String: String]) -> Double? {
    samples.first { $0.name == name && $0.labels == labels }?.value
  }

  /// The sum over the samples of `name` whose labels include `labels`.
  func sum(_ name: String, where labels: [String: String] = [:]) -> Double {
    samples.filter { s in s.name == name && labels.allSatisfy { s.labels[$0.key] == $0.value } }.reduce(0) { $0 + $1.value }
  }
}
