import DriftStatistics
import Foundation
import KubeCore

/// A user-facing input problem: printed as `error: <message>`, exit status 2.
struct StatsInputError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Standard error as a `TextOutputStream`, for `print(…, to:)`.
struct StandardError: TextOutputStream {
  mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}

/// The contents of a stats input file, classified by shape.
indirect enum StatsData {
  /// Numbers (one per line, or a JSON array; "nan", "inf", "-inf" and JSON strings "NaN",
  /// "Infinity", "-Infinity" are kept so that the library can reject or place them).
  case numbers([Double])
  /// Categorical values (strings); for a text file, where its first line that is not a number is
  /// ("FILE:LINE: 'text'"), for the error a test that needs numbers gives.
  case categories([String], firstNonNumber: String?)
  /// A 2-D JSON array of numbers.
  case table([[Double]])
  /// A JSON object of named features.
  case features([(name: String, data: StatsData)])

  func numbers(name: String) throws -> [Double] {
    guard case .numbers(let values) = self else {
      if case .categories(_, let firstNonNumber?) = self {
        throw StatsInputError("the \(name) file must hold numbers: \(firstNonNumber) is not a number")
      }
      throw StatsInputError("the \(name) file must hold numbers")
    }
    return values
  }
}

/// Reads and classifies a file: JSON when it starts with `[` or `{`, else one value per line.
///
/// The file is read in one go and parsed from its bytes (`StatsData(lines:path:)`): on 1M numbers
/// per file that is most of what `edgeml stats ks` costs, so no `String` is made per line.
func readStatsFile(_ path: String) throws -> StatsFile {
  guard let data = FileManager.default.contents(atPath: path) else { throw StatsInputError("cannot read file '\(path)'") }
  return try data.withUnsafeBytes { raw in try StatsFile(bytes: raw.bindMemory(to: UInt8.self), path: path) }
}

/// Reads a file that must be JSON (the cases of `edgeml stats batch`).
func readJSONFile(_ path: String) throws -> JSONValue {
  guard let data = FileManager.default.contents(atPath: path) else { throw StatsInputError("cannot read file '\(path)'") }
  do { return try JSONParser.parse([UInt8](data)) } catch { throw StatsInputError("'\(path)' is not valid JSON: \(error)") }
}

/// A parsed input file: its JSON form (for batch files) or its classified data.
struct StatsFile {
  var data: StatsData

  init(bytes: UnsafeBufferPointer<UInt8>, path: String) throws {
    let firstByte = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
    if firstByte == UInt8(ascii: "[") || firstByte == UInt8(ascii: "{") {
      let value: JSONValue
      do { value = try JSONParser.parse(Array(bytes)) } catch { throw StatsInputError("'\(path)' is not valid JSON: \(error)") }
      data = try StatsData(json: value, path: path)
    } else {
      data = try StatsData(lines: bytes, path: path)
    }
  }

  func numbers(name: String) throws -> [Double] { try data.numbers(name: name) }
}

extension StatsData {
  /// One value per line: numbers when every value line is one, else categories.
  ///
  /// Blank lines and lines starting with `#` are skipped; spaces, tabs and a CR around a value are
  /// not part of it. A NUL byte anywhere, or a categorical line that is not UTF-8, is malformed
  /// input and throws with the file and line named (C's `strtod`, like Swift's `Double(String)`
  /// before it, stops at a NUL: `5\0abc` would silently read as 5).
  init(lines bytes: UnsafeBufferPointer<UInt8>, path: String) throws {
    var numbers: [Double] = []
    numbers.reserveCapacity(bytes.count / 8)
    var parser = DecimalParser()
    var firstNonNumber: (line: Int, start: Int, end: Int)?
    try forEachValueLine(bytes, path: path) { line, start, end in
      if firstNonNumber != nil { return }
      if let value = parser.parse(UnsafeBufferPointer(rebasing: bytes[start..<end])) {
        numbers.append(value)
      } else {
        firstNonNumber = (line, start, end)
      }
    }
    guard let firstNonNumber else {
      self = .numbers(numbers)
      return
    }
    var strings: [String] = []
    try forEachValueLine(bytes, path: path) { line, start, end in
      guard let text = String(validating: bytes[start..<end], as: UTF8.self) else {
        throw StatsInputError("\(path):\(line): the line is not valid UTF-8 text")
      }
      strings.append(text)
    }
    let text = String(decoding: bytes[firstNonNumber.start..<firstNonNumber.end].prefix(40), as: UTF8.self)
    self = .categories(strings, firstNonNumber: "\(path):\(firstNonNumber.line): '\(text)'")
  }

  init(json: JSONValue, path: String) throws {
    switch json {
    case .object(let object):
      self = .features(try object.map { (name: $0.0, data: try StatsData(json: $0.1, path: "\(path)[\($0.0)]")) })
    case .array(let items):
      if !items.isEmpty, items.allSatisfy({ if case .array = $0 { true } else { false } }) {
        self = .table(try items.map { row in try StatsData(json: row, path: path).numbers(name: "table row") })
      } else if let numbers = numericArray(items) {
        self = .numbers(numbers)
      } else if items.allSatisfy({ if case .string = $0 { true } else { false } }) {
        self = .categories(items.compactMap { if case .string(let s) = $0 { s } else { nil } }, firstNonNumber: nil)
      } else {
        throw StatsInputError("'\(path)' must be an array of numbers, of strings, or of rows")
      }
    default:
      throw StatsInputError("'\(path)' must hold a JSON array or object")
    }
  }
}

/// The numbers of a JSON array, with "NaN"/"Infinity"/"-Infinity" strings as non-finite doubles;
/// nil when an element is anything else (or every element is a string, i.e. categories).
func numericArray(_ items: [JSONValue]) -> [Double]? {
  var result: [Double] = []
  result.reserveCapacity(items.count)
  var sawNumber = items.isEmpty
  for item in items {
    switch item {
    case .number(let n):
      guard let d = n.double else { return nil }
      result.append(d)
      sawNumber = true
    case .string("NaN"), .string("nan"): result.append(.nan)
    case .string("Infinity"), .string("inf"): result.append(.infinity)
    case .string("-Infinity"), .string("-inf"): result.append(-.infinity)
    default: return nil
    }
  }
  return sawNumber ? result : nil
}

/// Counts of the categories of two samples over the sorted union of their categories.
func categoryCounts(_ reference: [String], _ current: [String]) -> (categories: [String], reference: [Double], current: [Double]) {
  let categories = Set(reference).union(current).sorted()
  let index = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
  var r = [Double](repeating: 0, count: categories.count), c = r
  for v in reference { if let i = index[v] { r[i] += 1 } }
  for v in current { if let i = index[v] { c[i] += 1 } }
  return (categories, r, c)
}

/// Calls `body(line, start, end)` for each line of `bytes` that holds a value: the 1-based line
/// number and the byte range of the value, blanks around it trimmed; blank lines and `#` comments
/// are skipped. Throws, naming the line, for a NUL byte.
private func forEachValueLine(
  _ bytes: UnsafeBufferPointer<UInt8>, path: String, _ body: (Int, Int, Int) throws -> Void
) throws {
  guard let base = bytes.baseAddress else { return }
  let count = bytes.count
  var lineStart = 0, line = 0
  while lineStart < count {
    line += 1
    let lineEnd: Int
    if let newline = memchr(base + lineStart, 0x0A, count - lineStart) {
      lineEnd = base.distance(to: newline.assumingMemoryBound(to: UInt8.self))
    } else {
      lineEnd = count
    }
    defer { lineStart = lineEnd + 1 }
    if memchr(base + lineStart, 0, lineEnd - lineStart) != nil {
      throw StatsInputError("\(path):\(line): the line holds a NUL byte")
    }
    var start = lineStart, end = lineEnd
    while start < end, isBlank(base[start]) { start += 1 }
    while end > start, isBlank(base[end - 1]) { end -= 1 }
    if start == end || base[start] == UInt8(ascii: "#") { continue }
    try body(line, start, end)
  }
}

/// Space, tab, CR, vertical tab and form feed: what may surround a value on its line.
@inline(__always) private func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
