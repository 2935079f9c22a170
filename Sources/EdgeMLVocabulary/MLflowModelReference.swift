/// A registered model in MLflow's registry named by an `mlflow://` URI: `mlflow://NAME@ALIAS` or
/// `mlflow://NAME/VERSION` (docs/edgemodel-contracts.md §2, docs/mlflow.md).
///
/// One parser for the engine builder, which fetches the model, and the operator, which follows an
/// alias and pins the version it resolved: both must read a URI the same way.
public enum MLflowModelReference: Equatable, Sendable {
  /// `mlflow://NAME@ALIAS`: whatever version the alias names when it is asked.
  case alias(name: String, alias: String)
  /// `mlflow://NAME/VERSION`: one version, which never changes (a version is all ASCII digits).
  case version(name: String, version: String)

  public static let scheme = "mlflow://"

  /// Parses `uri`; nil when it is not an `mlflow://` URI of either form.
  public init?(uri: String) {
    guard uri.hasPrefix(Self.scheme) else { return nil }
    let rest = uri.dropFirst(Self.scheme.count)
    if let at = rest.lastIndex(of: "@") {
      let name = rest[..<at], alias = rest[rest.index(after: at)...]
      guard !name.isEmpty, !alias.isEmpty, !alias.contains("/") else { return nil }
      self = .alias(name: String(name), alias: String(alias))
    } else if let slash = rest.lastIndex(of: "/") {
      let name = rest[..<slash], version = rest[rest.index(after: slash)...]
      guard !name.isEmpty, !version.isEmpty, version.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
      self = .version(name: String(name), version: String(version))
    } else {
      return nil
    }
  }

  /// The registered model's name.
  public var name: String {
    switch self {
    case .alias(let name, _), .version(let name, _): return name
    }
  }

  /// The URI of one version of the same registered model: what a followed alias is pinned to.
  public static func pinned(name: String, version: String) -> String { "\(scheme)\(name)/\(version)" }

  public var uri: String {
    switch self {
    case .alias(let name, let alias): return "\(Self.scheme)\(name)@\(alias)"
    case .version(let name, let version): return Self.pinned(name: name, version: version)
    }
  }
}
