import KubeCore

/// A `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge from a registry.
///
/// The token flow is the distribution spec's "Token Authentication Specification"
/// (distribution/distribution `docs/spec/auth/token.md`): on a 401 the client GETs
/// `<realm>?service=<service>&scope=<scope>` and retries with `Authorization: Bearer <token>`,
/// the token being the answer's `token` (or its OAuth2 alias `access_token`).
struct BearerChallenge: Sendable, Equatable {
  var realm: String
  var service: String?
  var scope: String?

  /// Parses the header's value; nil when it is not a Bearer challenge with a realm.
  init?(header: String) {
    let trimmed = header.drop { $0 == " " }
    guard trimmed.lowercased().hasPrefix("bearer ") else { return nil }
    var parameters: [String: String] = [:]
    var rest = trimmed.dropFirst("bearer ".count)[...]
    while !rest.isEmpty {
      rest = rest.drop { $0 == " " || $0 == "," }
      guard let equals = rest.firstIndex(of: "=") else { break }
      let key = rest[..<equals].trimming { $0 == " " }.lowercased()
      rest = rest[rest.index(after: equals)...]
      var value = ""
      if rest.first == "\"" {
        rest = rest.dropFirst()
        var escaped = false
        while let c = rest.first {
          rest = rest.dropFirst()
          if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { value.append(c) }
        }
      } else {
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        value = rest[..<end].trimming { $0 == " " }
        rest = rest[end...]
      }
      parameters[key] = value
    }
    guard let realm = parameters["realm"], !realm.isEmpty else { return nil }
    self.realm = realm
    self.service = parameters["service"]
    self.scope = parameters["scope"]
  }
}
