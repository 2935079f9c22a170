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
  /// Categorical values (strings).
  case categories([String])
  /// A 2-D JSON array of numbers.
  case table([[Double]])
  /// A JSON object of named features.
  case features([(name: String, data: StatsData)])

  func numbers(name: String) throws -> [Double] {
    guard case .numbers(let values) = self else { throw StatsInputError("the \(name) file must hold numbers") }
    return values
  }
}

/// Reads and classifies a file: JSON when it starts with `[` or `{`, else one value per line.
func readStatsFile(_ path: String) throws -> StatsFile {
  guard let data = FileManager.default.contents(atPath: path) else { throw StatsInputError("cannot read file '\(path)'") }
  return try StatsFile(bytes: [UInt8](data), path: path)
}

/// Reads a file that must be JSON (the cases of `edgeml stats batch`).
func readJSONFile(_ path: String) throws -> JSONValue {
  guard let data = FileManager.default.contents(atPath: path) else { throw StatsInputError("cannot read file '\(path)'") }
  do { return try JSONParser.parse([UInt8](data)) } catch { throw StatsInputError("'\(path)' is not valid JSON: \(error)") }
}

/// A parsed input file: its JSON form (for batch files) or its classified data.
struct StatsFile {
  var data: StatsData

  init(bytes: [UInt8], path: String) throws {
    let firstByte = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }
    if firstByte == UInt8(ascii: "[") || firstByte == UInt8(ascii: "{") {
      let value: JSONValue
      do { value = try JSONParser.parse(bytes) } catch { throw StatsInputError("'\(path)' is not valid JSON: \(error)") }
      data = try StatsData(json: value, path: path)
    } else {
      data = StatsData(lines: bytes)
    }
  }

  func numbers(name: String) throws -> [Double] { try data.numbers(name: name) }
}

extension StatsData {
  init(lines bytes: [UInt8]) {
    var numbers: [Double] = []
    var strings: [String] = []
    var allNumeric = true
    for rawLine in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
      let line = String(decoding: rawLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") { continue }
      strings.append(line)
      if allNumeric {
        if let value = Double(line) { numbers.append(value) } else { allNumeric = false }
      }
    }
    self = allNumeric ? .numbers(numbers) : .categories(strings)
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
        self = .categories(items.compactMap { if case .string(let s) = $0 { s } else { nil } })
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
