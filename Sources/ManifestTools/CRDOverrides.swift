import Foundation
import KubeCore
import YAML

/// The CRDs to check against: the compiled-in ones, each replaced by a `--crd` file's definition
/// of the same name (or added, for a CRD of another name).
public enum CRDOverrides {
  public struct FileError: Error, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "--crd \(file): \(message)" }
  }

  public static func merge(embedded: [JSONValue], files: [String]) throws(FileError) -> [JSONValue] {
    var crds = embedded
    for file in files {
      guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
        throw FileError(file: file, message: "cannot be read")
      }
      let documents: [JSONValue]
      do { documents = try YAML.parseDocuments(text) } catch { throw FileError(file: file, message: "not YAML: \(error)") }
      let definitions = documents.filter { $0["kind"]?.stringValue == "CustomResourceDefinition" }
      guard !definitions.isEmpty else { throw FileError(file: file, message: "holds no CustomResourceDefinition") }
      for crd in definitions {
        let name = crd[path: ["metadata", "name"]]
        crds.removeAll { $0[path: ["metadata", "name"]] == name }
        crds.append(crd)
      }
    }
    return crds
  }
}
