import KubeCore

/// One kind of request the fault injector refuses every time: a verb on a resource (and
/// subresource), answered with a 500 or 503 whatever the rates say.
///
/// What crash-consistency tests need: a controller whose status write never lands can be stopped
/// (or `kill -9`ed) after its other writes and before its status, deterministically — e.g.
/// `{"refuse": [{"verb": "PATCH", "resource": "driftpolicies", "subresource": "status"}]}` on
/// `PUT /edgeml.io/emulator/faults`. Refused requests count in `servedFaults`.
public struct RequestRefusal: Sendable, Equatable {
  /// The HTTP method, upper case (`PATCH`, `POST`, `PUT`, `DELETE`, `GET`).
  public var verb: String
  /// The resource's plural name as in the path (`driftpolicies`, `jobs`).
  public var resource: String
  /// The subresource (`status`); nil matches the object itself only.
  public var subresource: String?
  /// 500 or 503.
  public var code: Int

  public init(verb: String, resource: String, subresource: String? = nil, code: Int = 500) {
    self.verb = verb.uppercased()
    self.resource = resource
    self.subresource = subresource
    self.code = code
  }

  func matches(_ request: APIRequest) -> Bool {
    guard request.method == verb, case .resource(let target) = RequestPathParser.parse(request.path) else { return false }
    return target.resource == resource && target.subresource == subresource
  }

  var error: APIError {
    let what = "\(verb) \(resource)" + (subresource.map { "/\($0)" } ?? "")
    return code == 503 ? .serviceUnavailable("injected fault: \(what) refused") : .internalError("injected fault: \(what) refused")
  }

  init(json: JSONValue) throws(APIError) {
    guard let verb = json["verb"]?.stringValue, !verb.isEmpty, let resource = json["resource"]?.stringValue, !resource.isEmpty else {
      throw APIError.badRequest("each refusal needs a verb and a resource")
    }
    let code = json["code"]?.intValue ?? 500
    guard code == 500 || code == 503 else { throw APIError.badRequest("a refusal's code must be 500 or 503, not \(code)") }
    self.init(verb: verb, resource: resource, subresource: json["subresource"]?.stringValue, code: code)
  }

  var json: JSONValue {
    var o: JSONObject = ["verb": .string(verb), "resource": .string(resource)]
    if let subresource { o["subresource"] = .string(subresource) }
    o["code"] = JSONValue(code)
    return .object(o)
  }
}
