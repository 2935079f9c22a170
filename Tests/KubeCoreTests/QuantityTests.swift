import Testing
@testable import KubeCore

@Test("Quantities print in apimachinery's canonical form", arguments: [
  TextCase(text: "0", expected: "0"),
  TextCase(text: "1", expected: "1"),
  TextCase(text: "100m", expected: "100m"),
  TextCase(text: "1000m", expected: "1"),
  TextCase(text: "1Gi", expected: "1Gi"),
  TextCase(text: "1.5Gi", expected: "1536Mi"),
  TextCase(text: "1024Ki", expected: "1Mi"),
  TextCase(text: "1000Ki", expected: "1000Ki"),
  TextCase(text: "1.5Ki", expected: "1536"),
  TextCase(text: "0.5Ki", expected: "512"),
  TextCase(text: "0.5Gi", expected: "512Mi"),
  TextCase(text: "0.5", expected: "500m"),
  TextCase(text: ".5", expected: "500m"),
  TextCase(text: "1.", expected: "1"),
  TextCase(text: "+1", expected: "1"),
  TextCase(text: "007", expected: "7"),
  TextCase(text: "1.1", expected: "1100m"),
  TextCase(text: "1.0001k", expected: "1000100m"),
  TextCase(text: "1e3", expected: "1e3"),
  TextCase(text: "1E3", expected: "1e3"),
  TextCase(text: "1.5e3", expected: "1500"),
  TextCase(text: "12e6", expected: "12e6"),
  TextCase(text: "1e-3", expected: "1e-3"),
  TextCase(text: "1500k", expected: "1500k"),
  TextCase(text: "1000k", expected: "1M"),
  TextCase(text: "100u", expected: "100u"),
  TextCase(text: "0.1n", expected: "1n"),
  TextCase(text: "1.5n", expected: "2n"),
  TextCase(text: "-1.5n", expected: "-2n"),
  TextCase(text: "1.000000000001", expected: "1000000001n"),
  TextCase(text: "-100m", expected: "-100m"),
  TextCase(text: "-0", expected: "0"),
  TextCase(text: "1000E", expected: "1e21"),
  TextCase(text: "10Ei", expected: "9223372036854775807"),
  TextCase(text: "-10Ei", expected: "-9223372036854775807"),
  TextCase(text: "123456789012345678901234567890", expected: "123456789012345678901234567890"),
])
func quantityCanonical(_ c: TextCase) throws {
  let quantity = try Quantity(parsing: c.text)
  #expect(quantity.canonical == c.expected)
  #expect(try Quantity(parsing: quantity.canonical) == quantity)
}

/// Rows from apimachinery's pkg/api/resource/quantity_test.go (TestQuantityString alternates,
/// TestQuantityParse values, TestQuantityParseEmit), with the canonical text upstream prints.
@Test("Quantities match apimachinery's own test table", arguments: [
  ("1024Mi", "1Gi"), ("307200Ki", "300Mi"), ("1025024Mi", "1001Gi"), ("1024Gi", "1Ti"), ("5000m", "5"),
  ("1000M", "1G"), ("0.001T", "1G"), ("1000u", "1m"), ("1.08", "1080m"), ("1080000000n", "1080m"), (".001e12", "1e9"),
  ("0.001e0", "1e-3"), ("1000e-12", "1e-9"), ("00", "0"), ("3.001n", "4n"), ("1.1E-9", "2e-9"), ("0.0000000005", "1n"),
  ("0.00000012345", "124n"), ("9Ei", "9223372036854775807"), ("9223372036854775807Ki", "9223372036854775807"),
  ("12E", "12E"), ("100.035Ki", "102435840m"), ("0.5Mi", "512Ki"), ("0.05Gi", "53687091200m"), ("1.G", "1G"),
  (".0001k", "100m"), ("1.3E+6", "1300e3"), ("100.035k", "100035"), ("0.5e-2", "5e-3"), ("300e6", "300e6"),
  (".001Ki", "1024m"), (".000001Ki", "1024u"), (".000000001Ki", "1024n"), (".000000000001Ki", "2n"),
])
func quantityUpstreamTable(_ text: String, _ canonical: String) throws {
  #expect(try Quantity(parsing: text).canonical == canonical)
  #expect(try Quantity(parsing: "-" + text).canonical == (canonical == "0" ? "0" : "-" + canonical))
}

@Test("Quantities compare exactly, whatever their suffix")
func quantityComparison() throws {
  func q(_ text: String) throws -> Quantity { try Quantity(parsing: text) }
  #expect(try q("1Ki") == q("1024"))
  #expect(try q("1k") == q("1e3"))
  #expect(try q("0.5") == q("500m"))
  #expect(try q("1Ki") < q("1025"))
  #expect(try q("999m") < q("1"))
  #expect(try q("-1") < q("0"))
  #expect(try q("-2") < q("-1"))
  #expect(try q("100000000000000000001") > q("100000000000000000000"))
  #expect(try q("1.0000000000000000001E") > q("1E"))
  #expect(try q("1e100") > q("8Ei"))
  #expect(try Set([q("1Ki"), q("1024")]).count == 1)
  #expect(try q("1.5Gi").doubleValue == 1_610_612_736)
  #expect(try q("250m").doubleValue == 0.25)
}

@Test("Malformed quantities are rejected with apimachinery's error", arguments: [
  ("", QuantityError.formatWrong), ("1x", .formatWrong), (" 1", .formatWrong), ("1 ", .formatWrong),
  ("1e3.5", .formatWrong), ("1..5", .formatWrong), ("1Gi ", .formatWrong), ("abc", .formatWrong),
  ("1.5.5", .formatWrong), ("1K", .suffix), ("--1", .suffix), ("1ki", .suffix), ("1e", .suffix),
  ("1ee3", .suffix), ("1Mi5", .suffix), ("1e99999999999999999999", .suffix), ("1iK", .suffix),
  ("1.1.M", .formatWrong), ("1+1.0M", .formatWrong), ("0.1mi", .suffix), ("0.1am", .formatWrong), ("aoeu", .formatWrong),
  (".5i", .suffix), ("1i", .suffix), ("-3.01i", .suffix), ("-3.01e-", .suffix),
])
func malformedQuantity(_ text: String, _ error: QuantityError) {
  #expect(throws: error) { try Quantity(parsing: text) }
}

@Test("Quantity errors carry apimachinery's text")
func quantityErrorText() {
  #expect(QuantityError.suffix.description == "unable to parse quantity's suffix")
  #expect(QuantityError.formatWrong.description.hasPrefix("quantities must match the regular expression"))
}

@Test("Quantities read from JSON strings, numbers and null as UnmarshalJSON does")
func quantityFromJSON() throws {
  #expect(try Quantity(json: " 1.5Gi ").canonical == "1536Mi")
  #expect(try Quantity(json: .number(JSONNumber(unchecked: "0.5"))).canonical == "500m")
  #expect(try Quantity(json: .null).isZero)
  #expect(try Quantity(json: "2").json == "2")
  #expect(throws: QuantityError.formatWrong) { try Quantity(json: true) }
  #expect(throws: QuantityError.suffix) { try Quantity(json: "1K") }
}
