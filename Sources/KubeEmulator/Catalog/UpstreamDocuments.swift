import Foundation
import KubeCore

/// The upstream Kubernetes documents bundled with the emulator (see `Resources/README.md`).
public struct UpstreamDocuments: Sendable {
  /// The OpenAPI v2 document (`/openapi/v2`), every built-in group.
  public let swagger: JSONValue
  /// OpenAPI v3 documents by path (`api/v1`, `apis/apps/v1`, …) as raw bytes.
  public let openAPIV3: [String: [UInt8]]
  /// `GET /apis` of a real server: group order and preferred versions.
  public let apiGroupList: JSONValue

  public enum LoadError: Error, CustomStringConvertible {
    case missing(String)
    case malformed(String, JSONParseError)
    public var description: String {
      switch self {
      case .missing(let f): return "bundled upstream document \(f) is missing"
      case .malformed(let f, let e): return "bundled upstream document \(f) is not valid JSON: \(e)"
      }
    }
  }

  /// Loads the documents from the module's resource bundle.
  public static func load() throws -> UpstreamDocuments {
    guard let base = Optional(Bundle.module.bundleURL.appendingPathComponent("Resources/upstream")) else {
      throw LoadError.missing("Resources/upstream")
    }
    func read(_ name: String) throws -> [UInt8] {
      let url = base.appendingPathComponent(name)
      guard let data = FileManager.default.contents(atPath: url.path) else { throw LoadError.missing(name) }
      return [UInt8](data)
    }
    func parse(_ name: String) throws -> JSONValue {
      do { return try JSONValue(parsing: try read(name)) } catch let e as JSONParseError { throw LoadError.malformed(name, e) }
    }
    var v3: [String: [UInt8]] = [:]
    let v3dir = base.appendingPathComponent("openapi-v3")
    for file in (try? FileManager.default.contentsOfDirectory(atPath: v3dir.path)) ?? [] where file.hasSuffix("_openapi.json") {
      // api__v1_openapi.json → api/v1 ; apis__apps__v1_openapi.json → apis/apps/v1
      let stem = String(file.dropLast("_openapi.json".count))
      let path = stem.replacingOccurrences(of: "__", with: "/")
      v3[path] = try read("openapi-v3/\(file)")
    }
    return UpstreamDocuments(swagger: try parse("swagger.json"), openAPIV3: v3, apiGroupList: try parse("apis-APIGroupList.json"))
  }
}
