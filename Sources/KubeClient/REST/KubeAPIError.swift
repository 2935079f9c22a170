import KubeCore

/// An error answer of the API server, decoded from its `Status` body.
///
/// Callers switch on `reason` (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, …), never on the
/// message text (STYLE.md §4).
public struct KubeAPIError: Error, Sendable, CustomStringConvertible {
  public var code: Int
  public var reason: String
  public var message: String
  /// `details.causes`: field, reason and message of each problem (422, SSA conflicts).
  public var causes: [Cause]
  /// The whole Status object as returned (or synthesized for non-Status bodies).
  public var status: JSONValue

  public struct Cause: Sendable, Equatable {
    public var reason: String
    public var message: String
    public var field: String
  }

  init(code: Int, body: [UInt8]) {
    self.code = code
    if let json = try? JSONValue(parsing: body), json["kind"] == "Status" {
      status = json
      reason = json["reason"]?.stringValue ?? KubeAPIError.reason(forCode: code)
      message = json["message"]?.stringValue ?? ""
      causes = (json[path: ["details", "causes"]]?.arrayValue ?? []).map {
        Cause(reason: $0["reason"]?.stringValue ?? "", message: $0["message"]?.stringValue ?? "", field: $0["field"]?.stringValue ?? "")
      }
    } else {
      reason = KubeAPIError.reason(forCode: code)
      message = String(decoding: body.prefix(1024), as: UTF8.self)
      causes = []
      status = ["kind": "Status", "apiVersion": "v1", "status": "Failure", "code": JSONValue(code),
                "reason": .string(reason), "message": .string(message)]
    }
  }

  /// The reason kube-apiserver's clients assume for a code without a Status body
  /// (k8s.io/apimachinery/pkg/api/errors/errors.go `NewGenericServerResponse`).
  static func reason(forCode code: Int) -> String {
    switch code {
    case 400: return "BadRequest"
    case 401: return "Unauthorized"
    case 403: return "Forbidden"
    case 404: return "NotFound"
    case 405: return "MethodNotAllowed"
    case 409: return "Conflict"
    case 410: return "Expired"
    case 413: return "RequestEntityTooLarge"
    case 415: return "UnsupportedMediaType"
    case 422: return "Invalid"
    case 429: return "TooManyRequests"
    case 500: return "InternalError"
    case 503: return "ServiceUnavailable"
    case 504: return "Timeout"
    default: return "Unknown"
    }
  }

  public var isNotFound: Bool { reason == "NotFound" }
  public var isConflict: Bool { reason == "Conflict" }
  public var isAlreadyExists: Bool { reason == "AlreadyExists" }
  public var isGone: Bool { code == 410 }

  public var description: String { "\(code) \(reason): \(message)" }
}
