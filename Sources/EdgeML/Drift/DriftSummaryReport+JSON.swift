import DriftStatistics
import KubeCore

extension DriftSummaryReport {
  /// Reads a report from a parsed JSON document, the way the controller reads every agent's answer.
  ///
  /// The same format as the type's `Codable` form (docs/drift-agent.md, "Reading summaries"): members
  /// in any order, unknown members ignored, `sketch` and `counts` optional (null or absent). It is
  /// read here straight from the `JSONValue` rather than through Foundation's `JSONDecoder`, which
  /// needed the document serialized back to bytes and decoded a second time: on 1,000-feature
  /// reports that round trip was most of an evaluation's parse time (docs/benchmarks.md, "drift
  /// evaluation").
  ///
  /// - Throws: `DriftInputError` `SummaryInvalid` naming the member that is missing or of the wrong
  ///   JSON type. The sketches and counts themselves are checked later, by `Feature.summary`.
  public init(json: JSONValue) throws(DriftInputError) {
    guard let object = json.objectValue else { throw Self.invalid("the report is \(json.typeName), not an object") }
    guard let entries = object["features"]?.objectValue else { throw Self.invalid("\"features\" must be an object") }
    var features: [String: Feature] = [:]
    features.reserveCapacity(entries.count)
    for (name, entry) in entries {
      features[name] = try Feature(json: entry, name: name)
    }
    self.init(apiVersion: try Self.string(object["apiVersion"], "apiVersion"), source: try Self.string(object["source"], "source"),
              start: try Self.number(object["start"], "start"), end: try Self.number(object["end"], "end"), features: features)
  }

  fileprivate static func invalid(_ message: String) -> DriftInputError {
    DriftInputError("SummaryInvalid", "not a drift summary report: \(message)")
  }

  fileprivate static func string(_ value: JSONValue?, _ key: String) throws(DriftInputError) -> String {
    guard let s = value?.stringValue else { throw invalid("\"\(key)\" must be a string") }
    return s
  }

  fileprivate static func number(_ value: JSONValue?, _ key: String) throws(DriftInputError) -> Double {
    guard let d = value?.doubleValue, d.isFinite else { throw invalid("\"\(key)\" must be a number") }
    return d
  }
}

extension DriftSummaryReport.Feature {
  /// One entry of `features`: `{"type", "count", "sketch"?, "counts"?, "buckets"?, "bins"?}`.
  init(json: JSONValue, name: String) throws(DriftInputError) {
    typealias R = DriftSummaryReport
    guard let object = json.objectValue else { throw R.invalid("feature \(name) is \(json.typeName), not an object") }
    let typeName = try R.string(object["type"], "features.\(name).type")
    guard let kind = DefaultDriftTest.FeatureKind(rawValue: typeName) else {
      throw R.invalid("feature \(name): type \"\(typeName)\" is neither numerical nor categorical")
    }
    // An integral count; JSONDecoder also took `12.0`, so an integral literal with a fraction is kept.
    guard let count = object["count"]?.numberValue.flatMap({ $0.int ?? $0.double.flatMap { Int(exactly: $0) } }) else {
      throw R.invalid("feature \(name): \"count\" must be an integer")
    }
    var sketch: String?
    if let value = object["sketch"], !value.isNull {
      sketch = try R.string(value, "features.\(name).sketch")
    }
    var counts: [String: Double]?
    if let value = object["counts"], !value.isNull {
      guard let members = value.objectValue else { throw R.invalid("feature \(name): \"counts\" must be an object") }
      var out: [String: Double] = [:]
      out.reserveCapacity(members.count)
      for (category, number) in members {
        guard let d = number.doubleValue else { throw R.invalid("feature \(name): the count of \(category) must be a number") }
        out[category] = d
      }
      counts = out
    }
    // A histogram read from Prometheus (a baseline captured by a `source.prometheus` policy).
    let buckets = try Self.numbers(object["buckets"], "features.\(name).buckets")
    let bins = try Self.numbers(object["bins"], "features.\(name).bins")
    self.init(type: kind, count: count, sketch: sketch, counts: counts, buckets: buckets, bins: bins)
  }

  /// An optional array of numbers (null or absent: nil).
  fileprivate static func numbers(_ value: JSONValue?, _ key: String) throws(DriftInputError) -> [Double]? {
    guard let value, !value.isNull else { return nil }
    guard let items = value.arrayValue else { throw DriftSummaryReport.invalid("\"\(key)\" must be an array of numbers") }
    var out: [Double] = []
    out.reserveCapacity(items.count)
    for item in items {
      guard let d = item.doubleValue, d.isFinite else { throw DriftSummaryReport.invalid("\"\(key)\" must be an array of numbers") }
      out.append(d)
    }
    return out
  }
}
