import KubeCore

/// Why an engine is not in place: the contract's closed set of reasons
/// (docs/edgemodel-contracts.md §2). The engine writes one; the EdgeModel status reports it.
public enum EngineFailureReason: String, Sendable, CaseIterable {
  case invalidArguments = "InvalidArguments"
  case fetchFailed = "FetchFailed"
  case digestMismatch = "DigestMismatch"
  case signatureInvalid = "SignatureInvalid"
  case decryptionFailed = "DecryptionFailed"
  case buildFailed = "BuildFailed"
  case acceptanceFailed = "AcceptanceFailed"
}

/// The document the engine init container writes to its termination message, and the operator
/// reads from the pod's status (docs/edgemodel-contracts.md §2).
///
/// Rendered with its keys in the contract's order; read leniently (a field of the wrong type is
/// absent, an unknown field ignored), since a crash or an OOM kill leaves other text there.
public struct EngineResult: Sendable, Equatable {
  public var key: String?
  /// `Built` or `Failed`.
  public var state: String?
  public var cacheHit: Bool?
  /// `node`, `shared` or `none` (built here).
  public var cacheSource: String?
  public var buildSeconds: Double?
  public var sizeBytes: Int?
  public var tensorrt: String?
  /// trtexec's mean latency and throughput, when measured.
  public var latencyMs: Double?
  public var throughputQPS: Double?
  /// One of `EngineFailureReason`'s raw values when `state` is `Failed`.
  public var reason: String?
  public var message: String?

  public init() {}

  /// Parses a termination message; nil when it is not a JSON object (a crash, an OOM kill's
  /// empty message).
  public init?(terminationMessage: String) {
    guard let json = try? JSONValue(parsing: Array(terminationMessage.utf8)) else { return nil }
    self.init(json: json)
  }

  /// Reads the document; nil when it is not an object.
  public init?(json: JSONValue) {
    guard case .object = json else { return nil }
    key = json["key"]?.stringValue
    state = json["state"]?.stringValue
    cacheHit = json["cacheHit"]?.boolValue
    cacheSource = json["cacheSource"]?.stringValue
    buildSeconds = json["buildSeconds"]?.doubleValue
    sizeBytes = json["sizeBytes"]?.intValue
    tensorrt = json["tensorrt"]?.stringValue
    latencyMs = json["latencyMs"]?.doubleValue
    throughputQPS = json["throughputQPS"]?.doubleValue
    reason = json["reason"]?.stringValue
    message = json["message"]?.stringValue
  }

  /// The document, keys in the contract's order, absent fields left out.
  public var json: JSONValue {
    var object = JSONObject()
    func put(_ name: String, _ value: JSONValue?) { if let value { object.appendUnchecked(name, value) } }
    func number(_ value: Double?) -> JSONValue? { value.map { $0.isFinite ? .number(JSONNumber($0)) : .null } }
    put("key", key.map(JSONValue.string))
    put("state", state.map(JSONValue.string))
    put("cacheHit", cacheHit.map(JSONValue.bool))
    put("cacheSource", cacheSource.map(JSONValue.string))
    put("buildSeconds", number(buildSeconds))
    put("sizeBytes", sizeBytes.map { .number(JSONNumber($0)) })
    put("tensorrt", tensorrt.map(JSONValue.string))
    put("latencyMs", number(latencyMs))
    put("throughputQPS", number(throughputQPS))
    put("reason", reason.map(JSONValue.string))
    put("message", message.map(JSONValue.string))
    return .object(object)
  }

  /// The failure reason, when it is one of the contract's.
  public var failureReason: EngineFailureReason? { reason.flatMap(EngineFailureReason.init(rawValue:)) }
}
