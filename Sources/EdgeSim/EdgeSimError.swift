import KubeCore

/// What went wrong in the simulator.
public enum EdgeSimError: Error, Sendable, CustomStringConvertible {
  case invalidFleetSpec(String)
  /// A `--traffic` or `--variant-behaviour` spec that does not parse.
  case invalidTrafficSpec(String)
  /// A drift command (`edgeml sim drift`, the `edgeml-sim-drift` ConfigMap, `EdgeSim.shiftDrift`) that does not parse or holds bad numbers.
  case invalidDrift(String)
  /// The API server refused a write: HTTP status and the `Status` it returned.
  case api(method: String, path: String, code: Int, status: JSONValue)

  public var description: String {
    switch self {
    case .invalidFleetSpec(let m): return "invalid fleet spec: \(m)"
    case .invalidTrafficSpec(let m): return "invalid traffic spec: \(m)"
    case .invalidDrift(let m): return "invalid drift: \(m)"
    case .api(let method, let path, let code, let status):
      return "\(method) \(path): \(code) \(status["message"]?.stringValue ?? "")"
    }
  }

  /// The API's reason (`Conflict`, `NotFound`, …), if this is an API error.
  public var reason: String? {
    if case .api(_, _, _, let status) = self { return status["reason"]?.stringValue }
    return nil
  }
}
