import KubeCore

/// Who made a request, as authentication established it.
public struct UserInfo: Sendable, Equatable {
  public var name: String
  public var groups: [String]
  /// Extra attributes (a pod-bound service-account token's `authentication.kubernetes.io/pod-name`, …).
  public var extra: [String: [String]]
  public init(name: String, groups: [String], extra: [String: [String]] = [:]) {
    self.name = name; self.groups = groups; self.extra = extra
  }
}

/// A request as the HTTP layer hands it to `APIServer`: transport details already stripped.
public struct APIRequest: Sendable {
  public var method: String
  public var path: String
  public var query: [(String, String)]
  /// Header names in lower case.
  public var headers: [(String, String)]
  public var body: [UInt8]
  /// A JSON body an in-process caller hands over already decoded (`body` is then empty): the same
  /// request as its serialization, without writing and reading the bytes again. Only for JSON
  /// content types (create, update, JSON patches, bindings, DeleteOptions); YAML, apply and
  /// protobuf bodies come as bytes. The 3 MiB body limit applies to bytes only.
  public var decodedBody: JSONValue?
  public var user: UserInfo?

  public init(method: String, uri: String, headers: [(String, String)] = [], body: [UInt8] = [], user: UserInfo? = nil) {
    self.method = method
    if let q = uri.firstIndex(of: "?") {
      path = String(uri[..<q])
      query = parseQuery(uri[uri.index(after: q)...])
    } else {
      path = uri
      query = []
    }
    self.headers = headers.map { ($0.0.lowercased(), $0.1) }
    self.body = body
    self.user = user
  }

  /// An in-process request whose JSON body is handed over decoded (see `decodedBody`).
  public init(method: String, uri: String, headers: [(String, String)] = [], json: JSONValue, user: UserInfo? = nil) {
    self.init(method: method, uri: uri, headers: headers, user: user)
    decodedBody = json
  }

  /// Whether the request has a body.
  var hasBody: Bool { decodedBody != nil || !body.isEmpty }

  /// The JSON body, decoded (or as handed over).
  func jsonBody() throws(JSONParseError) -> JSONValue {
    if let decodedBody { return decodedBody }
    return try JSONValue(parsing: body)
  }

  public func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
  public func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
  /// A boolean query parameter as Go's `strconv.ParseBool` reads it (`1`, `t`, `T`, `true`, `True`,
  /// `TRUE`; the Python client sends `True`), or present without a value.
  func queryBool(_ name: String) -> Bool {
    guard let v = queryValue(name) else { return false }
    return ["", "1", "t", "T", "true", "True", "TRUE"].contains(v)
  }
  public var contentType: String? {
    header("content-type").map { String($0.split(separator: ";").first ?? "").trimmingSpaces().lowercased() }
  }
}

/// What `APIServer` answers.
public struct APIResponse: Sendable {
  public enum Body: Sendable {
    case json(JSONValue)
    case bytes([UInt8])
    case watch(WatchStream)
    /// A body written over time (a followed container log), sent chunked.
    case stream(ResponseStream)
  }
  public var status: Int
  public var headers: [(String, String)]
  /// The body. For an answer made of stored objects (`encoded`) it is built on first read, for
  /// in-process callers; the HTTP layer writes the objects' shared encodings instead.
  public var body: Body {
    get {
      switch payload {
      case .body(let body): return body
      case .encoded(let e): return .json(e.value)
      }
    }
    set { payload = .body(newValue) }
  }
  var payload: Payload

  enum Payload: Sendable {
    case body(Body)
    case encoded(EncodedBody)
  }

  public init(status: Int, headers: [(String, String)] = [], body: Body) {
    self.status = status
    self.headers = headers
    self.payload = .body(body)
  }

  static func json(_ value: JSONValue, status: Int = 200, warnings: [String] = []) -> APIResponse {
    APIResponse(status: status, headers: jsonHeaders(warnings: warnings), body: .json(value))
  }

  /// A JSON answer made of stored objects, written from their shared encodings (see `EncodedBody`).
  static func encoded(_ body: EncodedBody, status: Int = 200, warnings: [String] = []) -> APIResponse {
    var response = APIResponse(status: status, headers: jsonHeaders(warnings: warnings), body: .json(.null))
    response.payload = .encoded(body)
    return response
  }

  private static func jsonHeaders(warnings: [String]) -> [(String, String)] {
    var headers = [("Content-Type", "application/json")]
    for w in warnings { headers.append(("Warning", "299 - \"\(w.replacingOccurrences(of: "\"", with: "\\\""))\"")) }
    return headers
  }

  static func error(_ error: APIError) -> APIResponse {
    APIResponse(status: error.code, headers: [("Content-Type", "application/json")] + error.headers, body: .json(error.status))
  }
}

/// A JSON answer made of stored objects: one object as served (GET, a write's answer), or a LIST.
///
/// The HTTP layer writes each object's shared encoding (`StoredObject.members`) with the served
/// form around it, so a LIST of unchanged objects copies bytes and builds no objects; `value` builds
/// the same document as a `JSONValue` for in-process callers, who read objects, not bytes.
struct EncodedBody: Sendable {
  enum Shape: Sendable {
    case object(StoredObject)
    /// The list's own members in order, `items` standing where the items go.
    case list(members: [(String, JSONValue)], items: [StoredObject])
  }
  var shape: Shape
  var form: ServedForm

  /// The document the bytes encode.
  var value: JSONValue {
    switch shape {
    case .object(let o): return form.present(o.value)
    case .list(let members, let items):
      var out = JSONObject()
      for (key, value) in members {
        if key == "items" {
          out.appendUnchecked(key, .array(items.map { form.itemsCarryType ? form.present($0.value) : form.item($0.value) }))
        } else {
          out.appendUnchecked(key, value)
        }
      }
      return .object(out)
    }
  }
}
