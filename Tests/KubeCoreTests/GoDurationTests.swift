import Testing
@testable import KubeCore

@Test("Durations parse like Go's time.ParseDuration and print like Duration.String", arguments: [
  TextCase(text: "1h30m", expected: "1h30m0s"),
  TextCase(text: "500ms", expected: "500ms"),
  TextCase(text: "1.5h", expected: "1h30m0s"),
  TextCase(text: "-2m", expected: "-2m0s"),
  TextCase(text: "0", expected: "0s"),
  TextCase(text: "+5s", expected: "5s"),
  TextCase(text: "1.5s", expected: "1.5s"),
  TextCase(text: ".5s", expected: "500ms"),
  TextCase(text: "1.s", expected: "1s"),
  TextCase(text: "1us", expected: "1µs"),
  TextCase(text: "1µs", expected: "1µs"),
  TextCase(text: "1μs", expected: "1µs"),
  TextCase(text: "1ns", expected: "1ns"),
  TextCase(text: "1500us", expected: "1.5ms"),
  TextCase(text: "2h45m30.5s", expected: "2h45m30.5s"),
  TextCase(text: "1m0.05s", expected: "1m0.05s"),
  TextCase(text: "90m", expected: "1h30m0s"),
  TextCase(text: "9223372036854775807ns", expected: "2562047h47m16.854775807s"),
  TextCase(text: "-9223372036854775808ns", expected: "-2562047h47m16.854775808s"),
  TextCase(text: "0.3333333333333333333h", expected: "20m0s"),
])
func goDurationRoundTrip(_ c: TextCase) throws {
  let duration = try GoDuration(parsing: c.text)
  #expect(duration.description == c.expected)
  #expect(try GoDuration(parsing: duration.description) == duration)
}

/// Rows from Go's src/time/time_test.go `parseDurationTests` at the edges of the range and precision.
@Test("Durations match Go's own parse tests", arguments: [
  ("-9223372036854775.808us", Int64.min), ("-9223372036s854ms775us808ns", Int64.min), ("-2562047h47m16.854775808s", Int64.min),
  ("0.100000000000000000000h", 360_000_000_000), ("0.830103483285477580700h", 2_988_372_539_827), ("10.5s4m", 250_500_000_000),
  ("1h2m3s4ms5us6ns", 3_723_004_005_006), ("100.00100s", 100_001_000_000), ("-0", 0), ("+0", 0), ("12μs", 12_000),
])
func goDurationUpstream(_ text: String, _ nanoseconds: Int64) throws {
  #expect(try GoDuration(parsing: text).nanoseconds == nanoseconds)
}

@Test("Durations expose nanoseconds and seconds and order by length")
func goDurationValues() throws {
  #expect(try GoDuration(parsing: "1h30m").nanoseconds == 5_400_000_000_000)
  #expect(try GoDuration(parsing: "500ms").seconds == 0.5)
  #expect(try GoDuration(parsing: "-1s") < GoDuration(parsing: "1ns"))
}

@Test("Malformed durations are rejected with Go's message", arguments: [
  TextCase(text: "", expected: #"time: invalid duration """#),
  TextCase(text: "-", expected: #"time: invalid duration "-""#),
  TextCase(text: "1", expected: #"time: missing unit in duration "1""#),
  TextCase(text: "1d", expected: #"time: unknown unit "d" in duration "1d""#),
  TextCase(text: "1h 30m", expected: #"time: unknown unit "h " in duration "1h 30m""#),
  TextCase(text: "h", expected: #"time: invalid duration "h""#),
  TextCase(text: ".s", expected: #"time: invalid duration ".s""#),
  TextCase(text: "--1s", expected: #"time: invalid duration "--1s""#),
  TextCase(text: "1.5.5s", expected: #"time: missing unit in duration "1.5.5s""#),
  TextCase(text: "9223372036854775808ns", expected: #"time: invalid duration "9223372036854775808ns""#),
  TextCase(text: "3000000h", expected: #"time: invalid duration "3000000h""#),
  TextCase(text: "99999999999999999999s", expected: #"time: invalid duration "99999999999999999999s""#),
  TextCase(text: "9223372036854775808ns9223372036854775808ns", expected: #"time: invalid duration "9223372036854775808ns9223372036854775808ns""#),
  TextCase(text: "3", expected: #"time: missing unit in duration "3""#),
  TextCase(text: "s", expected: #"time: invalid duration "s""#),
  TextCase(text: ".", expected: #"time: invalid duration ".""#),
  TextCase(text: "-.", expected: #"time: invalid duration "-.""#),
  TextCase(text: "+.s", expected: #"time: invalid duration "+.s""#),
  TextCase(text: "\u{FFFD}", expected: #"time: invalid duration "\xef\xbf\xbd""#),
  TextCase(text: "9223372036854775810ns", expected: #"time: invalid duration "9223372036854775810ns""#),
  TextCase(text: "-9223372036854775809ns", expected: #"time: invalid duration "-9223372036854775809ns""#),
  TextCase(text: "9223372036854776us", expected: #"time: invalid duration "9223372036854776us""#),
  TextCase(text: "9223372036854775.808us", expected: #"time: invalid duration "9223372036854775.808us""#),
  TextCase(text: "9223372036854ms775us808ns", expected: #"time: invalid duration "9223372036854ms775us808ns""#),
  TextCase(text: "1é", expected: #"time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9""#),
])
func malformedGoDuration(_ c: TextCase) {
  #expect(throws: GoDurationError(c.expected)) { try GoDuration(parsing: c.text) }
}
