import KubeCore

/// The build facts stored next to a cached plan (`<cache-dir>/<key hex>.json`).
///
/// The record is written after the plan and is the cache entry's commit mark: a plan without a
/// record (a builder killed between the two renames) is not a cache hit and gets rebuilt.
public struct EngineRecord: Sendable, Equatable {
  public var key: String
  public var tensorrt: String
  public var precision: String
  public var buildSeconds: Double
  public var sizeBytes: Int
  public var latencyMs: Double?
  public var throughputQPS: Double?
  /// RFC 3339 time the plan was committed.
  public var builtAt: String
  /// `trtexec` for a plan built here, `prebuilt` for a `tensorrt-plan` model.
  public var source: String

  public var json: JSONValue {
    var o = JSONObject()
    o.appendUnchecked("key", .string(key))
    o.appendUnchecked("tensorrt", .string(tensorrt))
    o.appendUnchecked("precision", .string(precision))
    o.appendUnchecked("buildSeconds", .number(JSONNumber(buildSeconds.isFinite ? buildSeconds : 0)))
    o.appendUnchecked("sizeBytes", .number(JSONNumber(sizeBytes)))
    if let latencyMs, latencyMs.isFinite { o.appendUnchecked("latencyMs", .number(JSONNumber(latencyMs))) }
    if let throughputQPS, throughputQPS.isFinite { o.appendUnchecked("throughputQPS", .number(JSONNumber(throughputQPS))) }
    o.appendUnchecked("builtAt", .string(builtAt))
    o.appendUnchecked("source", .string(source))
    return .object(o)
  }

  public init(key: String, tensorrt: String, precision: String, buildSeconds: Double, sizeBytes: Int,
              latencyMs: Double?, throughputQPS: Double?, builtAt: String, source: String) {
    self.key = key
    self.tensorrt = tensorrt
    self.precision = precision
    self.buildSeconds = buildSeconds
    self.sizeBytes = sizeBytes
    self.latencyMs = latencyMs
    self.throughputQPS = throughputQPS
    self.builtAt = builtAt
    self.source = source
  }

  /// Reads a record; `nil` for anything malformed.
  public init?(json value: JSONValue) {
    guard case .object(let o) = value,
          case .string(let key)? = o["key"], case .string(let tensorrt)? = o["tensorrt"],
          case .string(let precision)? = o["precision"], case .number(let seconds)? = o["buildSeconds"],
          case .number(let size)? = o["sizeBytes"], let sizeBytes = size.int,
          case .string(let builtAt)? = o["builtAt"], case .string(let source)? = o["source"]
    else { return nil }
    func double(_ name: String) -> Double? { if case .number(let n)? = o[name] { return n.double } else { return nil } }
    self.init(key: key, tensorrt: tensorrt, precision: precision, buildSeconds: seconds.double ?? 0, sizeBytes: sizeBytes,
              latencyMs: double("latencyMs"), throughputQPS: double("throughputQPS"), builtAt: builtAt, source: source)
  }
}
