import KubeCore

/// An error the API server answers with a `Status` object, as kube-apiserver does.
///
/// Each factory reproduces the reason, code and message wording of
/// k8s.io/apimachinery/pkg/api/errors/errors.go, because clients switch on `reason` and people read
/// `message`: kubectl prints it verbatim after `Error from server (Reason):`.
public struct APIError: Error, Sendable, Equatable {
  public var code: Int
  public var reason: String
  public var message: String
  public var details: JSONValue?
  /// Extra response headers (for example `Retry-After` on 429).
  public var headers: [(String, String)] = []

  public init(code: Int, reason: String, message: String, details: JSONValue? = nil) {
    self.code = code
    self.reason = reason
    self.message = message
    self.details = details
  }

  public static func == (lhs: APIError, rhs: APIError) -> Bool {
    lhs.code == rhs.code && lhs.reason == rhs.reason && lhs.message == rhs.message && lhs.details == rhs.details
  }

  /// The `Status` body.
  public var status: JSONValue {
    var o = JSONObject()
    o["kind"] = "Status"
    o["apiVersion"] = "v1"
    o["metadata"] = .object(JSONObject())
    o["status"] = "Failure"
    o["message"] = .string(message)
    if !reason.isEmpty { o["reason"] = .string(reason) }
    if let details { o["details"] = details }
    o["code"] = JSONValue(code)
    return .object(o)
  }

  static func details(name: String?, group: String, kind: String, causes: [JSONValue]? = nil, retryAfter: Int? = nil) -> JSONValue {
    var d = JSONObject()
    if let name, !name.isEmpty { d["name"] = .string(name) }
    if !group.isEmpty { d["group"] = .string(group) }
    if !kind.isEmpty { d["kind"] = .string(kind) }
    if let causes { d["causes"] = .array(causes) }
    if let retryAfter { d["retryAfterSeconds"] = JSONValue(retryAfter) }
    return .object(d)
  }

  public static func notFound(_ resource: GroupResource, name: String) -> APIError {
    APIError(code: 404, reason: "NotFound", message: "\(resource) \"\(name)\" not found",
             details: details(name: name, group: resource.group, kind: resource.resource))
  }

  public static func alreadyExists(_ resource: GroupResource, name: String) -> APIError {
    APIError(code: 409, reason: "AlreadyExists", message: "\(resource) \"\(name)\" already exists",
             details: details(name: name, group: resource.group, kind: resource.resource))
  }

  public static func conflict(_ resource: GroupResource, name: String, detail: String = "the object has been modified; please apply your changes to the latest version and try again") -> APIError {
    APIError(code: 409, reason: "Conflict", message: "Operation cannot be fulfilled on \(resource) \"\(name)\": \(detail)",
             details: details(name: name, group: resource.group, kind: resource.resource))
  }

  /// 422 with `details.causes`, worded as `field.ErrorList.ToAggregate()` prints.
  public static func invalid(kind: String, group: String, name: String, errors: [FieldError]) -> APIError {
    let qualifiedKind = group.isEmpty ? kind : "\(kind).\(group)"
    let list = errors.map(\.description)
    let joined = list.count == 1 ? list[0] : "[" + list.joined(separator: ", ") + "]"
    let causes: [JSONValue] = errors.map { $0.cause }
    return APIError(code: 422, reason: "Invalid", message: "\(qualifiedKind) \"\(name)\" is invalid: \(joined)",
                    details: details(name: name, group: group, kind: kind, causes: causes))
  }

  public static func badRequest(_ message: String) -> APIError {
    APIError(code: 400, reason: "BadRequest", message: message)
  }

  public static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

  public static func forbidden(user: String, verb: String, resource: GroupResource, namespace: String?, name: String? = nil, subresource: String = "") -> APIError {
    let res = subresource.isEmpty ? resource.resource : "\(resource.resource)/\(subresource)"
    var message = "\(resource.resource)"
    if let name, !name.isEmpty { message = "\(resource) \"\(name)\"" } else { message = "\(resource)" }
    message += " is forbidden: User \"\(user)\" cannot \(verb) resource \"\(res)\" in API group \"\(resource.group)\""
    if let namespace, !namespace.isEmpty { message += " in the namespace \"\(namespace)\"" } else { message += " at the cluster scope" }
    return APIError(code: 403, reason: "Forbidden", message: message,
                    details: details(name: name, group: resource.group, kind: resource.resource))
  }

  public static func forbidden(message: String, resource: GroupResource, name: String?) -> APIError {
    APIError(code: 403, reason: "Forbidden", message: message, details: details(name: name, group: resource.group, kind: resource.resource))
  }

  public static let methodNotAllowed = APIError(code: 405, reason: "MethodNotAllowed", message: "the server does not allow this method on the requested resource")

  public static func notAcceptable(_ message: String) -> APIError {
    APIError(code: 406, reason: "NotAcceptable", message: message)
  }

  public static func unsupportedMediaType(_ contentType: String, accepted: [String]) -> APIError {
    APIError(code: 415, reason: "UnsupportedMediaType",
             message: "the body of the request was in an unknown format - accepted media types include: " + accepted.joined(separator: ", "))
  }

  /// 413, for bodies over the 3 MiB limit (k8s.io/apiserver/pkg/server/config.go `MaxRequestBodyBytes`).
  public static func requestEntityTooLarge(limit: Int) -> APIError {
    APIError(code: 413, reason: "RequestEntityTooLarge", message: "Request entity too large: limit is \(limit)")
  }

  /// 410 Expired, for a watch or list from a resourceVersion older than the history window.
  public static func gone(_ message: String) -> APIError {
    APIError(code: 410, reason: "Expired", message: message)
  }

  public static func tooManyRequests(retryAfter: Int) -> APIError {
    var e = APIError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.",
                     details: details(name: nil, group: "", kind: "", retryAfter: retryAfter))
    e.headers = [("Retry-After", String(retryAfter))]
    return e
  }

  public static func internalError(_ message: String) -> APIError {
    APIError(code: 500, reason: "InternalError", message: "Internal error occurred: \(message)",
             details: .object(["causes": .array([.object(["message": .string(message)])])]))
  }

  public static func serviceUnavailable(_ message: String = "the server is currently unable to handle the request") -> APIError {
    APIError(code: 503, reason: "ServiceUnavailable", message: message)
  }

  public static func notFoundPath() -> APIError {
    APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource", details: .object(JSONObject()))
  }
}

/// A group and resource, printed as kube-apiserver prints it in messages: `deployments.apps`, `pods`.
public struct GroupResource: Sendable, Hashable, CustomStringConvertible {
  public var group: String
  public var resource: String
  public init(group: String, resource: String) { self.group = group; self.resource = resource }
  public var description: String { group.isEmpty ? resource : "\(resource).\(group)" }
}

/// One validation error, as k8s.io/apimachinery/pkg/util/validation/field/errors.go defines it.
public struct FieldError: Sendable, Equatable, CustomStringConvertible {
  public enum Kind: String, Sendable {
    case required = "FieldValueRequired"
    case invalid = "FieldValueInvalid"
    case notSupported = "FieldValueNotSupported"
    case duplicate = "FieldValueDuplicate"
    case forbidden = "FieldValueForbidden"
    case tooLong = "FieldValueTooLong"
    case tooMany = "FieldValueTooMany"
    case typeInvalid = "FieldValueTypeInvalid"
    case notFound = "FieldValueNotFound"
  }
  public var kind: Kind
  public var field: String
  /// The offending value as printed (already quoted for strings), or nil where upstream omits it.
  public var value: String?
  public var detail: String

  public init(_ kind: Kind, field: String, value: String? = nil, detail: String = "") {
    self.kind = kind
    self.field = field
    self.value = value
    self.detail = detail
  }

  /// Formats a JSON value as field.Invalid prints it: strings quoted, numbers bare, objects as `"object"`.
  public static func printed(_ value: JSONValue) -> String {
    switch value {
    case .string(let s): return "\"\(s)\""
    case .number(let n): return n.literal
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    case .object: return "\"object\""
    case .array: return "\"array\""
    }
  }

  var typeText: String {
    switch kind {
    case .required: return "Required value"
    case .invalid: return "Invalid value"
    case .notSupported: return "Unsupported value"
    case .duplicate: return "Duplicate value"
    case .forbidden: return "Forbidden"
    case .tooLong: return "Too long"
    case .tooMany: return "Too many"
    case .typeInvalid: return "Invalid value"
    case .notFound: return "Not found"
    }
  }

  /// The message without the field, as it appears in `details.causes[].message`.
  public var errorBody: String {
    var s = typeText
    switch kind {
    case .required, .forbidden, .tooLong, .tooMany:
      break
    default:
      if let value { s += ": " + value }
    }
    if !detail.isEmpty { s += ": " + detail }
    return s
  }

  public var description: String { field.isEmpty ? errorBody : "\(field): \(errorBody)" }

  var cause: JSONValue {
    .object(["reason": .string(kind.rawValue), "message": .string(errorBody), "field": .string(field)])
  }
}
