import ArgumentParser
import Foundation
import KubeCore
import ManifestTools

/// `edgeml validate FILE|DIR|-...`: checks EdgeModels, Rollouts and DriftPolicies as the API server
/// would on `kubectl apply`, offline (docs/validate.md).
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check EdgeModel, Rollout and DriftPolicy manifests offline, as the API server would on kubectl apply.",
    discussion: """
      Every object of the edgeml.io kinds goes through the emulated API server's own write path against \
      the CRDs compiled into this binary (or --crd): unknown fields (refused, as by kubectl's default \
      --validate=strict; --field-validation Warn prunes them with a warning), defaults, \
      metadata and name rules, the structural schema and the CEL rules with their messages. A later \
      document naming the same object is checked as an update of the earlier one, as kubectl apply -f \
      would, so rules on changes (immutable fields) apply between them. Objects of other groups are \
      skipped with a note. Nothing runs after the write: no controllers, no admission webhooks.

      A directory contributes its .yaml, .yml and .json files (not recursively); - reads standard input.
      Exit status: 0 all valid, 1 some invalid, 2 input that cannot be checked (unreadable, not YAML, \
      an unknown kind or version of edgeml.io) or a usage error.
      """)

  @Argument(help: "Manifest files, directories, or - for standard input.") var paths: [String] = []
  @Option(help: "text | json | github (GitHub Actions annotations).") var format = "text"
  @Option(name: .customLong("crd"), help: "A CustomResourceDefinition file to check against instead of the compiled-in one of the same name (repeatable).")
  var crdFiles: [String] = []
  @Option(help: "The namespace of objects that name none (kubectl takes its context's).") var namespace = "default"
  @Option(help: "Strict (kubectl's default --validate=strict: an unknown field refuses the object), Warn (pruned, with a warning) or Ignore.")
  var fieldValidation = "Strict"

  func validate() throws {
    guard !paths.isEmpty else { throw ValidationError("Name at least one file, directory, or - for standard input.") }
    guard ValidationReportFormat(rawValue: format) != nil else {
      throw ValidationError("--format must be one of text, json, github (not \"\(format)\").")
    }
    guard ["Strict", "Warn", "Ignore"].contains(fieldValidation) else {
      throw ValidationError("--field-validation must be Strict, Warn or Ignore (not \"\(fieldValidation)\").")
    }
  }

  func run() throws {
    let crds: [JSONValue]
    let validator: ManifestValidator
    do {
      crds = try CRDOverrides.merge(embedded: ManifestValidator.embeddedCRDs(), files: crdFiles)
      validator = try ManifestValidator(crds: crds, namespace: namespace, fieldValidation: fieldValidation)
    } catch {
      var stderr = StandardError()
      print("error: \(error)", to: &stderr)
      throw ExitCode(2)
    }
    let (documents, problems) = ManifestReader.read(paths: paths) { String(data: FileHandle.standardInput.readDataToEndOfFile(), encoding: .utf8) }
    let report = ValidationReport(findings: validator.validate(documents), problems: problems)
    print(report.render(ValidationReportFormat(rawValue: format) ?? .text), terminator: "")
    if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
  }
}
