/// One sample of a scraped `/metrics` page.
public struct MetricSample: Sendable, Equatable {
  public var name: String
  public var labels: [String: String]
  /// The value; NaN and ±Inf are valid.
  public var value: Double
  /// Milliseconds since the epoch, when the exporter wrote one.
  public var timestampMilliseconds: Int64?

  public init(name: String, labels: [String: String] = [:], value: Double, timestampMilliseconds: Int64? = nil) {
    self.name = name
    self.labels = labels
    self.value = value
    self.timestampMilliseconds = timestampMilliseconds
  }
}

/// A parsed `/metrics` page: its samples in order, and the `# TYPE` and `# HELP` of its families.
public struct MetricsExposition: Sendable {
  public var samples: [MetricSample]
  /// Family name → counter | gauge | histogram | summary | untyped.
  public var types: [String: String]
  /// Family name → docstring, unescaped.
  public var help: [String: String]
}

/// A line of a `/metrics` page that is not valid text format.
public struct MetricsParseError: Error, Sendable, Equatable, CustomStringConvertible {
  /// 1-based line number.
  public var line: Int
  public var message: String
  public var description: String { "line \(line): \(message)" }
}

/// Parses Prometheus' text exposition format, version 0.0.4 — what Triton, node exporters and most
/// `/metrics` endpoints serve.
///
/// The grammar is the format's own (prometheus.io/docs/instrumenting/exposition_formats/, "Text
/// format details"): lines end in `\n`; blank lines are ignored; `# HELP name text` and `# TYPE name
/// type` describe a family, any other `#` line is a comment; a sample is
/// `name{label="value",…} value [timestamp]` where tokens are separated by spaces or tabs, the label
/// set may be absent or empty and may end in a comma, label values escape `\\`, `\"` and `\n`, HELP
/// text escapes `\\` and `\n`, the value is a Go float (`NaN`, `+Inf`, `-Inf` included) and the
/// timestamp an integer in milliseconds.
public enum PrometheusTextParser {
  /// Parses a whole page.
  /// - Throws: `MetricsParseError` at the first malformed line (a scrape that is not text format
  ///   is an error, not a page with fewer samples).
  /// - Complexity: O(n) in the page's length.
  public static func parse(_ text: String) throws(MetricsParseError) -> MetricsExposition {
    var out = MetricsExposition(samples: [], types: [:], help: [:])
    var lineNumber = 0
    for rawLine in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      lineNumber += 1
      var line = Substring(rawLine)
      if line.hasSuffix("\r") { line.removeLast() }   // tolerated: some exporters write CRLF
      var cursor = Cursor(line)
      cursor.skipBlanks()
      if cursor.atEnd { continue }
      if cursor.peek == UInt8(ascii: "#") {
        cursor.advance()
        parseComment(&cursor, into: &out)
        continue
      }
      do { out.samples.append(try parseSample(&cursor)) } catch {
        throw MetricsParseError(line: lineNumber, message: error.message)
      }
    }
    return out
  }

  /// Parses a sample value as Go's `strconv.ParseFloat` does for the spellings exporters use:
  /// decimal and exponent forms, `NaN`, `+Inf`, `-Inf` (case-insensitive, as Go accepts them).
  public static func parseValue(_ text: some StringProtocol) -> Double? {
    switch text.lowercased() {
    case "nan": return .nan
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    default:
      guard let first = text.utf8.first, first != UInt8(ascii: " ") else { return nil }
      return Double(String(text))
    }
  }

  // MARK: lines

  private struct LineError: Error { var message: String }

  private static func parseComment(_ cursor: inout Cursor, into out: inout MetricsExposition) {
    cursor.skipBlanks()
    let keyword = cursor.token()
    guard keyword == "HELP" || keyword == "TYPE" else { return }   // an ordinary comment
    cursor.skipBlanks()
    let name = cursor.token()
    guard !name.isEmpty else { return }
    cursor.skipBlanks()
    if keyword == "TYPE" {
      out.types[name] = cursor.token()
    } else {
      out.help[name] = unescape(cursor.rest, quotes: false)
    }
  }

  private static func parseSample(_ cursor: inout Cursor) throws(LineError) -> MetricSample {
    let name = cursor.take(while: { isNameByte($0) })
    guard let first = name.utf8.first, !isDigit(first) else { throw LineError(message: "expected a metric name") }
    var labels: [String: String] = [:]
    var blanksBeforeValue = cursor.skipBlanks()
    if cursor.peek == UInt8(ascii: "{") {
      cursor.advance()
      while true {
        cursor.skipBlanks()
        if cursor.peek == UInt8(ascii: "}") { cursor.advance(); break }
        let label = cursor.take(while: { isNameByte($0) && $0 != UInt8(ascii: ":") })
        guard let l0 = label.utf8.first, !isDigit(l0) else { throw LineError(message: "expected a label name in the label set of \(name)") }
        cursor.skipBlanks()
        guard cursor.peek == UInt8(ascii: "=") else { throw LineError(message: "expected '=' after label \(label)") }
        cursor.advance()
        cursor.skipBlanks()
        guard cursor.peek == UInt8(ascii: "\"") else { throw LineError(message: "expected '\"' to open the value of label \(label)") }
        cursor.advance()
        guard let value = cursor.quoted() else { throw LineError(message: "unterminated value of label \(label)") }
        guard labels.updateValue(value, forKey: label) == nil else { throw LineError(message: "label \(label) appears twice") }
        cursor.skipBlanks()
        if cursor.peek == UInt8(ascii: ",") { cursor.advance(); continue }
        guard cursor.peek == UInt8(ascii: "}") else { throw LineError(message: "expected ',' or '}' after the value of label \(label)") }
      }
      blanksBeforeValue = cursor.skipBlanks()
    }
    guard blanksBeforeValue > 0 else { throw LineError(message: "expected a blank before the value of \(name)") }
    let valueText = cursor.token()
    guard let value = parseValue(valueText) else { throw LineError(message: "invalid value \"\(valueText)\" for \(name)") }
    var timestamp: Int64?
    if cursor.skipBlanks() > 0, !cursor.atEnd {
      let t = cursor.token()
      guard let ms = Int64(t) else { throw LineError(message: "invalid timestamp \"\(t)\" for \(name)") }
      timestamp = ms
      cursor.skipBlanks()
    }
    guard cursor.atEnd else { throw LineError(message: "unexpected text after the sample of \(name)") }
    return MetricSample(name: name, labels: labels, value: value, timestampMilliseconds: timestamp)
  }

  /// Undoes `\\`, `\n` and (in label values) `\"`; any other backslash stays as written, as
  /// Prometheus' own parser leaves it.
  static func unescape(_ text: Substring, quotes: Bool) -> String {
    guard text.contains("\\") else { return String(text) }
    var out = ""
    var escaped = false
    for c in text {
      if escaped {
        switch c {
        case "n": out.append("\n")
        case "\\": out.append("\\")
        case "\"" where quotes: out.append("\"")
        default: out.append("\\"); out.append(c)
        }
        escaped = false
      } else if c == "\\" {
        escaped = true
      } else {
        out.append(c)
      }
    }
    if escaped { out.append("\\") }
    return out
  }

  static func isNameByte(_ b: UInt8) -> Bool {
    (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
      || isDigit(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: ":")
  }

  static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

  /// A position in one line.
  private struct Cursor {
    let line: Substring
    var index: Substring.UTF8View.Index

    init(_ line: Substring) {
      self.line = line
      index = line.utf8.startIndex
    }

    var atEnd: Bool { index == line.utf8.endIndex }
    var peek: UInt8? { atEnd ? nil : line.utf8[index] }
    var rest: Substring { line[index...] }
    mutating func advance() { index = line.utf8.index(after: index) }

    /// Skips spaces and tabs; returns how many.
    @discardableResult mutating func skipBlanks() -> Int {
      var n = 0
      while let b = peek, b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { advance(); n += 1 }
      return n
    }

    mutating func take(while predicate: (UInt8) -> Bool) -> String {
      let start = index
      while let b = peek, predicate(b) { advance() }
      return String(line[start..<index])
    }

    /// Up to the next blank or the end.
    mutating func token() -> String { take(while: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }) }

    /// A label value after its opening quote, through the closing one, unescaped; nil if unterminated.
    mutating func quoted() -> String? {
      let start = index
      var escaped = false
      while let b = peek {
        if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") {
          let raw = line[start..<index]
          advance()
          return PrometheusTextParser.unescape(raw, quotes: true)
        }
        advance()
      }
      return nil
    }
  }
}
