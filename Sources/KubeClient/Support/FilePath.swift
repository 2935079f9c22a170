/// File-path joins for kubeconfig and service-account paths, as `NSString`'s path methods made them
/// (`FoundationEssentials` has no `NSString`).
enum FilePath {
  /// `(directory as NSString).appendingPathComponent(component)`: one `/` between the two.
  static func join(_ directory: String, _ component: String) -> String {
    if directory.isEmpty { return component }
    return directory.hasSuffix("/") ? directory + component : directory + "/" + component
  }

  /// `(path as NSString).deletingLastPathComponent`: the directory part, `/` for a file in the
  /// root, empty for a bare file name.
  static func directory(of path: String) -> String {
    var p = Substring(path)
    while p.count > 1, p.hasSuffix("/") { p.removeLast() }
    guard let slash = p.lastIndex(of: "/") else { return "" }
    return slash == p.startIndex ? "/" : String(p[..<slash])
  }
}
