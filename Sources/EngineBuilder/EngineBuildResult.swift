import EdgeMLVocabulary
import KubeCore

/// What one run achieved: the engine in place, or why not. Rendered as the termination message.
public struct EngineBuildResult: Sendable, Equatable {
  /// Facts about an engine that is in place.
  public struct Engine: Sendable, Equatable {
    public var cacheHit: Bool
    /// Where a cache hit came from: `node`, `shared` (the group's shared cache), or `none` (built).
    public var cacheSource: String = "none"
    /// Seconds the build took when it happened (also reported on a cache hit).
    public var buildSeconds: Double
    public var sizeBytes: Int
    /// `major.minor.patch` of the TensorRT that built the plan; empty for a prebuilt plan of unknown origin.
    public var tensorrt: String
    /// trtexec's mean `Latency`, when it was measured.
    public var latencyMs: Double?
    /// trtexec's `Throughput`, when it was measured.
    public var throughputQPS: Double?
  }

  public enum Outcome: Sendable, Equatable {
    case built(Engine)
    case failed(EngineBuildError)
  }

  public var key: String
  public var outcome: Outcome

  public init(key: String, outcome: Outcome) { self.key = key; self.outcome = outcome }

  /// 0 when the engine is in place, 1 on failure, 2 for bad arguments.
  public var exitCode: Int32 {
    switch outcome {
    case .built: return 0
    case .failed(let error): return error.exitCode
    }
  }

  /// The result document (the shared vocabulary's `EngineResult`, keys in the contract's order).
  public var document: EngineResult {
    var r = EngineResult()
    r.key = key
    switch outcome {
    case .built(let engine):
      r.state = "Built"
      r.cacheHit = engine.cacheHit
      r.cacheSource = engine.cacheSource
      r.buildSeconds = engine.buildSeconds.rounded(toPlaces: 3)
      r.sizeBytes = engine.sizeBytes
      r.tensorrt = engine.tensorrt
      r.latencyMs = engine.latencyMs
      r.throughputQPS = engine.throughputQPS
    case .failed(let error):
      r.state = "Failed"
      r.reason = error.reason.rawValue
      r.message = error.message
    }
    return r
  }

  /// The result object, keys in the contract's order.
  public var json: JSONValue { document.json }

  /// Kubernetes keeps at most 4096 bytes of a termination message.
  public static let terminationMessageLimit = 4096

  /// Writes `terminationMessage()` to `path` (the pod's termination log: not synced, it dies with
  /// the pod).
  public func writeTerminationMessage(to path: String) throws {
    try FileWrite.write(Array(terminationMessage().utf8), to: path, durable: false)
  }

  /// The JSON text, at most `terminationMessageLimit` bytes and still valid JSON: a long message is
  /// shortened (ending in `…`) rather than the document cut mid-way.
  public func terminationMessage() -> String {
    let text = json.serializedString()
    guard text.utf8.count > EngineBuildResult.terminationMessageLimit, case .failed(let error) = outcome else { return text }
    // The longest prefix of the message that fits, found by bisection over its characters (JSON
    // escaping makes bytes per character vary, so the size is measured, not estimated).
    let characters = Array(error.message)
    func rendered(_ count: Int) -> String {
      let message = count == characters.count ? error.message : String(characters[..<count]) + "…"
      return EngineBuildResult(key: key, outcome: .failed(EngineBuildError(error.reason, message))).json.serializedString()
    }
    var fits = 0, tooLong = characters.count
    while tooLong - fits > 1 {
      let mid = (fits + tooLong) / 2
      if rendered(mid).utf8.count <= EngineBuildResult.terminationMessageLimit { fits = mid } else { tooLong = mid }
    }
    return rendered(fits)
  }

}

extension Double {
  func rounded(toPlaces places: Int) -> Double {
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    return (self * scale).rounded() / scale
  }
}
