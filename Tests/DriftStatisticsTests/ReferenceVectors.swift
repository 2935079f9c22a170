import Foundation
import Testing

/// The cases of `Fixtures/vectors.json` (scipy 1.17.1 reference values; see Fixtures/README.md).
struct ReferenceCase: Sendable, CustomTestStringConvertible {
  let kind: String
  let name: String
  let call: String
  let inputs: [String: JSONAny]
  let expected: [String: JSONAny]
  var testDescription: String { "\(kind)/\(name)" }

  func input(_ key: String) throws -> JSONAny { try #require(inputs[key], "\(name): missing input \(key)") }
  func expect(_ key: String) throws -> JSONAny { try #require(expected[key], "\(name): missing expected \(key)") }

  /// The value of `key='value'` in the scipy call, e.g. alternative or method.
  func callArgument(_ key: String) -> String? {
    guard let range = call.range(of: "\(key)='") else { return nil }
    let rest = call[range.upperBound...]
    return rest.firstIndex(of: "'").map { String(rest[..<$0]) }
  }
}

/// A JSON value decoded with `JSONDecoder`, whose number parsing is correctly rounded (Linux
/// `JSONSerialization` is not: it can be 1 ulp off, which matters for bit-exact bin edges).
enum JSONAny: Sendable, Decodable {
  case number(Double), string(String), bool(Bool), array([JSONAny]), object([String: JSONAny]), null

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() { self = .null }
    else if let b = try? container.decode(Bool.self) { self = .bool(b) }
    else if let d = try? container.decode(Double.self) { self = .number(d) }
    else if let s = try? container.decode(String.self) { self = .string(s) }
    else if let a = try? container.decode([JSONAny].self) { self = .array(a) }
    else { self = .object(try container.decode([String: JSONAny].self)) }
  }

  var double: Double? { if case .number(let d) = self { d } else { nil } }
  var doubles: [Double]? {
    guard case .array(let a) = self else { return nil }
    let values = a.compactMap(\.double)
    return values.count == a.count ? values : nil
  }
  var table: [[Double]]? {
    guard case .array(let rows) = self else { return nil }
    let values = rows.compactMap(\.doubles)
    return values.count == rows.count ? values : nil
  }
  var object: [String: JSONAny]? { if case .object(let o) = self { o } else { nil } }
}

enum ReferenceVectors {
  private struct File: Decodable {
    struct Case: Decodable { let kind: String, name: String, call: String, inputs: [String: JSONAny], expected: [String: JSONAny] }
    let cases: [Case]
  }

  static let cases: [ReferenceCase] = {
    guard let url = Bundle.module.url(forResource: "vectors", withExtension: "json", subdirectory: "Fixtures"),
          let data = try? Data(contentsOf: url),
          let file = try? JSONDecoder().decode(File.self, from: data)
    else { return [] }
    return file.cases.map { ReferenceCase(kind: $0.kind, name: $0.name, call: $0.call, inputs: $0.inputs, expected: $0.expected) }
  }()

  static func of(_ kind: String) -> [ReferenceCase] { cases.filter { $0.kind == kind } }
}

/// |a - b| ≤ rel·max(|a|, |b|), with exact equality required for zero.
func isClose(_ a: Double?, _ b: Double?, rel: Double = 1e-9) -> Bool {
  guard let a, let b else { return false }
  if a == b { return true }
  return (a - b).magnitude <= rel * max(a.magnitude, b.magnitude)
}
