/// Small, allocation-light helpers for URI text that must be safe to print.
enum URIText {
  /// The lower-cased scheme before `://`, or "" when there is none.
  static func scheme(of uri: String) -> String {
    guard let range = uri.range(of: "://") else { return "" }
    return uri[..<range.lowerBound].lowercased()
  }

  /// The URI without user info, query or fragment.
  ///
  /// A presigned S3 URL carries its signature and credential scope in the query, and a URI may
  /// carry a password in its user info: neither may reach a log line or the termination message.
  static func redacted(_ uri: String) -> String {
    var text = Substring(uri)
    var cut = false
    if let q = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = text[..<q]; cut = true }
    if let schemeEnd = text.range(of: "://") {
      let rest = text[schemeEnd.upperBound...]
      let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
      if let at = rest[..<authorityEnd].lastIndex(of: "@") {
        text = text[..<schemeEnd.upperBound] + rest[rest.index(after: at)...]
      }
    }
    return cut ? text + "?…" : String(text)
  }
}

/// The words of a fetch refused for its size.
enum SizeLimit {
  static func announced(_ size: Int, limit: Int) -> String {
    "the source announces \(size) bytes, over the size limit of \(limit) bytes (spec.model.sizeLimit)"
  }
  static func exceeded(_ limit: Int) -> String {
    "the source sent more than the size limit of \(limit) bytes (spec.model.sizeLimit); nothing was kept"
  }
}
