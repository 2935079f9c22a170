import Foundation
import KubeCore
import YAML

/// One Kubernetes object read from a manifest, and where it was read.
public struct ManifestDocument: Sendable, Equatable {
  /// The path as given (`-` reads standard input, shown as `STDIN` as kubectl names it).
  public var file: String
  /// The 0-based index of the YAML document in its file.
  public var index: Int
  /// The 0-based index in `items` when the document is a `kind: List`.
  public var item: Int?
  /// The 1-based line the object starts on.
  public var line: Int
  /// Lines of the object's fields by field path (`spec.engine.precision`), see `YAMLDocument`.
  public var fieldLines: [String: Int]
  public var object: JSONValue

  /// The line of a field the API server named (`spec.features[0].test`): its own, else its nearest
  /// parent's that has one, else the object's.
  public func line(ofField field: String) -> Int {
    var path = field
    while !path.isEmpty {
      if let line = fieldLines[path] { return line }
      guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
      path = String(path[..<cut])
    }
    return line
  }
}

/// Input that is not a manifest at all: a path that cannot be read, text that is not YAML, a
/// document that is not an object. `edgeml validate` exits 2 for these.
public struct ManifestInputProblem: Sendable, Equatable, CustomStringConvertible {
  public var file: String
  public var line: Int?
  public var message: String
  public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}

/// Reads manifests from files, directories and standard input, as `kubectl apply -f` takes them.
public enum ManifestReader {
  /// File names a directory contributes (kubectl's `-f DIR`: .json, .yaml and .yml, not recursive).
  static let manifestExtensions: Set<String> = ["yaml", "yml", "json"]

  /// Every object of every path, in order, and the problems of the paths that are not manifests.
  /// - Parameter standardInput: what `-` reads (called at most once).
  public static func read(paths: [String], standardInput: () -> String?) -> (documents: [ManifestDocument], problems: [ManifestInputProblem]) {
    var documents: [ManifestDocument] = []
    var problems: [ManifestInputProblem] = []
    var stdinText: String?? = nil
    for path in paths {
      let texts: [(String, String?)]
      if path == "-" {
        if stdinText == nil { stdinText = .some(standardInput()) }
        texts = [("STDIN", stdinText ?? nil)]
      } else {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
          problems.append(ManifestInputProblem(file: path, message: "no such file or directory"))
          continue
        }
        if isDirectory.boolValue {
          let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { !$0.hasPrefix(".") && manifestExtensions.contains(($0 as NSString).pathExtension.lowercased()) }.sorted()
          if names.isEmpty { problems.append(ManifestInputProblem(file: path, message: "no .yaml, .yml or .json files in this directory")) }
          texts = names.map { name in
            let file = (path as NSString).appendingPathComponent(name)
            return (file, readText(file))
          }
        } else {
          texts = [(path, readText(path))]
        }
      }
      for (file, text) in texts {
        guard let text else {
          problems.append(ManifestInputProblem(file: file, message: "cannot be read as UTF-8 text"))
          continue
        }
        let (read, problem) = parse(text, file: file)
        documents += read
        if let problem { problems.append(problem) }
      }
    }
    // kubectl refuses an apply with nothing in it ("no objects passed to apply"); a CI step
    // checking an empty or mistyped glob should not pass in silence either.
    if documents.isEmpty && problems.isEmpty && !paths.isEmpty {
      problems.append(ManifestInputProblem(file: paths.map { $0 == "-" ? "STDIN" : $0 }.joined(separator: ", "),
                                           message: "no objects in the input"))
    }
    return (documents, problems)
  }

  private static func readText(_ path: String) -> String? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return String(data: data, encoding: .utf8)
  }

  /// The objects of one file's text; a `kind: List` gives its items. Empty documents are skipped
  /// (kubectl skips them too); a file with a YAML error contributes nothing, only the problem.
  public static func parse(_ text: String, file: String) -> ([ManifestDocument], ManifestInputProblem?) {
    let parsed: [YAMLDocument]
    do { parsed = try YAML.parseLocatedDocuments(text) } catch {
      return ([], ManifestInputProblem(file: file, line: error.line, message: "not YAML: \(error.message) (column \(error.column))"))
    }
    var documents: [ManifestDocument] = []
    for (index, document) in parsed.enumerated() {
      if case .null = document.value { continue }
      guard case .object = document.value else {
        return ([], ManifestInputProblem(file: file, line: document.line,
                                         message: "document \(index + 1) is not a Kubernetes object but \(article(document.value.typeName))"))
      }
      if let problem = missingTypeMeta(document.value) {
        return ([], ManifestInputProblem(file: file, line: document.line, message: "document \(index + 1): \(problem)"))
      }
      // kubectl's `kind: List` (any `*List` kind with items, as its resource builder flattens them).
      if let kind = document.value["kind"]?.stringValue, kind.hasSuffix("List"), let items = document.value["items"]?.arrayValue {
        for (i, item) in items.enumerated() {
          let prefix = "items[\(i)]"
          var lines: [String: Int] = [:]
          for (path, line) in document.fieldLines where path.hasPrefix(prefix + ".") {
            lines[String(path.dropFirst(prefix.count + 1))] = line
          }
          let itemLine = document.fieldLines[prefix] ?? document.line
          guard case .object = item else {
            return ([], ManifestInputProblem(file: file, line: itemLine, message: "document \(index + 1), item \(i + 1) is not a Kubernetes object"))
          }
          if let problem = missingTypeMeta(item) {
            return ([], ManifestInputProblem(file: file, line: itemLine, message: "document \(index + 1), item \(i + 1): \(problem)"))
          }
          documents.append(ManifestDocument(file: file, index: index, item: i, line: itemLine, fieldLines: lines, object: item))
        }
      } else {
        documents.append(ManifestDocument(file: file, index: index, item: nil, line: document.line, fieldLines: document.fieldLines,
                                          object: document.value))
      }
    }
    return (documents, nil)
  }

  /// kubectl's client-side check before anything is sent (`error validating data: [apiVersion not
  /// set, kind not set]`).
  private static func missingTypeMeta(_ object: JSONValue) -> String? {
    var missing: [String] = []
    if (object["apiVersion"]?.stringValue ?? "").isEmpty { missing.append("apiVersion not set") }
    if (object["kind"]?.stringValue ?? "").isEmpty { missing.append("kind not set") }
    return missing.isEmpty ? nil : missing.joined(separator: ", ")
  }

  private static func article(_ typeName: String) -> String {
    switch typeName {
    case "array": return "a list"
    case "string": return "a string (is this YAML at all?)"
    case "integer": return "an integer"
    default: return "a \(typeName)"
    }
  }
}
