// Interim equality-only selectors until the full apimachinery grammar lands (branch `core`).
import Foundation
public struct LabelSelectorError: Error, CustomStringConvertible, Sendable { public var description: String }
public struct LabelSelector: Sendable, Equatable {
  var pairs: [(String, String, Bool)] = []
  public static func == (a: LabelSelector, b: LabelSelector) -> Bool { a.description == b.description }
  public static func parse(_ text: String) throws(LabelSelectorError) -> LabelSelector {
    var s = LabelSelector()
    for part in text.split(separator: ",") {
      if let r = part.range(of: "!=") { s.pairs.append((String(part[..<r.lowerBound]), String(part[r.upperBound...]), false)) }
      else if let r = part.range(of: "=") { s.pairs.append((String(part[..<r.lowerBound]), String(part[r.upperBound...]).replacingOccurrences(of: "=", with: ""), true)) }
      else { throw LabelSelectorError(description: "unable to parse requirement: \(part)") }
    }
    return s
  }
  public init() {}
  public init(json: JSONValue) throws(LabelSelectorError) {
    for (k, v) in json["matchLabels"]?.objectValue ?? JSONObject() { pairs.append((k, v.stringValue ?? "", true)) }
  }
  public func matches(_ labels: [String: String]) -> Bool {
    pairs.allSatisfy { ($0.2 && labels[$0.0] == $0.1) || (!$0.2 && labels[$0.0] != $0.1) }
  }
  public var isEmpty: Bool { pairs.isEmpty }
  public var description: String { pairs.map { "\($0.0)\($0.2 ? "=" : "!=")\($0.1)" }.joined(separator: ",") }
}
public struct FieldSelectorError: Error, CustomStringConvertible, Sendable { public var description: String }
public struct FieldRequirement: Sendable { public enum Operator: Sendable { case equals, notEquals }; public var field: String; public var op: Operator; public var value: String }
public struct FieldSelector: Sendable {
  public var requirements: [FieldRequirement] = []
  public static func parse(_ text: String) throws(FieldSelectorError) -> FieldSelector {
    var s = FieldSelector()
    for part in text.split(separator: ",") {
      if let r = part.range(of: "!=") { s.requirements.append(.init(field: String(part[..<r.lowerBound]), op: .notEquals, value: String(part[r.upperBound...]))) }
      else if let r = part.range(of: "=") { s.requirements.append(.init(field: String(part[..<r.lowerBound]), op: .equals, value: String(part[r.upperBound...]).replacingOccurrences(of: "=", with: ""))) }
      else { throw FieldSelectorError(description: "invalid selector: '\(text)'; can't understand '\(part)'") }
    }
    return s
  }
  public func matches(_ lookup: (String) -> String?) -> Bool {
    requirements.allSatisfy { r in let v = lookup(r.field) ?? ""; return r.op == .equals ? v == r.value : v != r.value }
  }
}
