/// What a request path addresses, parsed as k8s.io/apiserver/pkg/endpoints/request/requestinfo.go does.
public enum RequestTarget: Equatable, Sendable {
  case version, healthz(String)
  case apiVersions                          // /api
  case apiGroupList                         // /apis
  case apiGroup(String)                     // /apis/G
  case apiResourceList(group: String, version: String)
  case openAPIV2
  case openAPIV3Index
  case openAPIV3(String)                    // api/v1, apis/apps/v1
  case resource(ResourcePath)
  case unknown
}

/// A resource request: `/apis/G/V/namespaces/NS/RESOURCE/NAME/SUBRESOURCE`.
public struct ResourcePath: Equatable, Sendable {
  public var group: String
  public var version: String
  public var namespace: String?
  public var resource: String
  public var name: String?
  public var subresource: String?
  /// True for the legacy `/watch/` path prefix.
  public var isWatchPath = false
}

enum RequestPathParser {
  /// Subresources of a namespace that look like a resource inside it (`namespaces/NS/status`).
  static let namespaceSubresources: Set<String> = ["status", "finalize"]

  static func parse(_ path: String) -> RequestTarget {
    var trimmed = Substring(path)
    while trimmed.hasSuffix("/") && trimmed.count > 1 { trimmed = trimmed.dropLast() }
    switch trimmed {
    case "/version": return .version
    case "/healthz", "/livez", "/readyz": return .healthz(String(trimmed))
    case "/api": return .apiVersions
    case "/apis": return .apiGroupList
    case "/openapi/v2", "/swagger.json": return .openAPIV2
    case "/openapi/v3": return .openAPIV3Index
    default: break
    }
    if trimmed.hasPrefix("/healthz/") || trimmed.hasPrefix("/livez/") || trimmed.hasPrefix("/readyz/") {
      return .healthz(String(trimmed))
    }
    if trimmed.hasPrefix("/openapi/v3/") { return .openAPIV3(String(trimmed.dropFirst("/openapi/v3/".count))) }
    var parts = trimmed.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding() }
    guard let root = parts.first else { return .unknown }
    let group: String
    let version: String
    if root == "api" {
      guard parts.count >= 2 else { return .apiVersions }
      group = ""
      version = parts[1]
      parts.removeFirst(2)
    } else if root == "apis" {
      guard parts.count >= 2 else { return .apiGroupList }
      group = parts[1]
      guard parts.count >= 3 else { return .apiGroup(group) }
      version = parts[2]
      parts.removeFirst(3)
    } else {
      return .unknown
    }
    if parts.isEmpty { return .apiResourceList(group: group, version: version) }
    var target = ResourcePath(group: group, version: version, namespace: nil, resource: "")
    if parts.first == "watch" {
      target.isWatchPath = true
      parts.removeFirst()
    }
    if parts.first == "namespaces", parts.count > 1 {
      // namespaces/NS/RESOURCE... is namespaced unless the third part is a namespace subresource.
      if parts.count > 2 && !namespaceSubresources.contains(parts[2]) {
        target.namespace = parts[1]
        parts.removeFirst(2)
      }
    }
    guard !parts.isEmpty, parts.count <= 3 else { return .unknown }
    target.resource = parts[0]
    if parts.count > 1 { target.name = parts[1] }
    if parts.count > 2 { target.subresource = parts[2] }
    return .resource(target)
  }
}

extension String {
  /// Decodes `%XX` escapes (names never need more than this).
  func removingPercentEncoding() -> String {
    guard contains("%") else { return self }
    var bytes: [UInt8] = []
    let u = Array(utf8)
    var k = 0
    while k < u.count {
      if u[k] == UInt8(ascii: "%"), k + 2 < u.count, let v = UInt8(String(decoding: u[(k + 1)...(k + 2)], as: UTF8.self), radix: 16) {
        bytes.append(v)
        k += 3
      } else {
        bytes.append(u[k])
        k += 1
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// Parses a URL query string into ordered (name, value) pairs, decoding `+` and `%XX`.
func parseQuery(_ query: Substring) -> [(String, String)] {
  query.split(separator: "&").compactMap { item in
    guard !item.isEmpty else { return nil }
    let pieces = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    let name = String(pieces[0]).replacingPlus().removingPercentEncoding()
    let value = pieces.count > 1 ? String(pieces[1]).replacingPlus().removingPercentEncoding() : ""
    return (name, value)
  }
}

extension String {
  fileprivate func replacingPlus() -> String {
    guard contains("+") else { return self }
    return String(map { $0 == "+" ? " " : $0 })
  }
}
