import KubeCore
import KubeEmulator
import YAML

/// What `edgeml validate` found for one object (or one input problem).
public struct ValidationFinding: Sendable, Equatable {
  public enum Verdict: String, Sendable {
    /// The API server would accept it.
    case valid
    /// The API server would refuse it (422 and the like): exit status 1.
    case invalid
    /// Not one of the CRDs' kinds: not checked.
    case skipped
    /// Not a manifest this tool can judge (not YAML, an unknown kind or version of the CRDs'
    /// group): exit status 2.
    case badInput = "bad-input"
  }

  /// One field the API server named (a `Status` cause), with the line it is on.
  public struct Cause: Sendable, Equatable {
    public var field: String
    public var message: String
    public var line: Int
  }

  public var verdict: Verdict
  public var file: String
  public var line: Int?
  /// The 1-based document index in the file.
  public var document: Int?
  public var kind: String
  public var name: String
  /// What the API server (or this tool) said: for `invalid`, kubectl's `The Kind "name" is invalid: …`.
  public var message: String
  public var causes: [Cause] = []
  /// What a client would print as `Warning:` (unknown fields are pruned, not refused).
  public var warnings: [String] = []
}

/// Validates manifests against CRDs as the API server would on `kubectl apply` (create, or update
/// for a later document naming the same object), offline, with the emulator's write path
/// (`OfflineAPIServer`).
public final class ManifestValidator: Sendable {
  let server: OfflineAPIServer
  /// The CRDs' groups: other groups' kinds are skipped, unknown kinds of these are bad input.
  let groups: Set<String>
  /// Kinds by group, from the CRDs, for messages about unknown kinds and versions.
  let kinds: [String: [String: [String]]]
  /// The namespace of objects that name none.
  let namespace: String
  /// `Strict`, `Warn` or `Ignore`: what unknown fields do (see `OfflineAPIServer.apply`).
  let fieldValidation: String

  /// - Parameters:
  ///   - crds: the CustomResourceDefinitions, as objects.
  ///   - namespace: the namespace of objects that name none (kubectl takes its context's).
  ///   - fieldValidation: `Strict` (kubectl's default: an unknown field refuses the object), `Warn`
  ///     (pruned with a warning) or `Ignore`.
  /// - Throws: `OfflineAPIServer.DefinitionError` for a CRD the API server would refuse, or the
  ///   emulator's failure to load its bundled upstream documents.
  public init(crds: [JSONValue], namespace: String = "default", fieldValidation: String = "Strict") throws {
    self.namespace = namespace
    self.fieldValidation = fieldValidation
    server = try OfflineAPIServer(documents: try UpstreamDocuments.load(), customResourceDefinitions: crds)
    var kinds: [String: [String: [String]]] = [:]
    for crd in crds {
      let group = crd[path: ["spec", "group"]]?.stringValue ?? ""
      let kind = crd[path: ["spec", "names", "kind"]]?.stringValue ?? ""
      let versions = (crd[path: ["spec", "versions"]]?.arrayValue ?? []).filter { $0["served"]?.boolValue != false }.compactMap { $0["name"]?.stringValue }
      kinds[group, default: [:]][kind] = versions
    }
    self.kinds = kinds
    groups = Set(kinds.keys)
  }

  /// Validates the objects in order (earlier ones are stored, so a later one may be an update).
  public func validate(_ documents: [ManifestDocument]) -> [ValidationFinding] {
    validateKeepingObjects(documents).findings
  }

  /// `validate`, and the accepted objects as the API server stored them (defaults filled in, the
  /// latest version of each), in the order they were first applied.
  public func validateKeepingObjects(_ documents: [ManifestDocument]) -> (findings: [ValidationFinding], stored: [JSONValue]) {
    var findings: [ValidationFinding] = []
    var stored: [JSONValue] = []
    var positions: [String: Int] = [:]
    for document in documents {
      let (finding, object) = validate(document)
      findings.append(finding)
      guard let object else { continue }
      let key = [object["kind"], object[path: ["metadata", "namespace"]], object[path: ["metadata", "name"]]]
        .map { $0?.stringValue ?? "" }.joined(separator: "/")
      if let i = positions[key] { stored[i] = object } else { positions[key] = stored.count; stored.append(object) }
    }
    return (findings, stored)
  }

  func validate(_ document: ManifestDocument) -> (ValidationFinding, JSONValue?) {
    let object = document.object
    let apiVersion = object["apiVersion"]?.stringValue ?? ""
    let kind = object["kind"]?.stringValue ?? ""
    let name = object[path: ["metadata", "name"]]?.stringValue ?? object[path: ["metadata", "generateName"]]?.stringValue ?? ""
    var finding = ValidationFinding(verdict: .valid, file: document.file, line: document.line, document: document.index + 1,
                                    kind: kind, name: name, message: "")
    let (group, version) = Self.split(apiVersion)
    guard groups.contains(group) else {
      finding.verdict = .skipped
      finding.message = "\(apiVersion) \(kind) is not a kind of \(groups.sorted().joined(separator: ", ")): not checked"
      return (finding, nil)
    }
    guard let versions = kinds[group]?[kind] else {
      finding.verdict = .badInput
      let known = (kinds[group] ?? [:]).keys.sorted().joined(separator: ", ")
      finding.message = "unknown kind \"\(kind)\" in group \(group): this edgeml knows \(known)"
      return (finding, nil)
    }
    guard versions.contains(version) else {
      finding.verdict = .badInput
      finding.message = "\(kind) has no version \"\(version)\" in the CRD this edgeml knows (served: \(versions.joined(separator: ", "))); "
        + "is this manifest for a newer or older release? --crd FILE checks against another CRD"
      return (finding, nil)
    }
    switch server.apply(object, namespace: namespace, fieldValidation: fieldValidation) {
    case .accepted(let stored, let warnings, _):
      finding.warnings = warnings
      finding.message = "valid"
      return (finding, stored)
    case .refused(let error, let warnings):
      finding.verdict = .invalid
      finding.warnings = warnings
      finding.message = Self.kubectlMessage(error)
      finding.causes = (error.details?["causes"]?.arrayValue ?? []).map { cause in
        let field = cause["field"]?.stringValue ?? ""
        return .init(field: field, message: cause["message"]?.stringValue ?? "", line: document.line(ofField: field))
      }
      // Strict decoding names its fields only in the message: `unknown field "spec.engine.turbo"`.
      if finding.causes.isEmpty {
        finding.causes = Self.fieldsNamed(in: error.message).map { .init(field: $0.field, message: $0.problem, line: document.line(ofField: $0.field)) }
      }
    case .notServed(let message):
      finding.verdict = .badInput
      finding.message = message
    }
    return (finding, nil)
  }

  /// The message kubectl prints for a refused object: for a 422 with causes, `The Kind "name" is
  /// invalid: ` and the causes (one inline, several as `* field: message` lines); else the `Status`
  /// message (kubectl staging/src/k8s.io/kubectl/pkg/cmd/util/helpers.go: `checkErr`'s
  /// `IsInvalid` case, `statusCausesToAggrError`, `MultilineError`).
  static func kubectlMessage(_ error: APIError) -> String {
    guard error.reason == "Invalid", let details = error.details else { return error.message }
    // The kind without its group, and each cause once (`statusCausesToAggrError` skips repeats).
    let head = "The \(details["kind"]?.stringValue ?? "") \"\(details["name"]?.stringValue ?? "")\" is invalid"
    var causes: [String] = []
    for cause in details["causes"]?.arrayValue ?? [] {
      let line = "\(cause["field"]?.stringValue ?? ""): \(cause["message"]?.stringValue ?? "")"
      if !causes.contains(line) { causes.append(line) }
    }
    switch causes.count {
    case 0: return error.message
    case 1: return "\(head): \(causes[0])"
    default: return "\(head): \n" + causes.map { "* \($0)" }.joined(separator: "\n")
    }
  }

  /// The fields a strict-decoding message names (`unknown field "a.b"`, `duplicate field "c"`).
  static func fieldsNamed(in message: String) -> [(field: String, problem: String)] {
    var found: [(String, String)] = []
    for problem in ["unknown field", "duplicate field"] {
      var rest = message[...]
      while let start = rest.range(of: problem + " \"") {
        rest = rest[start.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { break }
        found.append((String(rest[..<end]), problem))
        rest = rest[rest.index(after: end)...]
      }
    }
    return found
  }

  static func split(_ apiVersion: String) -> (group: String, version: String) {
    guard let slash = apiVersion.firstIndex(of: "/") else { return ("", apiVersion) }
    return (String(apiVersion[..<slash]), String(apiVersion[apiVersion.index(after: slash)...]))
  }

  /// The exit status for a run's findings and input problems: 2 when anything was bad input,
  /// else 1 when anything was invalid, else 0.
  public static func exitStatus(_ findings: [ValidationFinding], problems: [ManifestInputProblem]) -> Int32 {
    if !problems.isEmpty || findings.contains(where: { $0.verdict == .badInput }) { return 2 }
    return findings.contains { $0.verdict == .invalid } ? 1 : 0
  }
}

extension ManifestValidator {
  /// The CRDs compiled into this binary (crds/ of the tree it was built from), as objects.
  public static func embeddedCRDs() throws -> [JSONValue] {
    try EmbeddedCRDs.files.flatMap { try YAML.parseDocuments($0.yaml) }
  }
}
