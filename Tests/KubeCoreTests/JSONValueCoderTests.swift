import Foundation
import KubeCore
import Testing

/// The tree coders give what Foundation's coders give through JSON text (default strategies,
/// `.sortedKeys`), which is what the operator used before and what hashes of encoded specs were
/// computed from.
@Suite("JSONValueDecoder and JSONValueEncoder")
struct JSONValueCoderTests {
  enum Precision: String, Codable, Equatable { case fp16, int8 }

  struct Inner: Codable, Equatable {
    var name: String
    var weight: Int?
    var ratio: Double?
    var flags: [Bool]
  }

  struct Sample: Codable, Equatable {
    var precision: Precision
    var replicas: Int
    var big: Int64
    var small: UInt8
    var alpha: Double
    var labels: [String: String]
    var inners: [Inner]
    var nested: [[Int]]
    var optional: String?
    var freeForm: JSONValue?
  }

  static let text = """
    {"precision":"int8","replicas":3,"big":9007199254740993,"small":255,"alpha":0.05,
     "labels":{"zeta":"z","alpha":"a","Mid":"m"},
     "inners":[{"name":"a","weight":10,"flags":[true,false]},{"name":"b","ratio":1e-7,"flags":[]}],
     "nested":[[1,2],[]],"freeForm":{"b":[1,{"y":2,"x":1}],"a":null}}
    """

  func foundationEncoded<T: Encodable>(_ value: T) throws -> JSONValue {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try JSONValue(parsing: [UInt8](try encoder.encode(value)))
  }

  @Test("decoding gives Foundation's value, and encoding gives Foundation's bytes")
  func sameAsFoundation() throws {
    let json = try JSONValue(parsing: Array(Self.text.utf8))
    let ours = try JSONValueDecoder().decode(Sample.self, from: json)
    let theirs = try JSONDecoder().decode(Sample.self, from: Data(Self.text.utf8))
    #expect(ours == theirs)
    #expect(ours.big == 9_007_199_254_740_993)
    let encoded = try JSONValueEncoder().encode(ours)
    let foundation = try foundationEncoded(theirs)
    #expect(encoded.serializedString() == foundation.serializedString())
    // Keys sorted at every depth, free-form JSON included; nil optionals left out.
    #expect(encoded.serializedString().contains(#""freeForm":{"a":null,"b":[1,{"x":1,"y":2}]}"#))
    #expect(encoded["optional"] == nil)
    #expect(encoded["inners"]?.arrayValue?.first?["ratio"] == nil)
  }

  @Test("integers must be exact: 1.0 and 1e3 are integers, 1.5 and 300 for a UInt8 are errors")
  func integers() throws {
    struct N: Codable { var n: Int; var u: UInt8? }
    #expect(try JSONValueDecoder().decode(N.self, from: ["n": .number(JSONNumber(unchecked: "1.0"))]).n == 1)
    #expect(try JSONValueDecoder().decode(N.self, from: ["n": .number(JSONNumber(unchecked: "1e3"))]).n == 1000)
    #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(N.self, from: ["n": .number(JSONNumber(unchecked: "1.5"))]) }
    #expect(throws: DecodingError.self) { try JSONValueDecoder().decode(N.self, from: ["n": 1, "u": 300]) }
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(N.self, from: Data(#"{"n":1.5}"#.utf8)) }
  }

  @Test("a field of the wrong type or a missing one names its path")
  func errorsNamePaths() throws {
    let json = try JSONValue(parsing: Array(Self.text.utf8))
    let wrong = try JSONValue(parsing: Array(Self.text.replacingOccurrences(of: #""weight":10"#, with: #""weight":"ten""#).utf8))
    do {
      _ = try JSONValueDecoder().decode(Sample.self, from: wrong)
      Issue.record("decoded a string as Int")
    } catch DecodingError.typeMismatch(_, let context) {
      #expect(context.codingPath.map(\.stringValue) == ["inners", "0", "weight"])
      #expect(context.debugDescription == "Expected to decode Int but found a string instead.")
    }
    var missing = json
    missing["replicas"] = nil
    do {
      _ = try JSONValueDecoder().decode(Sample.self, from: missing)
      Issue.record("decoded without a required field")
    } catch DecodingError.keyNotFound(let key, _) {
      #expect(key.stringValue == "replicas")
    }
  }

  @Test("a NaN or infinite Double cannot be encoded, as with Foundation")
  func nonFinite() throws {
    struct D: Codable { var d: Double }
    #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(D(d: .nan)) }
    #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(D(d: .infinity)) }
    #expect(throws: EncodingError.self) { try JSONEncoder().encode(D(d: .infinity)) }
  }

  @Test("doubles print as Foundation prints them, over many magnitudes")
  func doubles() throws {
    struct D: Codable { var d: Double }
    for d in [0.0, -0.0, 1.0, 0.1, 0.05, 1.5e-7, 123456789.125, 1e20, 2.5e21, 1e-6, 1e-5, 0.0001, 1e16, 9007199254740993.0, 4.9e-324, 1.7976931348623157e308, -42.75] {
      let ours = try JSONValueEncoder().encode(D(d: d))
      let theirs = try foundationEncoded(D(d: d))
      #expect(ours.serializedString() == theirs.serializedString(), "\(d)")
      #expect(ours[path: ["d"]]?.doubleValue == d)
    }
  }
}
